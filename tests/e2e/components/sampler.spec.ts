/**
 * The sampler worker in Chromium: onnxruntime-web on WebGPU (SwiftShader adapter) and on WASM, with
 * the fused K-step graph and step by step, gives the same frames for the same seed as the core
 * sampler run in Node on onnxruntime-node (the CLI's path), within float tolerance — including
 * trust-region rejections; stop works; errors are one line.
 */
import { expect, test, type Page } from '@playwright/test'
import * as ortNode from 'onnxruntime-node'
import { startTestServer, type TestServer } from '../support/server'
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { ala2Pdb, buildAll, openHarness, root, watchProblems, type PageProblems } from './support'
import { centred, pdbCoordinates } from './coords'
import { OnnxScoreModel } from '../../../src/core/score/onnx-score'
import { runTrajectory } from '../../../src/core/sampler/runner'
import type { SamplerParams } from '../../../src/core/sampler/params'
import { alignedCovariancePreconditioner } from '../../../src/core/sampler/metropolis'
import { loadTrainingFrames } from '../../../src/services/models/training-data'
import type { HarnessSamplerRequest, HarnessSamplerResult } from '../../../src/renderer/harness/sampler-harness'

let server: TestServer
let problems: PageProblems

test.beforeAll(async () => {
  test.setTimeout(240_000)
  buildAll()
  server = await startTestServer()
})
test.afterAll(async () => {
  await server?.stop()
})
test.beforeEach(async ({ page }) => {
  problems = await watchProblems(page)
})
test.afterEach(() => {
  expect(problems.errors, 'page errors, console errors or CSP violations').toEqual([])
})

const DEFAULT_ONNX = path.join(root, 'resources', 'models', 'ala2-default.onnx')
const R = 2
const F = 6
const params = { mode: 'bridge' as const, eta: 0.01, innerSteps: 1, denoiseSteps: 4, sigmaMin: 0.02, replicas: R, frames: F, seed: 7 }

/** opens the harness and builds the tiny model there (src/core/nn runs in the page) */
async function setup(page: Page) {
  await openHarness(page, server.origin)
  const ref = centred(pdbCoordinates(ala2Pdb()))
  const { modelBase64, card } = await page.evaluate((r) => window.__harness!.tinyModel(r), Array.from(ref))
  const init = new Float32Array(R * ref.length)
  for (let r = 0; r < R; r++) init.set(ref, r * ref.length)
  return { ref, modelBase64, bytes: Buffer.from(modelBase64, 'base64'), card, init }
}

/** the same run in Node with onnxruntime-node and the core sampler (what the CLI does) */
async function nodeRun(bytes: Uint8Array, card: Record<string, unknown>, init: Float32Array, p: SamplerParams): Promise<{ frames: Float32Array; rejections: number[] }> {
  const session = await ortNode.InferenceSession.create(bytes)
  const reference = card.reference ? Float32Array.from(card.reference as number[]) : undefined
  const model = OnnxScoreModel.wrap(ortNode, session, { name: card.name as string, dim: card.dim as number, reference })
  const frames: Float32Array[] = []
  const res = await runTrajectory(model, p, init, { onFrame: (_f, x) => void frames.push(Float32Array.from(x)) })
  await session.release()
  const out = new Float32Array(frames.length * init.length)
  frames.forEach((f, i) => out.set(f, i * init.length))
  return { frames: out, rejections: res.rejections }
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length)
  let m = 0
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!))
  return m
}

const run = (page: Page, req: HarnessSamplerRequest): Promise<HarnessSamplerResult> => page.evaluate((r) => window.__harness!.runSampler(r), req)

// WebGPU runs are slow on SwiftShader (it runs the shipped model's WebGPU graphs on the CPU, ~15 s
// per call on a busy 2-core machine): the shipped model's checks are tests of their own, each with its
// own time limit, and the tiny model's WebGPU run is made there only when the shipped model is absent
const haveDefault = existsSync(DEFAULT_ONNX)

test('the default ala2 model: WebGPU (captured, not captured, without a trust region) and WASM agree with onnxruntime-node', async ({ page }) => {
  test.skip(!haveDefault, 'resources/models/ala2-default.onnx is absent')
  // 2.2 min alone, 3.8 min beside another spec file on the 2 cores (playwright.config.ts workers)
  test.setTimeout(600_000)
  await openHarness(page, server.origin)
  await defaultModel(page)
})

test('the default ala2 model in bridge + Metropolis with the covariance kernel: WebGPU (the test inside the fused, captured graph) and WASM take the accept decisions onnxruntime-node takes', async ({ page }) => {
  test.skip(!haveDefault, 'resources/models/ala2-default.onnx is absent')
  // 2.2 min alone, 3.8 min beside another spec file on the 2 cores (playwright.config.ts workers)
  test.setTimeout(600_000)
  await openHarness(page, server.origin)
  await defaultModelMetropolis(page)
})

// one page (one worker: onnxruntime starts once) for the tiny model's checks, in steps
test('sampler worker: WebGPU/WASM × fused/step-by-step equal the core sampler; trust region; stop; errors', async ({ page }) => {
  test.setTimeout(450_000)
  const requested: string[] = []
  page.on('request', (r) => requested.push(new URL(r.url()).pathname))
  const { bytes, modelBase64, card, init, ref: refCoords } = await setup(page)
  await test.step('fused and step by step, WASM (and WebGPU without the default model), give the frames of runTrajectory on onnxruntime-node', () => sameFrames(page, bytes, modelBase64, card, init, !haveDefault))
  await test.step('WebGPU, 19 steps in one fused call (captured), rigid-body model: the frames of onnxruntime-node', () => manyStepsRun(page, bytes, modelBase64, card, init))
  await test.step('fused K-step path with trust-region rejections (model without rigid-body alignment)', () => trustRegionRun(page, bytes, modelBase64, card, init, refCoords))
  await test.step('Picard windows (WebGPU and WASM) give the sequential frames at tol = 0', () => picardRun(page, bytes, modelBase64, card, init))
  await test.step('stop and errors', () => stopAndErrors(page, modelBase64, card, init))
  // onnxruntime's thread workers load its small .mjs (wasmPaths), not the sampler bundle again
  const count = (re: RegExp) => requested.filter((u) => re.test(u)).length
  // (the plain WebAssembly build for WASM runs, the JSEP build for WebGPU runs)
  expect(count(/ort-wasm-simd-threaded-[\w-]+\.mjs$/)).toBeGreaterThanOrEqual(1)
  expect(count(/ort-wasm-simd-threaded-[\w-]+\.wasm$/)).toBe(1)
  expect(count(/ort-wasm-simd-threaded\.jsep-[\w-]+\.mjs$/)).toBeGreaterThanOrEqual(1)
  expect(count(/ort-wasm-simd-threaded\.jsep-[\w-]+\.wasm$/)).toBe(1)
  // one worker served every run: stopped runs and request errors leave it reusable
  expect(count(/sampler\.worker-[\w-]+\.js$/), `worker scripts: ${requested.filter((u) => u.includes('worker')).join(', ')}`).toBe(1)
})

async function sameFrames(page: Page, bytes: Uint8Array, modelBase64: string, card: Record<string, unknown>, init: Float32Array, withWebgpu: boolean): Promise<void> {
  const base: HarnessSamplerRequest = { modelBase64, card, init: Array.from(init), params, backend: 'wasm', collect: true }
  const wasm = await run(page, { ...base, backend: 'wasm', engine: 'fused' })
  const wasmStep = await run(page, { ...base, backend: 'wasm' })
  const gpu = withWebgpu ? await run(page, { ...base, backend: 'webgpu' }) : undefined
  expect(wasm.result.backend).toBe('wasm')
  expect(wasm.backendDetail).toMatch(/^WASM, [1-4] thread\(s\), fused steps$/)
  expect(wasmStep.result.engine).toBe('stepwise') // WASM's default
  expect(wasmStep.backendDetail).toMatch(/^WASM, [1-4] thread\(s\), step by step$/)
  if (gpu) {
    expect(gpu.result.backend).toBe('webgpu')
    expect(gpu.backendDetail).toMatch(/^WebGPU .*fused steps$/)
  }
  const runs = gpu ? [wasm, wasmStep, gpu] : [wasm, wasmStep]
  for (const r of runs) {
    expect(r.received).toBe(F)
    expect(r.starts[0]).toBe(0)
    expect(r.result.rejections).toEqual([0, 0])
    expect(r.result.framesPerSecond).toBeGreaterThan(0)
    expect(r.frames!.every(Number.isFinite)).toBe(true)
  }
  const d = init.length / R
  // frame 0 is the initial state; the last frame has moved away from it; replicas differ
  expect(maxAbsDiff(wasm.frames!.slice(0, R * d), init)).toBe(0)
  expect(maxAbsDiff(wasm.frames!.slice((F - 1) * R * d), init)).toBeGreaterThan(0.05)
  expect(maxAbsDiff(wasm.frames!.slice((F - 1) * R * d, (F - 1) * R * d + d), wasm.frames!.slice((F - 1) * R * d + d))).toBeGreaterThan(0.01)

  const ref = await nodeRun(bytes, card, init, params)
  const diffs: Record<string, number> = { wasmFused: maxAbsDiff(wasm.frames!, ref.frames), wasmStepwise: maxAbsDiff(wasmStep.frames!, ref.frames) }
  if (gpu) diffs.webgpuFused = maxAbsDiff(gpu.frames!, ref.frames)
  console.log(`max |Δ| vs onnxruntime-node + runTrajectory (Å): ${JSON.stringify(diffs)}; wall ms ${runs.map((r) => r.wallMs.toFixed(0)).join(', ')}`)
  for (const v of Object.values(diffs)) expect(v).toBeLessThan(1e-3)
}

async function manyStepsRun(page: Page, bytes: Uint8Array, modelBase64: string, card: Record<string, unknown>, init: Float32Array): Promise<void> {
  // M = 1: K = min(⌊128 / 2⌋, 19 steps) = 19 frames per call, more than a WebGPU Concat of the frames took in one node
  const p = { ...params, denoiseSteps: 1, frames: 20 }
  const gpu = await run(page, { modelBase64, card, init: Array.from(init), params: p, backend: 'webgpu', collect: true })
  // reads: the explosion marks and the 19 frames after the one call, the marks once more at the end (no trust region)
  expect([gpu.result.engine, gpu.result.graphCapture, gpu.result.readBacks]).toEqual(['fused', true, 3])
  const node = await nodeRun(bytes, card, init, p)
  const diff = maxAbsDiff(gpu.frames!, node.frames)
  console.log(`WebGPU, 19 steps per call: max |Δ| vs onnxruntime-node ${diff.toExponential(2)} Å`)
  expect(diff).toBeLessThan(1e-3)
}

async function trustRegionRun(page: Page, bytes: Uint8Array, modelBase64: string, card: Record<string, unknown>, init: Float32Array, ref: Float32Array): Promise<void> {
  const free = { ...card, aligned: false, reference: undefined }
  // a trust region whose radius is the median whitened distance of the unguarded frames: some
  // steps leave it and are rejected (the replica keeps its frame), others stay inside
  const scale = Array.from(ref, () => 0.1)
  const p0 = { ...params, frames: 9 }
  const free0 = await nodeRun(bytes, free, init, p0)
  const dist: number[] = []
  const d = ref.length
  for (let k = R; k < free0.frames.length / d; k++) {
    let s = 0
    for (let i = 0; i < d; i++) s += ((free0.frames[k * d + i]! - ref[i]!) / scale[i]!) ** 2
    dist.push(Math.sqrt(s))
  }
  dist.sort((a, b) => a - b)
  // the radius lies midway between two sorted distances, so no frame sits on the wall (a frame exactly
  // at the radius would be a coin flip between float32 paths that differ by ~1e-6 Å)
  const m = Math.floor(dist.length / 2)
  const trustRegion = { mean: Array.from(ref), scale, radius: (dist[m - 1]! + dist[m]!) / 2 }
  const p = { ...p0, trustRegion }
  const wasm = await run(page, { modelBase64, card: free, init: Array.from(init), params: p, backend: 'wasm', engine: 'fused', collect: true })
  expect(wasm.result.engine).toBe('fused')
  const node = await nodeRun(bytes, free, init, { ...p, trustRegion: { mean: Float32Array.from(trustRegion.mean), scale: Float32Array.from(trustRegion.scale), radius: trustRegion.radius } })
  const total = node.rejections.reduce((a, b) => a + b, 0)
  console.log(`rejections: node ${JSON.stringify(node.rejections)}, worker ${JSON.stringify(wasm.result.rejections)}`)
  expect(total, 'the trust region must reject some steps for this test to mean anything').toBeGreaterThan(0)
  expect(total, 'and accept some').toBeLessThan(R * (p.frames - 1))
  expect(wasm.result.rejections).toEqual(node.rejections)
  expect(maxAbsDiff(wasm.frames!, node.frames)).toBeLessThan(1e-3)
}

async function picardRun(page: Page, bytes: Uint8Array, modelBase64: string, card: Record<string, unknown>, init: Float32Array): Promise<void> {
  // W = 3 adapter steps per window, tol 0: every frame is iterated until it is the sequential one
  const p = { ...params, parallel: { kind: 'picard' as const, window: 3, tol: 0 } }
  const base: HarnessSamplerRequest = { modelBase64, card, init: Array.from(init), params: p, backend: 'wasm', collect: true }
  const seq = await nodeRun(bytes, card, init, params)
  for (const backend of ['webgpu', 'wasm'] as const) {
    const r = await run(page, { ...base, backend })
    expect(r.result.backend).toBe(backend)
    expect(r.result.engine).toBe('stepwise')
    expect(r.received).toBe(F)
    // F − 1 = 5 steps in windows of 3: at least ⌈5/3⌉ sweeps, at most W per step
    expect(r.result.sweeps).toBeGreaterThanOrEqual(2)
    expect(r.result.sweeps).toBeLessThanOrEqual(3 * (F - 1))
    const diff = maxAbsDiff(r.frames!, seq.frames)
    console.log(`Picard W = 3 on ${backend}: ${r.result.sweeps} sweeps, max |Δ| vs sequential onnxruntime-node ${diff.toExponential(2)} Å`)
    expect(diff).toBeLessThan(1e-3)
  }
}

async function stopAndErrors(page: Page, modelBase64: string, card: Record<string, unknown>, init: Float32Array): Promise<void> {
  const req: HarnessSamplerRequest = { modelBase64, card, init: Array.from(init), params: { ...params, frames: 100_000 }, backend: 'wasm', stopAfterFrames: 3 }
  const stopped = await run(page, req)
  expect(stopped.result.stopped).toBe(true)
  expect(stopped.received).toBeGreaterThanOrEqual(3)
  expect(stopped.received).toBeLessThan(1000)

  const fail = (r: HarnessSamplerRequest) => page.evaluate((x) => window.__harness!.runSampler(x).then(() => 'no error', (e: Error) => e.message), r)
  const bad = await fail({ ...req, params: { ...params, eta: -1 } })
  expect(bad).toMatch(/^eta = DΔt .* must be a positive number/)
  expect(bad).not.toContain('\n')
  expect(await fail({ ...req, init: [1, 2, 3] })).toMatch(/^initial positions hold 3 numbers, expected replicas × d = 2 × 66/)
  // and the same worker runs the next request
  const after = await run(page, { ...req, params, stopAfterFrames: undefined })
  expect(after.received).toBe(F)
}


async function defaultModel(page: Page): Promise<void> {
  const bytes = readFileSync(DEFAULT_ONNX)
  const card = JSON.parse(readFileSync(DEFAULT_ONNX.replace(/\.onnx$/, '.card.json'), 'utf8')) as Record<string, unknown> & { reference: number[]; trustRegion: { mean: number[]; scale: number[]; radius: number } }
  const init = Float32Array.from([...card.reference, ...card.reference])
  // the bench:fidelity settings (bench/RESULTS.md): D = 0.0499 Å²/ps, Δt = 5 ps per adapter step, M = 20, σ_min = 0.026 Å;
  // 4 adapter steps per saved frame, so the fused engine's calls (K = ⌊128/40⌋ = 3 steps) end between saved frames
  const p = { mode: 'bridge' as const, eta: 0.0499 * 5, innerSteps: 4, denoiseSteps: 20, sigmaMin: 0.026, replicas: 2, frames: 2, seed: 3 }
  const base: HarnessSamplerRequest = { modelBase64: bytes.toString('base64'), card, init: Array.from(init), params: p, backend: 'wasm', collect: true }
  const wasm = await run(page, base)
  const gpu = await run(page, { ...base, backend: 'webgpu' })
  expect([wasm.result.backend, gpu.result.backend]).toEqual(['wasm', 'webgpu'])
  expect([wasm.result.engine, gpu.result.engine]).toEqual(['stepwise', 'fused'])
  // the state stays in GPU buffers between the two calls (steps 1–3, then 4): one read of the saved
  // frame and one of the trust-region counters at the end, none after the first call
  expect(gpu.result.readBacks).toBe(2)
  expect(gpu.result.stateLocation).toBe('gpu-buffer')
  // and the calls replayed a captured graph (onnxruntime recorded the GPU commands once)
  expect(gpu.result.graphCaptureRefused).toBeUndefined()
  expect(gpu.result.graphCapture).toBe(true)
  // the same without graph capture: output tensors passed from call to call. This run and the one
  // without a trust region take M = 5 (one call of 4 steps): SwiftShader's time grows with the graph
  const small = { ...p, denoiseSteps: 5 }
  const gpuPlain = await run(page, { ...base, params: small, backend: 'webgpu', graphCapture: false })
  expect([gpuPlain.result.engine, gpuPlain.result.graphCapture, gpuPlain.result.stateLocation, gpuPlain.result.readBacks]).toEqual(['fused', false, 'gpu-buffer', 2])
  const tr = card.trustRegion
  const trustRegion = { mean: Float32Array.from(tr.mean), scale: Float32Array.from(tr.scale), radius: tr.radius }
  const node = await nodeRun(bytes, card, init, { ...p, trustRegion })
  const nodeSmall = await nodeRun(bytes, card, init, { ...small, trustRegion })
  for (const r of [wasm, gpu]) {
    expect(r.received).toBe(p.frames)
    expect(r.frames!.every(Number.isFinite)).toBe(true)
    expect(r.result.rejections).toEqual(node.rejections)
  }
  // without a trust region the graph tests for explosions instead (its other per-step rule), on WebGPU too
  const free = { ...card, trustRegion: undefined }
  const gpuFree = await run(page, { ...base, params: small, card: free, backend: 'webgpu' })
  expect(gpuFree.result.engine).toBe('fused')
  const nodeFree = await nodeRun(bytes, free, init, small)
  const diffs = { wasm: maxAbsDiff(wasm.frames!, node.frames), webgpu: maxAbsDiff(gpu.frames!, node.frames), webgpuNoTrustRegion: maxAbsDiff(gpuFree.frames!, nodeFree.frames), webgpuNotCaptured: maxAbsDiff(gpuPlain.frames!, nodeSmall.frames) }
  console.log(`default model, max |Δ| vs onnxruntime-node (Å): ${JSON.stringify(diffs)}; frames/s WASM ${wasm.result.framesPerSecond.toFixed(2)}, WebGPU ${gpu.result.framesPerSecond.toFixed(2)}`)
  expect(diffs.wasm).toBeLessThan(1e-3)
  expect(diffs.webgpu).toBeLessThan(1e-3)
  expect(diffs.webgpuNoTrustRegion).toBeLessThan(1e-3)
  expect(diffs.webgpuNotCaptured).toBeLessThan(1e-3)
  expect(gpuPlain.result.rejections).toEqual(nodeSmall.rejections)
  // the frames moved (Δt = 5 ps is a large step for ala2)
  expect(maxAbsDiff(wasm.frames!.slice(-init.length), init)).toBeGreaterThan(0.1)
}

/** bridge-mh with the covariance down kernel (V from 512 training snapshots, aligned in the worker) on both backends */
async function defaultModelMetropolis(page: Page): Promise<void> {
  const bytes = readFileSync(DEFAULT_ONNX)
  const card = JSON.parse(readFileSync(DEFAULT_ONNX.replace(/\.onnx$/, '.card.json'), 'utf8')) as Record<string, unknown> & { reference: number[]; trustRegion: { mean: number[]; scale: number[]; radius: number } }
  const d = card.reference.length
  const snaps = await loadTrainingFrames(path.join(root, 'resources', 'examples', 'ala2', 'ala2_snapshots_all.pdb.gz'))
  const n = 512
  const mhFrames = Float32Array.from(snaps.frames.subarray(0, n * d))
  const R = 4
  const init = new Float32Array(R * d)
  for (let r = 0; r < R; r++) init.set(snaps.frames.subarray((1000 + 997 * r) * d, (1001 + 997 * r) * d), r * d)
  // 0.5 ps per step, M = 10: the covariance kernel accepts ~25 % from snapshots (bench/RESULTS.md)
  const p = { mode: 'bridge-mh' as const, mhKernel: 'covariance' as const, eta: 0.0499 * 0.5, innerSteps: 2, denoiseSteps: 10, sigmaMin: 0.026, replicas: R, frames: 4, seed: 3 }
  const base: HarnessSamplerRequest = { modelBase64: bytes.toString('base64'), card, init: Array.from(init), params: p, backend: 'wasm', collect: true, mhFramesBase64: Buffer.from(mhFrames.buffer).toString('base64') }
  const wasm = await run(page, base)
  const gpu = await run(page, { ...base, backend: 'webgpu' })
  expect([wasm.result.backend, gpu.result.backend]).toEqual(['wasm', 'webgpu'])
  // on WebGPU the Metropolis test runs inside the fused, captured graph (K = ⌊128/22⌋ = 5 steps per call, 2 calls)
  expect([wasm.result.engine, gpu.result.engine, gpu.result.graphCapture]).toEqual(['stepwise', 'fused', true])
  // reads: the saved frames after each call (2), then the rejections and the acceptance counts at the end
  expect(gpu.result.readBacks).toBe(4)
  // the same run in Node: the core sampler with the preconditioner the worker builds
  const session = await ortNode.InferenceSession.create(bytes)
  const tr = card.trustRegion
  const reference = Float32Array.from(card.reference)
  const model = OnnxScoreModel.wrap(ortNode, session, { name: card.name as string, dim: d, reference })
  const nodeFrames: Float32Array[] = []
  const node = await runTrajectory(model, { ...p, trustRegion: { mean: Float32Array.from(tr.mean), scale: Float32Array.from(tr.scale), radius: tr.radius } }, init, { mhPreconditioner: alignedCovariancePreconditioner(mhFrames, n, d, reference), onFrame: (_f, x) => void nodeFrames.push(Float32Array.from(x)) })
  await session.release()
  const flat = new Float32Array(nodeFrames.length * init.length)
  nodeFrames.forEach((f, i) => flat.set(f, i * init.length))
  const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length
  console.log(`bridge-mh covariance, acceptance node ${mean(node.acceptance!).toFixed(3)}, WASM ${mean(wasm.result.acceptance!).toFixed(3)}, WebGPU ${mean(gpu.result.acceptance!).toFixed(3)}; max |Δ| vs node WASM ${maxAbsDiff(wasm.frames!, flat).toExponential(2)}, WebGPU ${maxAbsDiff(gpu.frames!, flat).toExponential(2)} Å`)
  for (const r of [wasm, gpu]) {
    expect(r.received).toBe(p.frames)
    // the same accept decisions (float32 differences between backends move ln α by ~10⁻⁴; a flip needs u within that of α)
    expect(r.result.acceptance).toEqual(node.acceptance)
    expect(maxAbsDiff(r.frames!, flat)).toBeLessThan(1e-3)
  }
  // some steps were accepted and some frames moved
  expect(mean(node.acceptance!)).toBeGreaterThan(0)
  expect(maxAbsDiff(flat.subarray(flat.length - init.length), init)).toBeGreaterThan(0.01)
}
