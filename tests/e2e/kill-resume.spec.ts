/**
 * Nothing lost in browser mode: a run sampling in the page (onnxruntime-web, WASM) is cut off by a
 * real kill -9 of BOTH the server process and the Chromium process once at least 60 frames
 * are on disk (the run is long enough that this is well before its end). A new server on the same project home and a new browser then resume the run from the app
 * (the Resume button). Its frames.f32 must be byte-identical to a run with the same settings that
 * was never interrupted: every frame once, in order, none lost, none duplicated.
 */
import { chromium, expect, test, type Browser, type Page } from '@playwright/test'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import config from '../../playwright.config'

const FRAMES = 3000
const REPLICAS = 2
const SEED = 7
/** bytes per stored frame: replicas × 22 atoms × 3 × float32 (the shipped ala2 model) */
const ROW = REPLICAS * 66 * 4

interface Server {
  child: ChildProcess
  url: string
}

function startServer(home: string): Promise<Server> {
  const child = spawn(process.execPath, [path.resolve('out/serve/server.mjs'), '--no-open', '--home', home], { stdio: ['ignore', 'pipe', 'pipe'] })
  let log = ''
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start within 60 s:\n${log}`)), 60_000)
    child.stdout!.on('data', (d: Buffer) => {
      log += d.toString()
      const m = /DiffMD Studio at (http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)/.exec(log)
      if (m) {
        clearTimeout(timer)
        resolve({ child, url: m[1]! })
      }
    })
    child.stderr!.on('data', (d: Buffer) => (log += d.toString()))
    child.on('exit', (code) => reject(new Error(`server exited with ${code}:\n${log}`)))
  })
}

function killed(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    child.once('exit', () => resolve())
    child.kill('SIGKILL')
  })
}

const runsDir = (home: string): string => path.join(home, 'projects', 'examples', 'runs')
const runIds = (home: string): string[] => readdirSync(runsDir(home)).filter((n) => !n.startsWith('.')).sort()
function framesOnDisk(home: string, id: string): number {
  try {
    return Math.floor(statSync(path.join(runsDir(home), id, 'frames.f32')).size / ROW)
  } catch {
    return 0
  }
}

/** opens the Examples project's sampler with this test's settings (WASM backend, fixed seed) */
async function openSampler(page: Page, url: string): Promise<void> {
  await page.goto(url)
  await page.getByTestId('projects').getByText('Examples').click()
  await expect(page.getByTestId('project-view')).toContainText('Examples')
  await page.getByTestId('tab-sample').click()
  await page.getByTestId('params-reset').click()
  await page.getByTestId('param-backend').selectOption('wasm')
  await page.getByTestId('param-replicas').fill(String(REPLICAS))
  await page.getByTestId('param-frames').fill(String(FRAMES))
  await page.getByTestId('param-seed').fill(String(SEED))
}

async function waitFinished(page: Page): Promise<void> {
  await expect(page.getByTestId('run-progress')).toHaveAttribute('data-state', 'finished', { timeout: 300_000 })
}

test('kill -9 of the server and the browser mid-run, restart, resume: frames byte-identical to an uninterrupted run', async ({ browser }) => {
  test.setTimeout(900_000)
  const home = mkdtempSync(path.join(tmpdir(), 'diffmd-e2e-kill-'))
  let server: Server | undefined
  let victim: Browser | undefined
  try {
    // ---- the run that will be killed: its own Chromium process, so it can be killed for real ----
    server = await startServer(home)
    const launch = config.use?.launchOptions ?? {}
    const browserServer = await chromium.launchServer({ executablePath: launch.executablePath, args: launch.args, headless: true })
    victim = await chromium.connect(browserServer.wsEndpoint())
    const page1 = await victim.newPage()
    await openSampler(page1, server.url)
    await page1.getByTestId('run-start').click()
    await expect.poll(() => runIds(home).length, { timeout: 60_000 }).toBe(1)
    const id = runIds(home)[0]!
    // past the first checkpoint (the app checkpoints every 50 frames and flushes every 64 frames or 400 ms)
    await expect.poll(() => framesOnDisk(home, id), { timeout: 300_000, intervals: [20] }).toBeGreaterThanOrEqual(60)
    await Promise.all([killed(server.child), killed(browserServer.process())])
    victim = undefined
    const atKill = framesOnDisk(home, id)
    expect(atKill).toBeGreaterThanOrEqual(60)
    expect(atKill).toBeLessThan(FRAMES)
    test.info().annotations.push({ type: 'killed at', description: `${atKill} of ${FRAMES} frames on disk` })
    const run = JSON.parse(readFileSync(path.join(runsDir(home), id, 'run.json'), 'utf8')) as { status: string }
    expect(run.status).toBe('running')

    // ---- a new server on the same home and a new browser: resume from the app ----
    server = await startServer(home)
    const page2 = await browser.newPage()
    await openSampler(page2, server.url)
    await page2.getByTestId('run-list').getByTestId('run-item').first().click()
    await page2.getByTestId('run-resume').click()
    await waitFinished(page2)
    expect(framesOnDisk(home, id)).toBe(FRAMES)

    // ---- the same settings, never interrupted ----
    await page2.getByTestId('run-start').click()
    await expect.poll(() => runIds(home).length, { timeout: 60_000 }).toBe(2)
    await waitFinished(page2)
    const ref = runIds(home).find((r) => r !== id)!
    const a = readFileSync(path.join(runsDir(home), id, 'frames.f32'))
    const b = readFileSync(path.join(runsDir(home), ref, 'frames.f32'))
    expect(a.length).toBe(FRAMES * ROW)
    expect(b.length).toBe(FRAMES * ROW)
    let firstDiff = -1
    for (let i = 0; i < a.length && firstDiff < 0; i++) if (a[i] !== b[i]) firstDiff = i
    // -1: identical; otherwise the frame where they part
    expect(firstDiff === -1 ? -1 : Math.floor(firstDiff / ROW)).toBe(-1)
    await page2.close()
  } finally {
    if (victim) await victim.close().catch(() => undefined)
    if (server) await killed(server.child)
    rmSync(home, { recursive: true, force: true })
  }
})
