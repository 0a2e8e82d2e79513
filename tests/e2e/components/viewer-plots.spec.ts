/**
 * The NGL trajectory viewer and the ECharts plots, mounted in the component harness under the
 * app's CSP, in Chromium with SwiftShader WebGL.
 */
import { expect, test, type Locator, type Page } from '@playwright/test'
import { startTestServer, type TestServer } from '../support/server'
import { ala2Pdb, buildAll, openHarness, watchProblems, type PageProblems } from './support'
import { contentStats, decodePng, pixelDiff, type Image } from './png'

let server: TestServer

test.beforeAll(async () => {
  test.setTimeout(240_000)
  buildAll()
  server = await startTestServer()
})
test.afterAll(async () => {
  await server?.stop()
})

async function shot(loc: Locator): Promise<Image> {
  return decodePng(await loc.screenshot())
}

async function frameShown(page: Page, i: number): Promise<void> {
  await expect(page.getByTestId('viewer')).toHaveAttribute('data-frame', String(i))
  // NGL draws on the next animation frame: wait for two
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))))
}

let problems: PageProblems
test.beforeEach(async ({ page }) => {
  problems = await watchProblems(page)
})
test.afterEach(() => {
  expect(problems.errors, 'page errors, console errors or CSP violations').toEqual([])
})

test('viewer: ala2 loads, plays, seeks, switches replica and representation; the canvas shows the frames', async ({ page }) => {
  await openHarness(page, server.origin)
  expect(await page.evaluate(() => window.crossOriginIsolated)).toBe(true)
  const info = await page.evaluate((pdb) => window.__harness!.showViewer({ pdb }), ala2Pdb())
  expect(info).toEqual({ atomCount: 22, isProtein: false })
  // cartoon is not offered for a dipeptide
  await expect(page.getByTestId('viewer-representation').locator('option')).toHaveText(['licorice', 'ball+stick', 'spacefill'])
  await page.evaluate(() => window.__harness!.syntheticFrames(60, 2))
  await frameShown(page, 0)
  await expect(page.getByTestId('viewer-frame-label')).toHaveText('frame 0 / 59')

  const canvas = page.getByTestId('viewer-stage').locator('canvas')
  const f0 = await shot(canvas)
  const stats = contentStats(f0)
  expect(stats.nonBackground, 'molecule covers part of the canvas').toBeGreaterThan(0.01)
  expect(stats.colours, 'shaded, element-coloured atoms').toBeGreaterThan(50)

  // superposition: the frames carry a growing rotation, the displayed coordinates do not
  const rmsd = await page.evaluate(() => {
    const v = window.__harness!.viewer().viewer()!
    const ref = v.referenceCoordinates
    v.setFrame(40)
    const x = v.displayedCoordinates()
    let s = 0
    for (let i = 0; i < x.length; i++) s += (x[i]! - ref[i]!) ** 2
    return Math.sqrt(s / (x.length / 3))
  })
  expect(rmsd, 'frame 40 superposed on the reference (deformation amplitude 0.6 Å, rotation 2 rad removed)').toBeLessThan(1.2)
  await page.getByTestId('viewer-slider').fill('0')
  await frameShown(page, 0)

  // play: frames advance, frame-changed events arrive in order, pause stops
  await page.getByTestId('viewer-play').click()
  await expect.poll(async () => Number(await page.getByTestId('viewer').getAttribute('data-frame')), { timeout: 20_000 }).toBeGreaterThan(5)
  await page.getByTestId('viewer-play').click()
  await expect(page.getByTestId('viewer')).toHaveAttribute('data-playing', 'false')
  const events = await page.evaluate(() => window.__harness!.frameEvents())
  expect(events.length).toBeGreaterThan(3)
  for (let k = 1; k < events.length; k++) expect(events[k]!).toBeGreaterThan(events[k - 1]!)

  // seek with the slider: the label and the picture follow
  await page.getByTestId('viewer-slider').fill('30')
  await frameShown(page, 30)
  await expect(page.getByTestId('viewer-frame-label')).toHaveText('frame 30 / 59')
  const f30 = await shot(canvas)
  const moved = pixelDiff(f0, f30)
  expect(moved, 'frame 30 looks different from frame 0').toBeGreaterThan(0.005)

  // the same frame again gives (nearly) the same picture: the difference above is the frame, not
  // noise (NGL's depth range follows cached bounding boxes, which shifts shading by a few levels)
  await page.getByTestId('viewer-slider').fill('0')
  await frameShown(page, 0)
  expect(pixelDiff(f0, await shot(canvas))).toBeLessThan(0.3 * moved)

  // replica 1 at frame 0 differs from replica 0
  await page.getByTestId('viewer-replica').selectOption('1')
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))))
  expect(pixelDiff(f0, await shot(canvas))).toBeGreaterThan(0.002)

  // representation: spacefill covers more of the canvas than licorice
  await page.getByTestId('viewer-representation').selectOption('spacefill')
  await page.evaluate(() => new Promise((r) => setTimeout(r, 300)))
  const sf = contentStats(await shot(canvas))
  expect(sf.nonBackground).toBeGreaterThan(stats.nonBackground * 1.3)

  // streaming: playback holds at the newest frame and goes on when more arrive
  await page.evaluate(() => window.__harness!.setFrameCount(10, true))
  await page.getByTestId('viewer-slider').fill('0')
  await page.getByTestId('viewer-play').click()
  await frameShown(page, 9)
  await expect(page.getByTestId('viewer')).toHaveAttribute('data-playing', 'true')
  await page.evaluate(() => window.__harness!.setFrameCount(20, true))
  await frameShown(page, 19)
  await page.getByTestId('viewer-play').click()
  await expect(page.getByTestId('viewer')).toHaveAttribute('data-playing', 'false')
  // paused at the newest frame: the view follows new frames; moved back, it stays
  await page.evaluate(() => window.__harness!.setFrameCount(25, true))
  await frameShown(page, 24)
  await page.getByTestId('viewer-slider').fill('3')
  await page.evaluate(() => window.__harness!.setFrameCount(30, true))
  await expect(page.getByTestId('viewer-frame-label')).toHaveText('frame 3 / 29')
})

function twoBasins(): number[][] {
  const p: number[][] = []
  const g = (x: number, m: number, s: number) => Math.exp(-0.5 * ((x - m) / s) ** 2)
  for (let i = 0; i < 60; i++) {
    const phi = -180 + 6 * (i + 0.5)
    const row: number[] = []
    for (let j = 0; j < 60; j++) {
      const psi = -180 + 6 * (j + 0.5)
      row.push(0.5 * g(phi, -150, 20) * g(psi, 160, 20) + 0.5 * g(phi, -80, 15) * g(psi, 70, 20))
    }
    p.push(row)
  }
  return p
}

test('plots: ACF with bands, τ_int and a dashed reference; Ramachandran; loss; PNG/SVG/CSV export', async ({ page }) => {
  await openHarness(page, server.origin)
  const lag = Array.from({ length: 200 }, (_, k) => 5 * k)
  await page.evaluate(
    (lag) =>
      window.__harness!.showAcf({
        title: 'φ unit-vector ACF',
        series: [
          { label: 'DiffMD', lagPs: lag, mean: lag.map((t) => Math.exp(-t / 300)), stderr: lag.map((t) => 0.05 + 0.0002 * t), tauIntPs: 301.2 },
          { label: 'GROMACS BD', lagPs: lag, mean: lag.map((t) => Math.exp(-t / 390)), tauIntPs: 390, reference: true },
        ],
      }),
    lag
  )
  const acf = page.getByTestId('acf-plot')
  await expect(acf).not.toHaveAttribute('data-renders', '0')
  const acfImg = await shot(acf.locator('canvas').first())
  const s1 = contentStats(acfImg)
  expect(s1.nonBackground).toBeGreaterThan(0.02)
  expect(s1.colours).toBeGreaterThan(20)
  const summary = await page.evaluate(() => window.__harness!.plotSummary('acf-plot'))
  expect(summary.legend).toEqual(['DiffMD (τ_int = 301 ps)', 'GROMACS BD (τ_int = 390 ps)'])
  // each curve's line comes before its error band, so a legend entry takes the line's style (issue 10, defect 4)
  expect(summary.series.map((s) => s.type)).toEqual(['line', 'custom', 'line'])
  expect(summary.series.filter((s) => s.dashed).map((s) => s.name)).toEqual(['GROMACS BD (τ_int = 390 ps)'])

  // exports: real downloads through a Blob URL
  const [png] = await Promise.all([page.waitForEvent('download'), acf.getByTestId('acf-plot-png').click()])
  expect(png.suggestedFilename()).toMatch(/\.png$/)
  const pngImg = decodePng(await readDownload(png))
  expect(pngImg.width).toBeGreaterThan(900) // 2× pixels
  expect(contentStats(pngImg).nonBackground).toBeGreaterThan(0.02)
  const [svg] = await Promise.all([page.waitForEvent('download'), acf.getByTestId('acf-plot-svg').click()])
  const svgText = (await readDownload(svg)).toString('utf8')
  expect(svgText).toMatch(/^<svg/)
  expect(svgText).toContain('τ_int = 301 ps')
  expect(svgText).toContain('stroke-dasharray')
  const [csv] = await Promise.all([page.waitForEvent('download'), acf.getByTestId('acf-plot-csv').click()])
  const lines = (await readDownload(csv)).toString('utf8').trim().split('\n')
  expect(lines[0]).toBe('series,reference,lag_ps,acf,stderr,tau_int_ps')
  expect(lines).toHaveLength(1 + 2 * lag.length)
  expect(lines[2]).toBe(`DiffMD,0,5,${Math.exp(-5 / 300)},${0.05 + 0.0002 * 5},301.2`)

  // Ramachandran: free energy heat map with JSD in the title
  await page.evaluate((p) => window.__harness!.showRama({ title: 'Ramachandran (ala2)', probability: p, jsd: 0.0123 }), twoBasins())
  const rama = page.getByTestId('rama-plot')
  await expect(rama).not.toHaveAttribute('data-renders', '0')
  const ramaImg = await shot(rama.locator('canvas').first())
  const s2 = contentStats(ramaImg)
  expect(s2.nonBackground).toBeGreaterThan(0.1)
  expect(s2.colours).toBeGreaterThan(30)
  expect((await page.evaluate(() => window.__harness!.plotSummary('rama-plot'))).title).toBe('Ramachandran (ala2)  ·  JSD = 0.0123')
  await rama.getByTestId('rama-scale').selectOption('probability')
  await expect.poll(async () => pixelDiff(ramaImg, await shot(rama.locator('canvas').first()))).toBeGreaterThan(0.01)
  const [rcsv] = await Promise.all([page.waitForEvent('download'), rama.getByTestId('rama-plot-csv').click()])
  const rlines = (await readDownload(rcsv)).toString('utf8').trim().split('\n')
  expect(rlines).toHaveLength(3601)
  expect(rlines[0]).toBe('phi_deg,psi_deg,probability,free_energy_kT')
  const total = rlines.slice(1).reduce((a, l) => a + Number(l.split(',')[2]), 0)
  expect(total).toBeCloseTo(1, 6)

  // loss
  await page.evaluate(() => window.__harness!.showLoss(Array.from({ length: 100 }, (_, k) => ({ step: 10 * k, loss: 2 * Math.exp(-k / 20) + 0.1, valLoss: k % 10 === 0 ? 2.1 * Math.exp(-k / 20) + 0.12 : undefined }))))
  const loss = page.getByTestId('loss-plot')
  await expect(loss).not.toHaveAttribute('data-renders', '0')
  expect(contentStats(await shot(loss.locator('canvas').first())).nonBackground).toBeGreaterThan(0.02)
  const [lsvg] = await Promise.all([page.waitForEvent('download'), loss.getByTestId('loss-plot-svg').click()])
  expect((await readDownload(lsvg)).toString('utf8')).toContain('validation loss')
})

async function readDownload(d: import('@playwright/test').Download): Promise<Buffer> {
  const s = await d.createReadStream()
  const chunks: Buffer[] = []
  for await (const c of s) chunks.push(c as Buffer)
  return Buffer.concat(chunks)
}
