/**
 * The workstation flow end to end in browser mode (real server, real files, real Chromium with
 * SwiftShader WebGPU): drop PDB snapshots (a real drag-and-drop DataTransfer) and pick them with the
 * file picker, train a tiny model, sample on WebGPU and on WASM (same seed → same frames), watch the
 * viewer play, read the ACF and Ramachandran plots, export a DCD and read it back, reload and find
 * everything still there. Each stage leaves a screenshot in the test's output folder.
 */
import { expect, test, type Page } from '@playwright/test'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { gunzipSync } from 'node:zlib'
import { startTestServer, type TestServer } from './support/server'
import { decodePng } from './components/png'
import { readDcd } from '../../src/core/formats/dcd'

test.describe.configure({ mode: 'serial' })

let server: TestServer
let page: Page
let work: string
let subsetFile: string
const FRAMES = 200
const REPLICAS = 2

/** the first n models of the shipped ala2 example, as one multi-model PDB text */
function exampleSubset(n: number): string {
  const text = gunzipSync(readFileSync(path.resolve('resources/examples/ala2/ala2_snapshots_all.pdb.gz'))).toString('latin1')
  const models = text.split(/^ENDMDL[^\n]*\n/m).filter((m) => m.includes('ATOM'))
  expect(models.length).toBeGreaterThanOrEqual(n)
  return models.slice(0, n).map((m) => m.replace(/^REMARK[^\n]*\n/gm, '') + 'ENDMDL\n').join('') + 'END\n'
}

async function api<T>(method: string, input: unknown): Promise<T> {
  const res = await fetch(`${server.origin}/api/${method}`, { method: 'POST', headers: { Authorization: `Bearer ${server.token}`, 'Content-Type': 'application/json' }, body: JSON.stringify(input) })
  const body = (await res.json()) as { result?: T; error?: { message: string } }
  if (!res.ok || body.error) throw new Error(`${method}: ${body.error?.message ?? res.status}`)
  return body.result as T
}

function float32(b64: string): Float32Array {
  return new Float32Array(Uint8Array.from(Buffer.from(b64, 'base64')).buffer)
}

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: test.info().outputPath(`${name}.png`), fullPage: true })
}

interface RunMeta {
  id: string
  status: string
  backendUsed: string | null
  framesStored: number
  params: { seed: number; replicas: number; frames: number; backend: string; timeCalibration?: { checkedOn: string } }
  derived: { eta: number }
  dim: number
}

test.beforeAll(async ({ browser }) => {
  server = await startTestServer()
  work = mkdtempSync(path.join(tmpdir(), 'diffmd-e2e-files-'))
  subsetFile = path.join(work, 'ala2_200.pdb')
  writeFileSync(subsetFile, exampleSubset(FRAMES))
  page = await browser.newPage()
  page.on('pageerror', (e) => console.log(`pageerror: ${e.message}`))
  // the browser-mode export hands files over as downloads
  await page.goto(server.url)
  await expect(page.getByTestId('projects')).toContainText('Examples')
  // a fresh project for this flow
  await page.getByTestId('new-project').fill('E2E flow')
  await page.getByTestId('new-project').press('Enter')
  await expect(page.getByTestId('project-view')).toContainText('E2E flow')
})

test.afterAll(async () => {
  await page?.close()
  await server?.stop()
  if (work) rmSync(work, { recursive: true, force: true })
})

test('dropping PDB files on the window imports them; a bad file gets its message beside it', async () => {
  const text = readFileSync(subsetFile, 'latin1')
  await page.getByTestId('tab-data').click()
  // a real drag-and-drop: a DataTransfer with File objects, dragenter → dragover → drop
  const dropped = await page.evaluate(
    ({ text }) => {
      const dt = new DataTransfer()
      dt.items.add(new File([text], 'ala2_200.pdb', { type: 'chemical/x-pdb' }))
      dt.items.add(new File(['just some notes'], 'notes.txt', { type: 'text/plain' }))
      const target = document.querySelector('[data-testid=run-view]') ?? document.body
      const accepted: boolean[] = []
      for (const type of ['dragenter', 'dragover', 'drop']) accepted.push(!target.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: dt })))
      return accepted
    },
    { text }
  )
  // the app claimed dragover and drop (preventDefault), so the browser does not open the file
  expect(dropped).toEqual([true, true, true])
  await expect(page.getByTestId('import-result')).toContainText('ala2_200', { timeout: 60_000 })
  await expect(page.locator('[data-testid=import-file][data-file="notes.txt"]')).toContainText('not a PDB file')
  const item = page.getByTestId('dataset-list').getByTestId('dataset-item')
  await expect(item).toHaveCount(1)
  await expect(item).toContainText(`${FRAMES} frames · 22 atoms`)
  await expect(page.getByTestId('dataset-frames')).toHaveText(String(FRAMES))
  await shot('1-drop-import')

  // a broken file: nothing is imported and the error names the file, next to it
  await page.evaluate(() => {
    const dt = new DataTransfer()
    dt.items.add(new File(['MODEL        1\nATOM      1  N   ALA A   1      xx.xxx   0.000   0.000  1.00  0.00           N\nENDMDL\n'], 'broken.pdb'))
    for (const type of ['dragenter', 'dragover', 'drop']) document.body.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: dt }))
  })
  const broken = page.locator('[data-testid=import-file][data-file="broken.pdb"]')
  await expect(broken.getByTestId('import-file-error')).toContainText('broken.pdb', { timeout: 30_000 })
  await expect(broken.getByTestId('import-file-error')).not.toContainText('.uploads')
  await expect(item).toHaveCount(1)
  await shot('2-drop-error')
})

test('the file picker imports too', async () => {
  // the selection is an expression (docs/selection.md); 'heavy' is one of its presets
  await page.getByTestId('import-selection').fill('heavy')
  await page.getByTestId('file-input').setInputFiles(subsetFile)
  const items = page.getByTestId('dataset-list').getByTestId('dataset-item')
  await expect(items).toHaveCount(2, { timeout: 60_000 })
  await expect(items.nth(1)).toContainText(`${FRAMES} frames · 10 atoms (heavy)`)
  await page.getByTestId('import-selection').fill('all')
  // back to the all-atom dataset for training
  await items.nth(0).click()
  await shot('3-file-picker')
})

test('a tiny model trains in seconds with a live loss curve and lands in the model list', async () => {
  await page.getByTestId('tab-train').click()
  await expect(page.getByTestId('train-dataset')).toContainText('ala2_200')
  await page.getByTestId('preset-tiny').check()
  // a score-MLP: this flow checks that WebGPU and WASM give the same frames; an energy model's
  // backward graph makes every step ~3× more dispatches on SwiftShader's software WebGPU (energy
  // models on both backends are covered by tests/e2e/components/sampler.spec.ts and engine-mh)
  await page.getByTestId('train-arch').selectOption('score-mlp')
  await page.getByTestId('train-steps').fill('300')
  await page.getByTestId('train-seed').fill('3')
  await page.getByTestId('train-start').click()
  await expect(page.getByTestId('train-progress')).toBeVisible()
  await expect(page.getByTestId('train-result')).toBeVisible({ timeout: 120_000 })
  await expect(page.getByTestId('train-state')).toHaveText('done')
  await expect(page.getByTestId('train-step')).toContainText('300 / 300')
  // the loss curve has data: its CSV export is enabled only then
  await expect(page.getByTestId('training-panel').getByTestId('loss-plot-csv')).toBeEnabled()
  await expect(page.getByTestId('model-list').getByTestId('model-item')).toHaveCount(1)
  await shot('4-trained')
})

async function sample(backend: 'webgpu' | 'wasm'): Promise<RunMeta> {
  await page.getByTestId('tab-sample').click()
  await page.getByTestId('param-frames').fill(String(FRAMES))
  await page.getByTestId('param-replicas').fill(String(REPLICAS))
  await page.getByTestId('param-dtPerFrame').fill('0.5')
  await page.getByTestId('param-denoiseSteps').fill('1')
  await page.getByTestId('param-seed').fill('11')
  await page.getByTestId('param-backend').selectOption(backend)
  const before = new Set((await api<RunMeta[]>('run.list', { projectId: 'e2e-flow' })).map((r) => r.id))
  await expect(page.getByTestId('run-start')).toBeEnabled()
  await page.getByTestId('run-start').click()
  await expect(page.getByTestId('run-progress')).toHaveAttribute('data-state', /finished|stopped|failed/, { timeout: 240_000 })
  const error = (await page.getByTestId('run-error').count()) ? await page.getByTestId('run-error').textContent() : null
  expect(error, `the ${backend} run reported an error`).toBeNull()
  await expect(page.getByTestId('run-progress')).toHaveAttribute('data-state', 'finished')
  await expect(page.getByTestId('run-backend')).toHaveText(`backend: ${backend}`)
  await expect(page.getByTestId('run-frames')).toHaveText(`${FRAMES} / ${FRAMES} frames`)
  const run = (await api<RunMeta[]>('run.list', { projectId: 'e2e-flow' })).find((r) => !before.has(r.id))!
  expect(run).toMatchObject({ status: 'finished', backendUsed: backend, framesStored: FRAMES })
  return run
}

test('sampling on WebGPU and on WASM gives finite frames, the same for the same seed', async () => {
  const gpu = await sample('webgpu')
  await shot('5-sampled-webgpu')
  const cpu = await sample('wasm')
  await shot('6-sampled-wasm')
  const a = await api<{ count: number; framesBase64: string }>('run.get', { projectId: 'e2e-flow', runId: gpu.id })
  const b = await api<{ count: number; framesBase64: string }>('run.get', { projectId: 'e2e-flow', runId: cpu.id })
  expect(a.count).toBe(FRAMES)
  expect(b.count).toBe(FRAMES)
  const fa = float32(a.framesBase64)
  const fb = float32(b.framesBase64)
  expect(fa.length).toBe(FRAMES * REPLICAS * gpu.dim)
  expect(fa.every(Number.isFinite)).toBe(true)
  expect(fb.every(Number.isFinite)).toBe(true)
  // the trajectories move (frames are not copies of frame 0)
  let moved = 0
  for (let i = 0; i < REPLICAS * gpu.dim; i++) moved = Math.max(moved, Math.abs(fa[(FRAMES - 1) * REPLICAS * gpu.dim + i]! - fa[i]!))
  expect(moved).toBeGreaterThan(0.05)
  // same seed, same settings: the same frames within float tolerance
  // float32 on two backends: rounding differences accumulate slowly (measured ≈ 4e-6 Å per frame,
  // growing linearly, not exponentially); allow 1e-4 Å + 1e-5 Å per frame
  let worst = 0
  const row = REPLICAS * gpu.dim
  const profile: string[] = []
  const over: string[] = []
  for (let f = 0; f < FRAMES; f++) {
    let m = 0
    for (let i = f * row; i < (f + 1) * row; i++) m = Math.max(m, Math.abs(fa[i]! - fb[i]!))
    worst = Math.max(worst, m)
    if (f % 40 === 0 || f === FRAMES - 1) profile.push(`${f}: ${m.toExponential(1)}`)
    if (m > 1e-4 + 1e-5 * f) over.push(`frame ${f}: ${m.toExponential(2)} Å`)
  }
  test.info().annotations.push({ type: 'max |webgpu − wasm| (Å)', description: `${worst.toExponential(3)} (by frame ${profile.join(', ')})` })
  expect(over).toEqual([])
  expect(fa[0]).toBe(fb[0]) // frame 0 is the same initial state
})

async function viewerCanvas(): Promise<Buffer> {
  return page.getByTestId('viewer-stage').locator('canvas').first().screenshot()
}

test('the viewer shows the molecule and it moves while playing', async () => {
  await expect(page.getByTestId('viewer')).toHaveAttribute('data-ready', 'true', { timeout: 60_000 })
  const first = await viewerCanvas()
  const img = decodePng(first)
  const colours = new Set<number>()
  for (let p = 0; p < img.data.length; p += 4 * 7) colours.add((img.data[p]! << 16) | (img.data[p + 1]! << 8) | img.data[p + 2]!)
  expect(colours.size).toBeGreaterThan(20) // not a blank canvas
  await page.getByTestId('viewer-play').click()
  await expect(page.getByTestId('viewer')).toHaveAttribute('data-playing', 'true')
  await page.waitForTimeout(1500)
  const later = await viewerCanvas()
  expect(Buffer.compare(first, later)).not.toBe(0)
  await page.getByTestId('viewer-play').click()
  await shot('7-viewer')
})

test('ACF and Ramachandran plots render with data', async () => {
  const acfs = page.getByTestId('acf-plots').getByTestId('acf-plot')
  await expect(acfs).toHaveCount(4, { timeout: 30_000 }) // φ, ψ, RMSD, Rg
  for (let i = 0; i < 4; i++) await expect(acfs.nth(i).getByTestId('acf-plot-csv')).toBeEnabled()
  // a user-picked distance (atoms 4 and 14: ACE C … ALA C)
  await page.getByTestId('custom-atoms').fill('4 14')
  await page.getByTestId('custom-apply').click()
  await expect(acfs).toHaveCount(5)
  await expect(acfs.nth(4)).toHaveAttribute('data-acf', 'custom')
  await expect(acfs.nth(4).getByTestId('acf-plot-csv')).toBeEnabled()
  const rama = page.getByTestId('rama-plot')
  await expect(rama).toHaveCount(2) // generated and training data
  await expect(rama.first()).toHaveAttribute('data-rama', 'generated')
  await expect(rama.nth(1)).toHaveAttribute('data-rama', 'data')
  for (let i = 0; i < 2; i++) await expect(rama.nth(i).getByTestId('rama-plot-csv')).toBeEnabled()
  // JSD of generated vs training data, and basin populations of both
  await expect(page.getByTestId('basin-populations')).toContainText(/JSD generated vs data 0\.\d+/)
  await expect(page.getByTestId('basin-populations')).toContainText('C7eq')
  await page.getByTestId('analysis').scrollIntoViewIfNeeded()
  await shot('8-plots')
})

test('a DCD export downloads and reads back with our DCD reader', async () => {
  await page.getByTestId('export-replica').selectOption('0')
  const dcdDownload = page.waitForEvent('download', { predicate: (d) => d.suggestedFilename().endsWith('.dcd') })
  await page.getByTestId('export-dcd').click()
  const dl = await dcdDownload
  const file = path.join(work, dl.suggestedFilename())
  await dl.saveAs(file)
  await expect(page.getByTestId('export-path')).toContainText('.dcd')
  const dcd = readDcd(new Uint8Array(readFileSync(file)), file)
  expect(dcd.nFrames).toBe(FRAMES)
  expect(dcd.nAtoms).toBe(22)
  // replica 0 of the run on screen, frame by frame
  const runs = await api<RunMeta[]>('run.list', { projectId: 'e2e-flow' })
  const shown = runs.find((r) => r.backendUsed === 'wasm')!
  const frames = float32((await api<{ framesBase64: string }>('run.get', { projectId: 'e2e-flow', runId: shown.id })).framesBase64)
  const d = shown.dim
  for (const f of [0, 1, FRAMES - 1]) {
    for (let i = 0; i < d; i++) expect(dcd.frames[f * d + i]!).toBeCloseTo(frames[f * REPLICAS * d + i]!, 3)
  }
  await shot('9-exported')
})

// Regression test for the streaming slowdown (present since v0.1, fixed 2026-12-01, docs/viewer.md
// "Keeping the page responsive"): a 20000-frame run streams into the page and Stop must still answer.
test('Examples: the shipped dataset and default model run with one click; stop keeps every frame, resume continues', async () => {
  await page.getByTestId('projects').getByText('Examples').click()
  await expect(page.getByTestId('project-view')).toContainText('Examples')
  // Examples holds ala2 (22 atoms) and ala3 (32 atoms, docs/peptides.md)
  await expect(page.getByTestId('dataset-list').getByTestId('dataset-item').filter({ hasText: '22 atoms' })).toContainText('5000 frames · 22 atoms')
  await expect(page.getByTestId('model-list').getByTestId('model-item')).toHaveCount(1)
  await page.getByTestId('tab-sample').click()
  await page.getByTestId('params-reset').click()
  await expect(page.getByTestId('sampler-model')).toContainText('Alanine dipeptide')
  // defaults: bridge, D 0.05 Å²/ps, and the shipped model's self-checked Δt of 2 ps per adapter step
  // (its card; three per 6-ps frame), in calibrated time: the step width η solves η·e^(−b′η) = D·Δt = 0.1 Å²
  // with b′ the card's fitted slope of the ln time scale per unit η (docs/self-check.md "Calibrated time")
  await expect(page.getByTestId('param-innerSteps')).toHaveValue('3')
  await expect(page.getByTestId('param-dtPerFrame')).toHaveValue('6')
  await expect(page.getByTestId('dt-recommended')).toContainText('Δt = 2 ps per adapter step: recommended by the self-check')
  await expect(page.getByTestId('time-calibration-toggle')).toBeChecked()
  await expect(page.getByTestId('time-calibration-step')).toContainText('each 2-ps step is as wide as an uncalibrated')
  const card = JSON.parse(readFileSync(path.resolve('resources/models/ala2-default.card.json'), 'utf8')) as { selfCheck: { diffusion: number; perDt: { dtPs: number; timescaleError: number }[] } }
  const widest = card.selfCheck.perDt.reduce((a, b) => (b.dtPs > a.dtPs ? b : a))
  const slope = widest.timescaleError / (widest.dtPs * card.selfCheck.diffusion)
  const etaShown = Number(await page.getByTestId('eq-eta').textContent())
  expect(Math.abs(etaShown * Math.exp(-slope * etaShown) - 0.1)).toBeLessThan(2e-5)
  expect(etaShown).toBeLessThan(0.1)
  // switched off, the step is η = D·Δt = 0.1 Å², σ_K = √(η + σ_min²), k = 1/(2η) = 5 Å⁻²
  await page.getByTestId('time-calibration-toggle').uncheck()
  await expect(page.getByTestId('eq-eta')).toHaveText('0.1')
  const sigmaMin = Number(await page.getByTestId('param-sigmaMin').inputValue())
  expect(sigmaMin).toBeGreaterThan(0)
  await expect(page.getByTestId('eq-sigmaK')).toHaveText(String(Number(Math.sqrt(0.1 + sigmaMin ** 2).toPrecision(4))))
  await expect(page.getByTestId('eq-k')).toHaveText('5')
  await page.getByTestId('time-calibration-toggle').check()
  await expect(page.getByTestId('eq-eta')).toHaveText(String(etaShown))
  // what the run will cost is said before it starts (core/limits, docs/peptides.md)
  await expect(page.getByTestId('run-estimate')).toContainText(/sampling 22 atoms: about .+ on one CPU thread/)
  await expect(page.getByTestId('run-estimate')).toHaveAttribute('data-verdict', 'ok')
  // a setting that cannot work is refused beside the field
  await page.getByTestId('param-sigmaMin').fill('0')
  await expect(page.getByTestId('param-error-sigmaMin')).toContainText('σ_min = 0 only works with M = 1')
  await expect(page.getByTestId('run-start')).toBeDisabled()
  await page.getByTestId('params-reset').click()
  // the defaults as shipped, on the CPU backend: SwiftShader's software WebGPU runs the 256×3 model
  // ~15× slower than WASM here (WebGPU is covered by the equality test above)
  await page.getByTestId('param-backend').selectOption('wasm')
  // long enough that Stop, not the end of the run, ends it
  await page.getByTestId('param-frames').fill('20000')
  await page.getByTestId('run-start').click()
  await expect.poll(async () => Number((await page.getByTestId('run-frames').textContent())?.split(' ')[0] ?? 0), { timeout: 120_000 }).toBeGreaterThanOrEqual(4)
  await page.getByTestId('run-stop').click()
  await expect(page.getByTestId('run-progress')).toHaveAttribute('data-state', 'stopped', { timeout: 30_000 })
  const runs = await api<(RunMeta & { selfCheck?: { outside: boolean; recommendedDtPs: number | null } | null })[]>('run.list', { projectId: 'examples' })
  expect(runs).toHaveLength(1)
  const stopped = runs[0]!
  expect(stopped.status).toBe('stopped')
  // the run keeps what the model's check said of its 2-ps steps (vouched for) and its calibration
  expect(stopped.selfCheck).toMatchObject({ outside: false, recommendedDtPs: 2 })
  expect(stopped.params.timeCalibration?.checkedOn).toBe('2026-12-03')
  expect(stopped.derived.eta).toBeCloseTo(etaShown, 3)
  await expect(page.getByTestId('run-not-vouched')).toHaveCount(0)
  await expect(page.getByTestId('run-calibrated')).toContainText('time calibrated by the self-check of 2026-12-03')
  const shownFrames = Number((await page.getByTestId('run-frames').textContent())!.split(' ')[0])
  expect(stopped.framesStored).toBe(shownFrames)
  await shot('11-examples-stopped')
  // resume: the stored frames stay, new ones follow
  await page.getByTestId('run-resume').click()
  await expect.poll(async () => Number((await page.getByTestId('run-frames').textContent())?.split(' ')[0] ?? 0), { timeout: 120_000 }).toBeGreaterThanOrEqual(shownFrames + 2)
  await page.getByTestId('run-stop').click()
  await expect(page.getByTestId('run-progress')).toHaveAttribute('data-state', 'stopped', { timeout: 30_000 })
  const after = (await api<RunMeta[]>('run.list', { projectId: 'examples' }))[0]!
  expect(after.framesStored).toBeGreaterThanOrEqual(shownFrames + 2)
  const all = float32((await api<{ framesBase64: string }>('run.get', { projectId: 'examples', runId: after.id })).framesBase64)
  expect(all.every(Number.isFinite)).toBe(true)
  await shot('12-examples-resumed')
})

test('bridge + Metropolis in the app: the covariance down kernel by default, steps accepted at M = 10 (WASM, the shipped model)', async () => {
  await page.getByTestId('projects').getByText('Examples').click()
  await page.getByTestId('tab-sample').click()
  await page.getByTestId('params-reset').click()
  await page.getByTestId('param-mode').selectOption('bridge-mh')
  // the kernel is offered with bridge + Metropolis only, covariance first; no M < 80 warning with it
  await expect(page.getByTestId('param-mhKernel')).toHaveValue('covariance')
  // one 0.5-ps adapter step per frame (the reset took the model's 2-ps recommendation, three per frame)
  await page.getByTestId('param-innerSteps').fill('1')
  await page.getByTestId('param-dtPerFrame').fill('0.5')
  await page.getByTestId('param-denoiseSteps').fill('10')
  await expect(page.getByTestId('param-warning-denoiseSteps')).toHaveCount(0)
  await page.getByTestId('param-replicas').fill('8')
  await page.getByTestId('param-frames').fill('11')
  await page.getByTestId('param-backend').selectOption('wasm')
  await page.getByTestId('run-start').click()
  await expect(page.getByTestId('run-progress')).toHaveAttribute('data-state', 'finished', { timeout: 120_000 })
  // 80 Metropolis tests; the covariance kernel accepts ~25 % at 0.5 ps (em: ~0; bench/RESULTS.md),
  // so ≥ 5 % fails only with probability ~10⁻⁴ if it works
  const text = (await page.getByTestId('run-acceptance').textContent()) ?? ''
  const pct = Number(/Metropolis acceptance ([\d.]+)%/.exec(text)?.[1])
  expect(pct).toBeGreaterThan(5)
  // the run's header names its kernel
  await expect(page.getByTestId('run-summary')).toContainText('bridge-mh (covariance kernel')
  await shot('13-examples-metropolis')
  const runs = await api<(RunMeta & { params: { mode: string; mhKernel?: string }; acceptance?: number[] })[]>('run.list', { projectId: 'examples' })
  const mh = runs.find((r) => r.params.mode === 'bridge-mh')!
  expect(mh.params.mhKernel).toBe('covariance')
  expect(mh.acceptance!.length).toBe(8)
  // em is still there for runs that need it, with its warning below M = 80
  await page.getByTestId('param-mhKernel').selectOption('em')
  await expect(page.getByTestId('param-warning-denoiseSteps')).toContainText('em kernel accepts almost no step')
  await page.getByTestId('params-reset').click()
})

test('after a reload the dataset, model and run are still there', async () => {
  await page.getByTestId('projects').getByText('E2E flow').click()
  await page.reload()
  await expect(page.getByTestId('project-view')).toContainText('E2E flow')
  await expect(page.getByTestId('dataset-list').getByTestId('dataset-item')).toHaveCount(2)
  await expect(page.getByTestId('model-list').getByTestId('model-item')).toHaveCount(1)
  const runs = page.getByTestId('run-list').getByTestId('run-item')
  await expect(runs).toHaveCount(2)
  await expect(runs.first()).toContainText(`${FRAMES} frames × ${REPLICAS}`)
  await runs.first().click()
  await expect(page.getByTestId('viewer')).toHaveAttribute('data-ready', 'true', { timeout: 60_000 })
  await expect(page.getByTestId('run-summary')).toContainText('finished')
  await shot('10-reloaded')
})
