/**
 * UI throughput in Chromium (npm run bench:ui): the sampler worker (onnxruntime-web) on WebGPU and
 * WASM for the default ala2 model with R = 1, 16, 256 replicas, and NGL playback of a 10⁴-frame
 * ala2 trajectory. Browser mode is started like the e2e tests (tests/e2e/support/server.ts) and the
 * component harness (src/renderer/harness) is built with the app's renderer config.
 *
 * Headless Chromium here renders WebGL and WebGPU with SwiftShader (a CPU rasteriser/compute
 * emulation), so the WebGPU and NGL numbers describe this machine's CPU, not a real GPU.
 * Prints markdown tables. Options: --seconds N (per sampler measurement, default 6),
 * --replicas 1,16,256, --backends webgpu,wasm, --ngl-seconds N (default 5), --mode bridge|bridge-mh
 * (bridge-mh: the Metropolis-corrected step with the covariance kernel from the shipped snapshots,
 * Δt 0.5 ps, M = 10; both engines at every R).
 */
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { chromium } from '@playwright/test'
import { startTestServer } from '../tests/e2e/support/server'
import type { HarnessSamplerResult } from '../src/renderer/harness/sampler-harness'
import { loadTrainingFrames } from '../src/services/models/training-data'

const root = process.cwd()
if (!existsSync(path.join(root, 'package.json'))) throw new Error('run from the repository root (npm run bench:ui)')

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback
}
const seconds = Number(arg('seconds', '6'))
const replicaList = arg('replicas', '1,16,256').split(',').map(Number)
const backends = arg('backends', 'webgpu,wasm').split(',') as ('webgpu' | 'wasm')[]
const nglSeconds = Number(arg('ngl-seconds', '5'))
const mode = arg('mode', 'bridge') as 'bridge' | 'bridge-mh'

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] })
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed`)
}

function table(head: string[], rows: string[][]): string {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n')
}

const f = (x: number): string => (x >= 100 ? Math.round(x).toLocaleString('en-US') : x >= 10 ? x.toFixed(1) : x.toPrecision(3))

async function main(): Promise<void> {
  console.error('bench:ui: building the app and the component harness…')
  run(process.execPath, [path.join(root, 'scripts', 'ensure-built.mjs')])
  run(process.execPath, [path.join(root, 'tests', 'e2e', 'components', 'build-harness.mjs')])
  const server = await startTestServer()
  const browser = await chromium.launch({
    headless: true,
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader', '--enable-features=Vulkan', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--ignore-gpu-blocklist', '--no-first-run', '--disable-background-networking'],
  })
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 880 } })
    page.on('pageerror', (e) => console.error(`page error: ${e.message}`))
    await page.goto(`${server.origin}/harness/index.html`)
    await page.waitForFunction(() => !!window.__harness)
    const env = await page.evaluate(async () => {
      const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<{ info?: { vendor?: string; architecture?: string; description?: string } } | null> } }).gpu
      const a = gpu ? await gpu.requestAdapter() : null
      const c = document.createElement('canvas').getContext('webgl2')
      const dbg = c?.getExtension('WEBGL_debug_renderer_info')
      return {
        ua: navigator.userAgent.match(/Chrom(e|ium)\/[\d.]+/)?.[0] ?? navigator.userAgent,
        webgpu: a ? [a.info?.vendor, a.info?.architecture, a.info?.description].filter(Boolean).join(' ') : 'none',
        webgl: c && dbg ? String(c.getParameter(dbg.UNMASKED_RENDERER_WEBGL)) : 'unknown',
        isolated: crossOriginIsolated,
        cores: navigator.hardwareConcurrency,
      }
    })

    // ------------------------------------------------------------- the model
    const onnx = path.join(root, 'resources', 'models', 'ala2-default.onnx')
    let modelBase64: string
    let card: Record<string, unknown>
    let modelName: string
    if (existsSync(onnx)) {
      modelBase64 = readFileSync(onnx).toString('base64')
      card = JSON.parse(readFileSync(onnx.replace(/\.onnx$/, '.card.json'), 'utf8')) as Record<string, unknown>
      const a = card.architecture as { width?: number; depth?: number }
      modelName = `resources/models/ala2-default.onnx (${String(card.arch ?? "score-mlp")} 66→${a.width}×${a.depth}→66)`
    } else {
      const pdb = readFileSync(path.join(root, 'resources', 'examples', 'ala2', 'ala2_reference.pdb'), 'utf8')
      const xs: number[] = []
      for (const l of pdb.split('\n')) if (l.startsWith('ATOM')) xs.push(Number(l.slice(30, 38)), Number(l.slice(38, 46)), Number(l.slice(46, 54)))
      ;({ modelBase64, card } = await page.evaluate((r) => window.__harness!.tinyModel(r), xs))
      modelName = 'tiny random score-MLP 66→64×2→66 (default model not built)'
    }
    const reference = (card.reference ?? card.mean) as number[]
    // the bench:fidelity settings (bench/RESULTS.md): D = 0.0499 Å²/ps, Δt = 5 ps per frame, M = 20, σ_min = 0.026 Å
    // bridge-mh: Δt 0.5 ps, M = 10, the covariance kernel from 512 shipped snapshots (the e2e spec's settings)
    const params =
      mode === 'bridge-mh'
        ? { mode, mhKernel: 'covariance' as const, eta: 0.0499 * 0.5, innerSteps: 1, denoiseSteps: 10, sigmaMin: 0.026, frames: 1_000_000, seed: 1 }
        : { mode, eta: 0.0499 * 5, innerSteps: 1, denoiseSteps: 20, sigmaMin: 0.026, frames: 1_000_000, seed: 1 }
    const mhFramesBase64 =
      mode === 'bridge-mh' ? Buffer.from(Float32Array.from((await loadTrainingFrames(path.join(root, 'resources', 'examples', 'ala2', 'ala2_snapshots_all.pdb.gz'))).frames.subarray(0, 512 * reference.length)).buffer).toString('base64') : undefined
    const sample = (backend: 'webgpu' | 'wasm', R: number, ms: number, frames = params.frames, engine: 'auto' | 'fused' | 'stepwise' = 'auto'): Promise<HarnessSamplerResult> =>
      page.evaluate((req) => window.__harness!.runSampler(req), {
        engine,
        modelBase64,
        card,
        init: Array.from({ length: R }, () => reference).flat(),
        params: { ...params, replicas: R, frames },
        backend,
        stopAfterMs: ms,
        ...(mhFramesBase64 ? { mhFramesBase64 } : {}),
      })

    const rows: string[][] = []
    const measure = async (backend: 'webgpu' | 'wasm', R: number, engine: 'auto' | 'fused' | 'stepwise' = 'auto'): Promise<void> => {
      console.error(`bench:ui: ${backend}, R = ${R}, engine ${engine}…`)
      const r = await sample(backend, R, seconds * 1000, params.frames, engine)
      // steady rate once the first frame is out; when a single call outlasts the window, the
      // engine's own rate (first call's shader compilation included) is all there is
      const steady = r.received - 1 >= 3
      const fps = steady ? r.steadyFps : r.result.framesPerSecond
      const acc = r.result.acceptance ? ` (acc. ${(r.result.acceptance.reduce((a, b) => a + b, 0) / R).toFixed(2)})` : ''
      rows.push([backend === 'webgpu' ? 'WebGPU' : 'WASM', r.backendDetail, String(R), String(r.received - 1), f(fps) + (steady ? '' : ' *'), f(fps * R), fps > 0 ? f(1000 / fps) : '–', String(r.result.rejections.reduce((a, b) => a + b, 0)) + acc, (r.startupMs / 1000).toFixed(1)])
    }
    for (const backend of backends) {
      console.error(`bench:ui: ${backend} warm-up…`)
      const warm = await sample(backend, 1, 0, 3)
      if (warm.result.backend !== backend) throw new Error(`asked for ${backend}, got ${warm.result.backend}`)
      for (const R of replicaList) await measure(backend, R)
      // the engine 'auto' did not pick (WebGPU: fused, WASM: step by step), for comparison
      for (const R of (mode === 'bridge-mh' ? replicaList : [1, 256]).filter((r) => replicaList.includes(r))) await measure(backend, R, backend === 'webgpu' ? 'stepwise' : 'fused')
    }

    // ------------------------------------------------------------- NGL playback
    console.error('bench:ui: NGL playback of 10⁴ frames…')
    const pdb = readFileSync(path.join(root, 'resources', 'examples', 'ala2', 'ala2_reference.pdb'), 'utf8')
    await page.evaluate((p) => window.__harness!.showViewer({ pdb: p }), pdb)
    await page.evaluate(() => window.__harness!.syntheticFrames(10_000, 1))
    const render = await page.evaluate(() => window.__harness!.benchRender(300))
    const playback = await page.evaluate((ms) => window.__harness!.benchPlayback(ms), nglSeconds * 1000)
    const raf = await page.evaluate(
      () =>
        new Promise<number>((resolve) => {
          let n = 0
          const t0 = performance.now()
          const tick = () => (++n < 60 ? requestAnimationFrame(tick) : resolve((n * 1000) / (performance.now() - t0)))
          requestAnimationFrame(tick)
        })
    )

    const load = os.loadavg()[0]!.toFixed(1)
    console.log(`## UI benchmark (npm run bench:ui)\n`)
    console.log(`${env.ua} headless; WebGPU adapter: ${env.webgpu}; WebGL: ${env.webgl}.`)
    console.log(`**SwiftShader: WebGPU and WebGL are emulated on the CPU — these are not GPU numbers.** ${env.cores} logical cores, load average ${load} at the end, crossOriginIsolated ${env.isolated}.\n`)
    console.log(`### Sampler worker (onnxruntime-web), ${modelName}`)
    console.log(`Engine: 'auto' (rows 1–3 of each backend; WebGPU fused K-step graph, WASM one run per denoising step) and the other one for comparison. Mode ${params.mode}${mode === 'bridge-mh' ? ' (covariance kernel, acceptance per row)' : ''}, M = ${params.denoiseSteps} denoising steps per frame (η = ${params.eta.toFixed(4)} Å², σ_min = ${params.sigmaMin} Å), ${seconds} s per row after the first frame; frames/s = saved frames (all replicas together) per second, replica-frames/s = × R.\n`)
    console.log(table(['backend', 'engine', 'R', 'frames', 'frames/s', 'replica-frames/s', 'ms/frame', 'rejections', 'start s (open + first call)'], rows))
    if (rows.some((r) => r[4]!.endsWith('*'))) console.log('\n\\* fewer than 3 frames in the window: rate over the whole run, first call (shader compilation) included.')
    console.log(`\n### NGL playback, ala2 (22 atoms, licorice), 10⁴ frames in memory\n`)
    console.log(
      table(
        ['measure', 'frames/s'],
        [
          ['setFrame (Kabsch superposition + updatePosition) + synchronous render, 300 frames', f(render.fps)],
          [`playback at the highest rate offered (240 fps requested), ${playback.seconds.toFixed(1)} s: screen updates (distinct frames drawn)`, f(playback.fps)],
          ['  the same: trajectory frames advanced (frames in between are skipped, as at any rate above the screen’s)', f(playback.advanced)],
          ['requestAnimationFrame rate of the page (upper bound for playback)', f(raf)],
        ]
      )
    )
  } finally {
    await browser.close()
    await server.stop()
  }
}

main().catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})
