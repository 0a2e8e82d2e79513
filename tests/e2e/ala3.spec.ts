/**
 * The second example end to end (docs/peptides.md): drop the shipped ala3 snapshots
 * (ACE-ALA-ALA-NME, 5000 frames, 32 atoms) on the window, train a small model with the default
 * architecture, sample on the CPU (WASM) backend, and read the per-residue analysis — the residue
 * picker lists both residues and the Ramachandran plots of each draw with data, generated and
 * training data alike. Real server, real file, real Chromium, real onnxruntime. Screenshots of each
 * stage are left in the test's output folder.
 */
import { expect, test, type Page } from '@playwright/test'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { startTestServer, type TestServer } from './support/server'

test.describe.configure({ mode: 'serial' })

const SNAPSHOTS = path.resolve('resources/examples/ala3/ala3_snapshots_all.pdb.gz')
const FRAMES = 100
const REPLICAS = 2
let server: TestServer
let page: Page

async function api<T>(method: string, input: unknown): Promise<T> {
  const res = await fetch(`${server.origin}/api/${method}`, { method: 'POST', headers: { Authorization: `Bearer ${server.token}`, 'Content-Type': 'application/json' }, body: JSON.stringify(input) })
  const body = (await res.json()) as { result?: T; error?: { message: string } }
  if (!res.ok || body.error) throw new Error(`${method}: ${body.error?.message ?? res.status}`)
  return body.result as T
}

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: test.info().outputPath(`${name}.png`), fullPage: true })
}

test.beforeAll(async ({ browser }) => {
  server = await startTestServer()
  page = await browser.newPage()
  page.on('pageerror', (e) => console.log(`pageerror: ${e.message}`))
  await page.goto(server.url)
  await expect(page.getByTestId('projects')).toContainText('Examples')
  await page.getByTestId('new-project').fill('ALA3 flow')
  await page.getByTestId('new-project').press('Enter')
  await expect(page.getByTestId('project-view')).toContainText('ALA3 flow')
})

test.afterAll(async () => {
  await page?.close()
  await server?.stop()
})

test('the Examples project ships ala3 beside ala2', async () => {
  const list = await api<{ name: string; frames: number; dim: number }[]>('dataset.list', { projectId: 'examples' })
  expect(list.map((d) => [d.frames, d.dim]).sort()).toEqual([
    [5000, 66],
    [5000, 96],
  ])
  expect(list.find((d) => d.dim === 96)!.name).toContain('ala3')
})

test('dropping the ala3 snapshots imports 5000 frames of 32 atoms', async () => {
  await page.getByTestId('tab-data').click()
  const b64 = readFileSync(SNAPSHOTS).toString('base64')
  await page.evaluate(
    ({ b64 }) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))
      const dt = new DataTransfer()
      dt.items.add(new File([bytes], 'ala3_snapshots_all.pdb.gz', { type: 'application/gzip' }))
      const target = document.querySelector('[data-testid=run-view]') ?? document.body
      for (const type of ['dragenter', 'dragover', 'drop']) target.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: dt }))
    },
    { b64 }
  )
  const item = page.getByTestId('dataset-list').getByTestId('dataset-item')
  await expect(item).toHaveCount(1, { timeout: 60_000 })
  await expect(item).toContainText('5000 frames · 32 atoms')
  await shot('ala3-1-dropped')
})

test('a small model trains on it', async () => {
  await page.getByTestId('tab-train').click()
  await expect(page.getByTestId('train-dataset')).toContainText('ala3')
  await page.getByTestId('preset-tiny').check()
  await page.getByTestId('train-steps').fill('200')
  // the cost is said before it starts (docs/peptides.md "Larger molecules")
  await expect(page.getByTestId('train-estimate')).toHaveAttribute('data-verdict', 'ok')
  await expect(page.getByTestId('train-estimate')).toContainText(/^training 32 atoms: about \d+ s on one CPU thread/)
  await page.getByTestId('train-seed').fill('5')
  // an ensemble of two (seeds 5 and 6, trained side by side); the sampler below runs the averaged model
  await page.getByTestId('train-members').fill('2')
  await page.getByTestId('train-start').click()
  await expect(page.getByTestId('train-result')).toBeVisible({ timeout: 150_000 })
  await expect(page.getByTestId('train-state')).toHaveText('done')
  await expect(page.getByTestId('train-result')).toContainText('ensemble of 2')
  await expect(page.getByTestId('model-list').getByTestId('model-item')).toHaveCount(1)
  await shot('ala3-2-trained')
})

test('sampling gives finite frames', async () => {
  await page.getByTestId('tab-sample').click()
  await page.getByTestId('param-frames').fill(String(FRAMES))
  await page.getByTestId('param-replicas').fill(String(REPLICAS))
  await page.getByTestId('param-seed').fill('7')
  await page.getByTestId('param-backend').selectOption('wasm')
  await expect(page.getByTestId('run-start')).toBeEnabled()
  await page.getByTestId('run-start').click()
  await expect(page.getByTestId('run-progress')).toHaveAttribute('data-state', /finished|stopped|failed/, { timeout: 240_000 })
  const error = (await page.getByTestId('run-error').count()) ? await page.getByTestId('run-error').textContent() : null
  expect(error, 'the run reported an error').toBeNull()
  await expect(page.getByTestId('run-frames')).toHaveText(`${FRAMES} / ${FRAMES} frames`)
  const [run] = await api<{ id: string; dim: number; framesStored: number }[]>('run.list', { projectId: 'ala3-flow' })
  expect(run).toMatchObject({ dim: 96, framesStored: FRAMES })
  const frames = await api<{ framesBase64: string }>('run.get', { projectId: 'ala3-flow', runId: run!.id })
  const f = new Float32Array(Uint8Array.from(Buffer.from(frames.framesBase64, 'base64')).buffer)
  expect(f.length).toBe(FRAMES * REPLICAS * 96)
  expect(f.every(Number.isFinite)).toBe(true)
  await shot('ala3-3-sampled')
})

test('per residue: the picker lists ALA2 and ALA3, and each residue’s Ramachandran plots draw with data', async () => {
  const picker = page.getByTestId('rama-residue')
  await expect(picker).toBeVisible({ timeout: 60_000 })
  await expect(picker.locator('option')).toHaveText(['ALA2', 'ALA3'])
  for (const [i, residue] of ['ALA2', 'ALA3'].entries()) {
    await picker.selectOption(String(i))
    const rama = page.getByTestId('rama-plot')
    await expect(page.locator(`[data-residue="${residue}"]`)).toHaveCount(1)
    await expect(rama).toHaveCount(2) // generated and training data (no reference for ala3)
    await expect(rama.first()).toHaveAttribute('data-rama', 'generated')
    await expect(rama.nth(1)).toHaveAttribute('data-rama', 'data')
    for (let k = 0; k < 2; k++) {
      await expect(rama.nth(k)).toHaveAttribute('data-title', `Ramachandran ${residue} · ${k === 0 ? 'generated' : 'training data'}`)
      // a plot's CSV export is enabled only when it has data
      await expect(rama.nth(k).getByTestId('rama-plot-csv')).toBeEnabled()
    }
    await expect(page.getByTestId('acf-plots').locator('[data-acf=phi]')).toHaveAttribute('data-title', `ACF φ ${residue}`)
    await expect(page.getByTestId('basin-populations')).toContainText(`Basin populations of ${residue}`)
    await expect(page.getByTestId('basin-populations')).toContainText(/JSD generated vs data 0\.\d+/)
    await expect(page.getByTestId('core-rate')).toHaveCount(2)
    const grid = page.locator(`[data-residue="${residue}"]`)
    await grid.scrollIntoViewIfNeeded()
    await shot(`ala3-4-analysis-${residue}`)
    await grid.screenshot({ path: test.info().outputPath(`ala3-5-rama-${residue}.png`) })
  }
  await expect(page.getByTestId('analysis-error')).toHaveCount(0)
})
