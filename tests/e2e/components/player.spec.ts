/**
 * The viewer's "hold steady" switch on a tumbling trajectory, in the component harness (Chromium,
 * SwiftShader WebGL): synthetic ala2 frames carry a deformation of 0.6 Å and a rotation of 0.05 rad
 * per frame about z. Held steady, frame 40 (2 rad turned) is superposed back onto the reference;
 * released, it is shown as given — the same shape (a rigid motion apart), far from the reference.
 */
import { expect, test } from '@playwright/test'
import { startTestServer, type TestServer } from '../support/server'
import { ala2Pdb, buildAll, openHarness, watchProblems, type PageProblems } from './support'

let server: TestServer
test.beforeAll(async () => {
  test.setTimeout(240_000)
  buildAll()
  server = await startTestServer()
})
test.afterAll(async () => {
  await server?.stop()
})

let problems: PageProblems
test.beforeEach(async ({ page }) => {
  problems = await watchProblems(page)
})
test.afterEach(() => {
  expect(problems.errors, 'page errors, console errors or CSP violations').toEqual([])
})

test('hold steady superposes a tumbling frame onto the reference; off shows it as given', async ({ page }) => {
  await openHarness(page, server.origin)
  await page.evaluate((pdb) => window.__harness!.showViewer({ pdb }), ala2Pdb())
  await page.evaluate(() => window.__harness!.syntheticFrames(60, 1))
  await page.getByTestId('viewer-slider').fill('40')
  await expect(page.getByTestId('viewer')).toHaveAttribute('data-frame', '40')
  const measure = (): Promise<{ toRef: number; shape: number[] }> =>
    page.evaluate(() => {
      const v = window.__harness!.viewer().viewer()!
      const ref = v.referenceCoordinates
      const x = v.displayedCoordinates()
      let s = 0
      for (let i = 0; i < x.length; i++) s += (x[i]! - ref[i]!) ** 2
      const n = x.length / 3
      const shape: number[] = []
      for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) shape.push(Math.hypot(x[3 * i]! - x[3 * j]!, x[3 * i + 1]! - x[3 * j + 1]!, x[3 * i + 2]! - x[3 * j + 2]!))
      return { toRef: Math.sqrt(s / n), shape }
    })
  await expect(page.getByTestId('viewer-hold')).toBeChecked()
  const held = await measure()
  await page.getByTestId('viewer-hold').uncheck()
  await expect(page.getByTestId('viewer')).toHaveAttribute('data-hold', 'false')
  const loose = await measure()
  // deformation amplitude 0.6 Å per coordinate: superposed RMSD stays near √3·0.6/√2 ≈ 0.73 Å
  expect(held.toRef).toBeLessThan(1.2)
  // turned by 2 rad about z, ala2 (radius of gyration ≈ 2.4 Å) lies several Å from the reference
  expect(loose.toRef).toBeGreaterThan(2.5)
  let worst = 0
  held.shape.forEach((d, k) => (worst = Math.max(worst, Math.abs(d - loose.shape[k]!))))
  expect(worst, 'the same shape: superposition is a rigid motion').toBeLessThan(1e-3)
  await page.getByTestId('viewer-hold').check()
  await expect.poll(async () => (await measure()).toRef).toBeLessThan(1.2)
})
