/**
 * onnxruntime-web WebGPU in headless Chromium against PyTorch CUDA on the same machine (issue 12),
 * ready for the first machine with a GPU: the default bridge sampler (tweedie, M = 10) on the
 * bench's score-MLP (d = 66, 256×3, the bench:nn model, no rigid-body superposition) at R = 1, 64, 1024, through the app's own sampler worker (the
 * component harness, as bench:ui), engine fused (with and without graph capture) and stepwise;
 * bench/torch_cuda.py runs the same loop in PyTorch on CUDA. Prints adapter steps/s side by side.
 *
 *   node scripts/run-ts.mjs bench/webgpu-vs-torch.ts [--replicas 1,64,1024] [--seconds 6]
 *        [--swiftshader] [--no-torch]
 *
 * --swiftshader forces Chromium's CPU emulation of WebGPU (a dry run that checks the script and the
 * worker work; its numbers are this CPU's, not a GPU's). Without it Chromium is asked for the real
 * adapter (Vulkan); the script stops if the adapter it gets is SwiftShader.
 */
import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { chromium } from '@playwright/test'
import { startTestServer } from '../tests/e2e/support/server'
import type { HarnessSamplerResult } from '../src/renderer/harness/sampler-harness'
import type { ArchConfig } from '../src/core/nn/arch'
import { exportModelBytes } from '../src/core/nn/export'
import { fillNormals } from '../src/core/rng/normals'
import { benchModelParams } from './support'

const root = process.cwd()
const argv = process.argv.slice(2)
const arg = (name: string, fallback: string): string => {
  const i = argv.indexOf(`--${name}`)
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : fallback
}
const replicas = arg('replicas', '1,64,1024').split(',').map(Number)
const seconds = Number(arg('seconds', '6'))
const swiftshader = argv.includes('--swiftshader')
const d = 66
const M = 10
const eta = 0.25
const sigmaMin = 0.025

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] })
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed`)
}

// the bench:nn model: default init, output layer small but non-zero
const cfg: ArchConfig = { arch: 'score-mlp', dim: d, width: 256, depth: 3, embDim: 32 }
const params = benchModelParams(cfg)
const modelBase64 = Buffer.from(exportModelBytes(cfg, params, { mean: new Float32Array(d), sigmaData: 0.5 })).toString('base64')
const card = { name: 'bench score-MLP 66→256×3→66', dim: d, aligned: false }

console.error('webgpu-vs-torch: building the app and the component harness…')
run(process.execPath, [path.join(root, 'scripts', 'ensure-built.mjs')])
run(process.execPath, [path.join(root, 'tests', 'e2e', 'components', 'build-harness.mjs')])
const server = await startTestServer()
const flags = swiftshader
  ? ['--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader', '--enable-features=Vulkan', '--use-angle=swiftshader', '--enable-unsafe-swiftshader']
  : ['--enable-unsafe-webgpu', '--enable-features=Vulkan,VulkanFromANGLE,DefaultANGLEVulkan', '--use-angle=vulkan', '--ignore-gpu-blocklist']
const browser = await chromium.launch({ headless: true, executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: [...flags, '--no-first-run', '--disable-background-networking'] })
const rows: Record<string, Record<number, number>> = { fused: {}, 'fused, not captured': {}, stepwise: {} }
let adapter = 'none'
try {
  const page = await browser.newPage()
  page.on('pageerror', (e) => console.error(`page error: ${e.message}`))
  await page.goto(`${server.origin}/harness/index.html`)
  await page.waitForFunction(() => !!window.__harness)
  adapter = await page.evaluate(async () => {
    const gpu = (navigator as unknown as { gpu?: { requestAdapter(o?: unknown): Promise<{ info?: { vendor?: string; architecture?: string; description?: string } } | null> } }).gpu
    const a = gpu ? await gpu.requestAdapter({ powerPreference: 'high-performance' }) : null
    return a ? [a.info?.vendor, a.info?.architecture, a.info?.description].filter(Boolean).join(' ') || 'WebGPU adapter' : 'none'
  })
  if (adapter === 'none') throw new Error('Chromium offers no WebGPU adapter here')
  if (!swiftshader && /swiftshader/i.test(adapter)) throw new Error(`the WebGPU adapter is ${adapter} (CPU emulation), not a GPU: run with --swiftshader for a dry run`)
  const init = new Float32Array(d)
  fillNormals(init, 3, 0, 0)
  const sample = (R: number, engine: 'fused' | 'stepwise', ms: number, frames: number, graphCapture = true): Promise<HarnessSamplerResult> =>
    page.evaluate((req) => window.__harness!.runSampler(req), {
      modelBase64, card, engine, graphCapture, backend: 'webgpu' as const, stopAfterMs: ms,
      init: Array.from({ length: R }, () => Array.from(init, (v) => 0.5 * v)).flat(),
      params: { mode: 'bridge' as const, scheme: 'tweedie' as const, eta, innerSteps: 1, denoiseSteps: M, sigmaMin, replicas: R, frames, seed: 1 },
    })
  await sample(1, 'fused', 0, 3) // warm-up: worker, onnxruntime, shaders
  for (const row of ['fused', 'fused, not captured', 'stepwise'] as const) {
    const engine = row === 'stepwise' ? 'stepwise' : 'fused'
    for (const R of replicas) {
      console.error(`webgpu-vs-torch: WebGPU ${row}, R = ${R}…`)
      const r = await sample(R, engine, seconds * 1000, 1_000_000, row === 'fused')
      if (row === 'fused' && r.result.graphCapture !== true) console.error(`webgpu-vs-torch: graph capture refused (${r.result.graphCaptureRefused ?? 'no reason given'})`)
      rows[row]![R] = r.received - 1 >= 3 ? r.steadyFps : r.result.framesPerSecond
    }
  }
} finally {
  await browser.close()
  await server.stop()
}

let torch: { device: string; torch: string; loop_tweedie10: Record<string, number>; loop_tweedie10_graph?: Record<string, number> } | undefined
if (!argv.includes('--no-torch')) {
  const r = spawnSync('/usr/bin/python3', [path.join(root, 'bench/torch_cuda.py'), '--json', '--seconds', String(seconds), '--batches', replicas.join(',')], { encoding: 'utf8' })
  if (r.status === 0) torch = JSON.parse(r.stdout.trim().split('\n').pop()!)
  else console.log(`(PyTorch CUDA skipped: ${(r.stderr || '').trim().split('\n').pop()})`)
}
console.log(`\nadapter steps/s (frames/s, each frame one adapter step of all R replicas), bridge tweedie M = ${M}; WebGPU adapter: ${adapter}${swiftshader ? ' (SwiftShader: CPU emulation, not GPU numbers)' : ''}${torch ? `; PyTorch ${torch.torch} on ${torch.device}` : ''}\n`)
console.log('| R | WebGPU fused, captured | WebGPU fused, not captured | WebGPU stepwise | PyTorch eager | PyTorch CUDA graph | WebGPU best / PyTorch best |')
console.log('|---|---|---|---|---|---|---|')
for (const R of replicas) {
  const w = Math.max(rows.fused![R] ?? 0, rows['fused, not captured']![R] ?? 0, rows.stepwise![R] ?? 0)
  const te = torch?.loop_tweedie10[String(R)]
  const tg = torch?.loop_tweedie10_graph?.[String(R)]
  const tb = Math.max(te ?? 0, tg ?? 0)
  console.log(`| ${R} | ${(rows.fused![R] ?? NaN).toFixed(1)} | ${(rows['fused, not captured']![R] ?? NaN).toFixed(1)} | ${(rows.stepwise![R] ?? NaN).toFixed(1)} | ${te?.toFixed(1) ?? '–'} | ${tg?.toFixed(1) ?? '–'} | ${tb > 0 ? (w / tb).toFixed(2) : '–'} |`)
}
