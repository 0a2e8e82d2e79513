/**
 * What a chemist expects of the trajectory viewer, end to end in browser mode (real server, real
 * files, real Chromium with SwiftShader WebGL, real onnxruntime-web): the molecule appears as soon
 * as a dataset is selected; atoms clicked in the NGL canvas define a dihedral / distance named with
 * the PDB's residue and atom names; the player keys (Space, ←/→, Home/End) and buttons move the
 * frame; stride, once/rock, hold steady; the time-series cursor follows playback and a click on the
 * plot jumps the viewer; an observable picked on a sampled run gets its ACF; XTC export reads back.
 * Each state leaves a screenshot in the test's output folder.
 */
import { expect, test, type Page } from '@playwright/test'
import { readFileSync } from 'node:fs'
import { startTestServer, type TestServer } from './support/server'
import { decodePng } from './components/png'
import { readXtc } from '../../src/core/formats/xtc'
import { readPdb } from '../../src/core/formats/pdb'

test.describe.configure({ mode: 'serial' })

let server: TestServer
let page: Page
const pageErrors: string[] = []

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: test.info().outputPath(`${name}.png`), fullPage: true })
}

async function api<T>(method: string, input: unknown): Promise<T> {
  const res = await fetch(`${server.origin}/api/${method}`, { method: 'POST', headers: { Authorization: `Bearer ${server.token}`, 'Content-Type': 'application/json' }, body: JSON.stringify(input) })
  const body = (await res.json()) as { result?: T; error?: { message: string } }
  if (!res.ok || body.error) throw new Error(`${method}: ${body.error?.message ?? res.status}`)
  return body.result as T
}

const viewerEl = (): ReturnType<Page['getByTestId']> => page.getByTestId('viewer')
async function frame(): Promise<number> {
  return Number(await viewerEl().getAttribute('data-frame'))
}
async function expectFrame(f: number): Promise<void> {
  await expect(viewerEl()).toHaveAttribute('data-frame', String(f))
}

/** distinct colours in the NGL canvas (a blank canvas has one) */
async function canvasColours(): Promise<number> {
  const img = decodePng(await page.getByTestId('viewer-stage').locator('canvas').first().screenshot())
  const colours = new Set<number>()
  for (let p = 0; p < img.data.length; p += 4 * 5) colours.add((img.data[p]! << 16) | (img.data[p + 1]! << 8) | img.data[p + 2]!)
  return colours.size
}

/** where atom i is drawn, in page coordinates */
async function atomOnPage(i: number): Promise<{ x: number; y: number }> {
  const stage = page.getByTestId('viewer-stage')
  const p = await stage.evaluate((el, i) => (el as HTMLElement & { __viewer: { atomScreenPosition(i: number): { x: number; y: number } | null } }).__viewer.atomScreenPosition(i), i)
  expect(p, `atom ${i} is on screen`).not.toBeNull()
  const box = (await stage.locator('canvas').first().boundingBox())!
  return { x: box.x + p!.x, y: box.y + p!.y }
}

async function clickAtom(i: number): Promise<void> {
  // NGL draws (and refreshes its picking buffer) on an animation frame: let the frame on screen be
  // drawn before aiming at an atom, or a click right after a frame change can land on the old picture
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))))
  const p = await atomOnPage(i)
  await page.mouse.click(p.x, p.y)
}

/** the time-series plot's pixel of frame f, in page coordinates */
async function plotPixelOfFrame(f: number): Promise<{ x: number; y: number }> {
  const chart = page.getByTestId('timeseries-chart')
  const p = await chart.evaluate((el, f) => (el as HTMLElement & { __plot: { pixelOfFrame(f: number): { x: number; y: number } | null } }).__plot.pixelOfFrame(f), f)
  const box = (await chart.boundingBox())!
  return { x: box.x + p!.x, y: box.y + p!.y }
}

/** red (cursor) pixels in the time-series plot's pixel column of frame f, ±1 px (the mouse moved away first) */
async function cursorPixelsAt(f: number, save?: string): Promise<number> {
  await page.mouse.move(1, 1)
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))))
  const chart = page.getByTestId('timeseries-chart')
  const box = (await chart.boundingBox())!
  const px = await plotPixelOfFrame(f)
  const png = await chart.screenshot(save ? { path: test.info().outputPath(save) } : {})
  const img = decodePng(png)
  const scale = img.width / box.width
  const col = Math.round((px.x - box.x) * scale)
  let red = 0
  for (let y = 0; y < img.height; y++) {
    for (const dx of [-1, 0, 1]) {
      const o = 4 * (y * img.width + col + dx)
      // the cursor's colour #e03131 (ψ's #d9480f is too blue-poor to pass)
      if (Math.abs(img.data[o]! - 224) < 20 && Math.abs(img.data[o + 1]! - 49) < 20 && Math.abs(img.data[o + 2]! - 49) < 20) red++
    }
  }
  return red
}

test.beforeAll(async ({ browser }) => {
  server = await startTestServer()
  page = await browser.newPage()
  page.on('pageerror', (e) => pageErrors.push(e.message))
  await page.goto(server.url)
  await expect(page.getByTestId('projects')).toContainText('Examples')
  await expect(page.getByTestId('project-view')).toContainText('Examples')
})

test.afterAll(async () => {
  await page?.close()
  await server?.stop()
})

test('the molecule is on screen as soon as a dataset is selected, before any run', async () => {
  await expect(page.getByTestId('run-list').getByTestId('run-item')).toHaveCount(0)
  const preview = page.getByTestId('dataset-preview')
  await expect(preview).toBeVisible()
  await expect(viewerEl()).toHaveAttribute('data-ready', 'true', { timeout: 60_000 })
  await expect(page.getByTestId('dataset-preview-caption')).toContainText('5000 snapshots')
  await expect(page.getByTestId('viewer-frame-label')).toHaveText('snapshot 0 / 4999')
  expect(await canvasColours(), 'shaded, element-coloured atoms on the canvas').toBeGreaterThan(30)
  // φ and ψ of the snapshots are plotted by default
  await expect(page.getByTestId('timeseries')).toHaveAttribute('data-series', 'phi,psi')
  await shot('1-dataset-selected')
})

test('player keys and buttons: Space plays and pauses, ←/→ step, Home/End, stride, once and rock', async () => {
  await page.getByTestId('viewer-stage').click({ position: { x: 5, y: 5 } }) // focus the page, not a field
  await page.keyboard.press('End')
  await expectFrame(4999)
  await page.keyboard.press('Home')
  await expectFrame(0)
  await page.keyboard.press('ArrowRight')
  await expectFrame(1)
  await page.keyboard.press('ArrowRight')
  await expectFrame(2)
  await page.keyboard.press('ArrowLeft')
  await expectFrame(1)
  await page.keyboard.press('ArrowLeft')
  await page.keyboard.press('ArrowLeft') // at frame 0: stays
  await expectFrame(0)
  await page.keyboard.press('Space')
  await expect(viewerEl()).toHaveAttribute('data-playing', 'true')
  await expect.poll(frame, { timeout: 20_000 }).toBeGreaterThan(3)
  await page.keyboard.press('Space')
  await expect(viewerEl()).toHaveAttribute('data-playing', 'false')
  const paused = await frame()
  await page.waitForTimeout(400)
  expect(await frame()).toBe(paused)
  // a click on Play does not take the focus: Space still pauses
  await page.getByTestId('viewer-play').click()
  await expect(viewerEl()).toHaveAttribute('data-playing', 'true')
  await page.keyboard.press('Space')
  await expect(viewerEl()).toHaveAttribute('data-playing', 'false')
  // buttons
  await page.getByTestId('viewer-last').click()
  await expectFrame(4999)
  await page.getByTestId('viewer-prev').click()
  await expectFrame(4998)
  await page.getByTestId('viewer-first').click()
  await expectFrame(0)
  await page.getByTestId('viewer-next').click()
  await expectFrame(1)
  // stride 10: → moves ten frames
  await page.getByTestId('viewer-stride').fill('10')
  await page.getByTestId('viewer-stride').press('Enter')
  await page.getByTestId('viewer-stage').click({ position: { x: 5, y: 5 } })
  await page.keyboard.press('ArrowRight')
  await expectFrame(11)
  // typing in a field does not drive the player
  await page.getByTestId('viewer-stride').focus()
  await page.keyboard.press('Space')
  await expect(viewerEl()).toHaveAttribute('data-playing', 'false')
  // once: from the end, playing starts over and stops at the last frame
  await page.getByTestId('viewer-mode').selectOption('once')
  await page.getByTestId('viewer-fps').selectOption('240')
  await page.getByTestId('viewer-stride').fill('200')
  await page.getByTestId('viewer-stride').press('Enter')
  await page.getByTestId('viewer-stage').click({ position: { x: 5, y: 5 } })
  await page.keyboard.press('Home')
  await page.keyboard.press('Space')
  await expect(viewerEl()).toHaveAttribute('data-playing', 'false', { timeout: 20_000 })
  await expectFrame(4999)
  // rock: at the end it turns round
  await page.getByTestId('viewer-mode').selectOption('rock')
  await page.getByTestId('viewer-stage').click({ position: { x: 5, y: 5 } })
  await page.keyboard.press('End')
  await page.keyboard.press('Space')
  await expect.poll(frame, { timeout: 20_000 }).toBeLessThan(4999 - 400)
  await page.keyboard.press('Space')
  await page.getByTestId('viewer-mode').selectOption('loop')
  await page.getByTestId('viewer-stride').fill('1')
  await page.getByTestId('viewer-stride').press('Enter')
  await page.getByTestId('viewer-fps').selectOption('25')
  await shot('2-player')
})

test('clicking atoms in the viewer defines a dihedral and a distance, named with PDB residue and atom names', async () => {
  await page.getByTestId('viewer-stage').click({ position: { x: 5, y: 5 } })
  await page.keyboard.press('Home')
  await page.getByTestId('pick-dihedral').click()
  await expect(page.getByTestId('pick-prompt')).toContainText('click 4 more atoms')
  // φ: ACE C(4) – ALA N(6) – ALA CA(8) – ALA C(14), 0-based
  for (const i of [4, 6, 8, 14]) await clickAtom(i)
  const obs = page.getByTestId('picked-observable')
  await expect(obs).toHaveCount(1)
  await expect(obs.first()).toHaveAttribute('data-atoms', '4 6 8 14')
  await expect(obs.first()).toContainText('dihedral ACE 1 C – ALA 2 N – ALA 2 CA – ALA 2 C')
  await expect(obs.first()).toContainText('(0-based)')
  await expect(page.getByTestId('timeseries')).toHaveAttribute('data-series', 'phi,psi,pick:dihedral:4-6-8-14')
  await shot('3-picked-dihedral')
  // a distance: ACE C … ALA C
  await page.getByTestId('pick-distance').click()
  await clickAtom(4)
  await expect(page.getByTestId('picked-atom')).toHaveText(['ACE 1 C (atom 4, 0-based)'])
  await clickAtom(14)
  await expect(obs).toHaveCount(2)
  await expect(obs.nth(1)).toHaveAttribute('data-atoms', '4 14')
  await expect(obs.nth(1)).toContainText('distance ACE 1 C – ALA 2 C')
  await shot('4-picked-distance')
})

test('the time-series cursor follows playback; a click on the plot jumps the viewer to that frame', async () => {
  const ts = page.getByTestId('timeseries')
  await page.getByTestId('viewer-stage').click({ position: { x: 5, y: 5 } })
  await page.keyboard.press('Space')
  await expect.poll(frame, { timeout: 20_000 }).toBeGreaterThan(10)
  await page.keyboard.press('Space')
  const f = await frame()
  await expect(ts).toHaveAttribute('data-cursor-frame', String(f))
  // the cursor is drawn where frame f is on the x axis, and only there
  expect(await cursorPixelsAt(f), 'red cursor pixels in the column of the current frame').toBeGreaterThan(20)
  expect(await cursorPixelsAt(f < 2500 ? f + 800 : f - 800), 'no cursor elsewhere').toBeLessThan(5)
  const box = (await page.getByTestId('timeseries-chart').boundingBox())!
  // click the plot at frame 3000 (one pixel spans 5000 / plot width frames)
  const target = await plotPixelOfFrame(3000)
  await page.mouse.click(target.x, target.y)
  const framesPerPixel = 5000 / box.width
  await expect.poll(async () => Math.abs((await frame()) - 3000)).toBeLessThanOrEqual(Math.ceil(framesPerPixel))
  await expect(ts).toHaveAttribute('data-cursor-frame', String(await frame()))
  await shot('5-timeseries-jump')
})

test('on a sampled run: time in ps, hold steady on/off, the picked dihedral gets its ACF, the cursor follows, XTC export reads back', async () => {
  const FRAMES = 120
  await page.getByTestId('tab-sample').click()
  await page.getByTestId('param-frames').fill(String(FRAMES))
  await page.getByTestId('param-replicas').fill('2')
  await page.getByTestId('param-seed').fill('5')
  await page.getByTestId('param-backend').selectOption('wasm')
  await expect(page.getByTestId('run-start')).toBeEnabled()
  await page.getByTestId('run-start').click()
  await expect(page.getByTestId('run-progress')).toHaveAttribute('data-state', 'finished', { timeout: 180_000 })
  await expect(viewerEl()).toHaveAttribute('data-ready', 'true', { timeout: 60_000 })
  await expect(page.getByTestId('dataset-preview')).toHaveCount(0)
  const runs = await api<{ id: string; dim: number; params: { dtPerFrame: number } }[]>('run.list', { projectId: 'examples' })
  expect(runs).toHaveLength(1)
  const run = runs[0]!
  const dt = run.params.dtPerFrame
  const rows = new Float32Array(Uint8Array.from(Buffer.from((await api<{ framesBase64: string }>('run.get', { projectId: 'examples', runId: run.id })).framesBase64, 'base64')).buffer)
  const d = run.dim

  // frames of a run have a time: the label and the plot's axis say ps
  await page.getByTestId('viewer-stage').click({ position: { x: 5, y: 5 } })
  await page.keyboard.press('End')
  await expectFrame(FRAMES - 1)
  await expect(page.getByTestId('viewer-time')).toHaveText(`t = ${(FRAMES - 1) * dt} ps`)

  // hold steady off: the atoms are where the sampler put them; on: the same frame moved rigidly onto
  // the first structure (the sampler's rigid-body projector already keeps frames nearly aligned, so
  // here only optimality is visible; the component test player.spec.ts turns a tumbling trajectory)
  const shown = async (): Promise<number[]> => page.getByTestId('viewer-stage').evaluate((el) => (el as HTMLElement & { __viewer: { displayedCoordinates(): number[] } }).__viewer.displayedCoordinates())
  const raw = Array.from(rows.subarray((FRAMES - 1) * 2 * d, (FRAMES - 1) * 2 * d + d)) // replica 0
  const topo = readPdb((await api<{ topologyPdb: string }>('run.get', { projectId: 'examples', runId: run.id, count: 0 })).topologyPdb, 'topology.pdb')
  const reference = Array.from(topo.frames.subarray(0, d))
  const rmsd = (a: number[], b: number[]): number => Math.sqrt(a.reduce((s, v, i) => s + (v - b[i]!) ** 2, 0) / (a.length / 3))
  const maxDistanceChange = (a: number[], b: number[]): number => {
    let m = 0
    for (let i = 0; i < a.length / 3; i++)
      for (let j = i + 1; j < a.length / 3; j++) {
        const da = Math.hypot(a[3 * i]! - a[3 * j]!, a[3 * i + 1]! - a[3 * j + 1]!, a[3 * i + 2]! - a[3 * j + 2]!)
        const db = Math.hypot(b[3 * i]! - b[3 * j]!, b[3 * i + 1]! - b[3 * j + 1]!, b[3 * i + 2]! - b[3 * j + 2]!)
        m = Math.max(m, Math.abs(da - db))
      }
    return m
  }
  expect(await viewerEl().getAttribute('data-hold')).toBe('true')
  const held = await shown()
  expect(maxDistanceChange(held, raw), 'superposition is a rigid motion').toBeLessThan(1e-3)
  expect(rmsd(held, reference), 'Kabsch: no worse than the frame as sampled').toBeLessThanOrEqual(rmsd(raw, reference) + 1e-5)
  await page.getByTestId('viewer-hold').uncheck()
  await expect(viewerEl()).toHaveAttribute('data-hold', 'false')
  await expect.poll(async () => rmsd(await shown(), raw)).toBeLessThan(1e-5)
  await shot('6-run-hold-off')
  await page.getByTestId('viewer-hold').check()
  await expect.poll(async () => rmsd(await shown(), held)).toBeLessThan(1e-5)

  // the observables picked on this molecule before the run are still there; the dihedral's ACF
  const obs = page.getByTestId('picked-observable')
  await expect(obs).toHaveCount(2)
  await obs.first().getByTestId('picked-acf').click()
  const custom = page.getByTestId('acf-plots').locator('[data-acf=custom]')
  await expect(custom).toHaveCount(1, { timeout: 30_000 })
  await expect(page.getByTestId('custom-error')).toHaveCount(0)

  // cursor and click-to-jump on the run's time axis (one frame spans several pixels: exact)
  const ts = page.getByTestId('timeseries')
  await page.getByTestId('viewer-stage').click({ position: { x: 5, y: 5 } })
  await page.keyboard.press('Home')
  await page.keyboard.press('Space')
  await expect.poll(frame, { timeout: 20_000 }).toBeGreaterThan(5)
  await page.keyboard.press('Space')
  await expect(ts).toHaveAttribute('data-cursor-frame', String(await frame()))
  const target = await plotPixelOfFrame(37)
  await page.mouse.click(target.x, target.y)
  await expectFrame(37)
  await expect(ts).toHaveAttribute('data-cursor-frame', '37')
  expect(await cursorPixelsAt(37, '7b-run-timeseries-chart.png'), 'the cursor moved to frame 37').toBeGreaterThan(20)
  await expect(page.getByTestId('viewer-time')).toHaveText(`t = ${37 * dt} ps`)
  await page.getByTestId('run-view').scrollIntoViewIfNeeded()
  await shot('7-run-timeseries')

  // XTC export of replica 0: downloads, reads back within XTC precision (0.005 Å + float32 rounding)
  await page.getByTestId('export-replica').selectOption('0')
  const download = page.waitForEvent('download', { predicate: (dl) => dl.suggestedFilename().endsWith('.xtc') })
  await page.getByTestId('export-xtc').click()
  const dl = await download
  const file = test.info().outputPath(dl.suggestedFilename())
  await dl.saveAs(file)
  await expect(page.getByTestId('export-path')).toContainText('.xtc')
  const xtc = readXtc(new Uint8Array(readFileSync(file)), file)
  expect(xtc.nAtoms).toBe(22)
  expect(xtc.nFrames).toBe(FRAMES)
  let worst = 0
  for (let f = 0; f < FRAMES; f++) for (let i = 0; i < d; i++) worst = Math.max(worst, Math.abs(xtc.frames[f * d + i]! - rows[f * 2 * d + i]!))
  expect(worst).toBeLessThanOrEqual(0.005 + 1e-4)
  expect(xtc.timesPs[FRAMES - 1]).toBeCloseTo((FRAMES - 1) * dt, 4)
  expect(pageErrors).toEqual([])
})
