import { expect, test } from '@playwright/test'
import { startTestServer, type TestServer } from './support/server'

let server: TestServer

test.beforeAll(async () => {
  server = await startTestServer()
})
test.afterAll(async () => {
  await server.stop()
})

test('API refuses calls without the token and answers with it', async ({ request }) => {
  const anonymous = await request.post(`${server.origin}/api/app.info`, { data: {} })
  expect(anonymous.status()).toBe(401)
  const wrong = await request.post(`${server.origin}/api/app.info`, { data: {}, headers: { Authorization: 'Bearer nope' } })
  expect(wrong.status()).toBe(401)
  const ok = await request.post(`${server.origin}/api/app.info`, { data: {}, headers: { Authorization: `Bearer ${server.token}` } })
  expect(ok.status()).toBe(200)
  const body = (await ok.json()) as { result: { name: string; version: string; transport: string } }
  expect(body.result.name).toBe('DiffMD Studio')
  expect(body.result.transport).toBe('http')
  const bad = await request.post(`${server.origin}/api/project.create`, { data: { name: '' }, headers: { Authorization: `Bearer ${server.token}` } })
  expect(bad.status()).toBe(400)
  expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(/project\.create: name/)
})

test('the page is cross-origin isolated and the shell shows projects, version and a WebGPU adapter', async ({ page }) => {
  const response = await page.goto(server.url)
  expect(response?.headers()['cross-origin-opener-policy']).toBe('same-origin')
  expect(response?.headers()['cross-origin-embedder-policy']).toBe('require-corp')
  expect(await page.evaluate(() => window.crossOriginIsolated)).toBe(true)
  await expect(page.getByTestId('version')).toContainText('v0.')
  await expect(page.getByTestId('projects')).toContainText('Examples')
  // app.info round trip through the renderer's client, with the renderer's WebGPU probe
  await expect(page.getByTestId('webgpu')).not.toContainText('…')
  const webgpu = await page.getByTestId('webgpu').textContent()
  expect(webgpu).not.toContain('not available')
  // create a project through the UI: the API round trip end to end
  await page.getByTestId('new-project').fill('Villin headpiece')
  await page.getByTestId('new-project').press('Enter')
  await expect(page.getByTestId('project-view')).toContainText('Villin headpiece')
  const shot = await page.screenshot({ path: test.info().outputPath('shell.png'), fullPage: true })
  // not blank: a screenshot of a rendered shell has many distinct byte values in its PNG data
  expect(shot.length).toBeGreaterThan(10_000)
  const distinct = new Set(shot.subarray(200, 20_000)).size
  expect(distinct).toBeGreaterThan(100)
})
