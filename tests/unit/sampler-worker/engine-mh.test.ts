/**
 * The worker's engine in mode bridge-mh (Metropolis-corrected) on onnxruntime-node, with both
 * engines: step by step it gives the core sampler's frames and per-replica acceptance for the same
 * seed bit for bit (the same code over the same session outputs); fused (the Metropolis test inside
 * the K-step graph) it gives the same accept decisions, hence the same acceptance, and frames equal
 * within float32 rounding (the graph sums the path's log ratio in float32 in another order: the
 * decisions could differ only where ln u lies within ~1e-5 of ln α, and they do not here). Both
 * resume from their checkpoints to the same acceptance, and a score-only model is refused.
 */
import { describe, expect, it } from 'vitest'
import * as ort from 'onnxruntime-node'
import { cpuEngine, mhPreconditionerOf, openEngine, WASM_FUSED_MH_REPLICAS, type EngineInput } from '../../../src/renderer/src/sampler/engine'
import { covariancePreconditioner } from '../../../src/core/sampler/metropolis'
import { exportModelBytes } from '../../../src/core/nn/export'
import { initParams, paramDefs, type ArchConfig } from '../../../src/core/nn/arch'
import { fillNormals } from '../../../src/core/rng/normals'
import { OnnxScoreModel } from '../../../src/core/score/onnx-score'
import { runTrajectory } from '../../../src/core/sampler/runner'
import type { SamplerParams } from '../../../src/core/sampler/params'
import type { OrtRuntime } from '../../../src/core/nn/runtime'
import type { ClientSamplerParams } from '../../../src/renderer/src/sampler/protocol'
import { worstFrameDiff } from './helpers'

const rt = ort as unknown as OrtRuntime
const d = 6
const R = 3

/** a small energy-mlp with random (seeded) weights everywhere, the output layer included */
function tinyEnergy(arch: 'energy-mlp' | 'score-mlp' = 'energy-mlp'): Uint8Array {
  const cfg: ArchConfig = { arch, dim: d, width: 16, depth: 2, embDim: 8 }
  const params = initParams(cfg, 3)
  paramDefs(cfg).forEach((def, i) => {
    if (def.name === 'wo') {
      const w = params[i]!
      fillNormals(w, 4, 0, 0)
      for (let k = 0; k < w.length; k++) w[k]! *= 0.5 / Math.sqrt(def.fanIn)
    }
  })
  return exportModelBytes(cfg, params, { mean: new Float32Array(d), sigmaData: 0.5 })
}

const card = { format: 'diffmd-model-card', version: 1, name: 'tiny-energy', dim: d, aligned: false, sigmaData: 0.5, sigmaRange: [0.005, 5] }
const params: ClientSamplerParams = { mode: 'bridge-mh', eta: 0.02, innerSteps: 2, denoiseSteps: 4, sigmaMin: 0.02, replicas: R, frames: 9, seed: 3 }
const init = new Float32Array(R * d).map((_, i) => 0.2 * Math.sin(1.3 * i))

async function engineRun(bytes: Uint8Array, extra: Partial<EngineInput> = {}) {
  const eng = await openEngine(rt, { model: bytes, card, init, params, ...extra }, {})
  const frames: Float32Array[] = []
  const checkpoints: string[] = []
  try {
    const result = await eng.run({
      signal: new AbortController().signal,
      flushMs: 0,
      emitFrames: (_s, n, data) => {
        for (let k = 0; k < n; k++) frames.push(data.slice((k * data.length) / n, ((k + 1) * data.length) / n))
      },
      emitCheckpoint: (j) => void checkpoints.push(j),
    })
    return { engine: eng.engine, reason: eng.fallbackReason, result, frames, checkpoints }
  } finally {
    await eng.release()
  }
}

describe('sampler worker engine, mode bridge-mh', () => {
  it('equals the core sampler, acceptance included: step by step bit for bit, fused (the default) within float32 rounding', async () => {
    const bytes = tinyEnergy()
    const session = await ort.InferenceSession.create(bytes)
    const model = OnnxScoreModel.wrap(rt, session, { name: 'tiny-energy', dim: d })
    expect(model.hasEnergy).toBe(true)
    const core: Float32Array[] = []
    const res = await runTrajectory(model, params as SamplerParams, init, { onFrame: (_f, x) => void core.push(Float32Array.from(x)) })
    await session.release()
    const run = await engineRun(bytes, { checkpointEvery: 4, engine: 'stepwise' })
    expect(run.engine).toBe('stepwise')
    expect(run.frames.length).toBe(core.length)
    for (let f = 0; f < core.length; f++) expect(Array.from(run.frames[f]!)).toEqual(Array.from(core[f]!))
    expect(run.result.acceptance).toEqual(res.acceptance)
    // fused: the engine's default here; the same decisions, frames within float32 rounding
    const fused = await engineRun(bytes, { checkpointEvery: 4 })
    expect(fused.engine).toBe('fused')
    expect(worstFrameDiff(fused.frames, core)).toBeLessThan(1e-5)
    expect(fused.result.acceptance).toEqual(res.acceptance)
    expect(JSON.parse(fused.checkpoints[0]!).accepted).toEqual(JSON.parse(run.checkpoints[0]!).accepted)
    const fusedResumed = await engineRun(bytes, { resumeFrom: fused.checkpoints[0] })
    expect(worstFrameDiff(fusedResumed.frames.slice(-1), core.slice(-1))).toBeLessThan(1e-5)
    expect(fusedResumed.result.acceptance).toEqual(res.acceptance)
    // the model is far from exact: acceptance strictly between 0 and 1 for the run as a whole
    const mean = res.acceptance!.reduce((a, b) => a + b, 0) / R
    expect(mean).toBeGreaterThan(0)
    expect(mean).toBeLessThan(1)
    // resuming from the frame-4 checkpoint reproduces the last frames and the whole run's acceptance
    const resumed = await engineRun(bytes, { resumeFrom: run.checkpoints[0], engine: 'stepwise' })
    expect(Array.from(resumed.frames[resumed.frames.length - 1]!)).toEqual(Array.from(core[core.length - 1]!))
    expect(resumed.result.acceptance).toEqual(res.acceptance)
  })

  it('runs the covariance down kernel from the frames it is handed: the core sampler\'s frames and acceptance, resumes exactly, refuses without frames', async () => {
    const bytes = tinyEnergy()
    // frames with a stiff and a soft direction, as the dataset's would be
    const n = 64
    const mhFrames = new Float32Array(n * d)
    const z = new Float32Array(n * d)
    fillNormals(z, 11, 0, 0)
    for (let f = 0; f < n; f++) for (let k = 0; k < d; k++) mhFrames[f * d + k] = (k % 2 === 0 ? 0.05 : 0.5) * z[f * d + k]! + 0.1 * z[f * d + ((k + 1) % d)]!
    const cov: ClientSamplerParams = { ...params, mhKernel: 'covariance' }
    const session = await ort.InferenceSession.create(bytes)
    const model = OnnxScoreModel.wrap(rt, session, { name: 'tiny-energy', dim: d })
    const core: Float32Array[] = []
    const ref = await runTrajectory(model, cov as SamplerParams, init, { mhPreconditioner: covariancePreconditioner(mhFrames, n, d), onFrame: (_f, x) => void core.push(Float32Array.from(x)) })
    let emLast = new Float32Array(0)
    await runTrajectory(model, params as SamplerParams, init, { onFrame: (_f, x) => void (emLast = Float32Array.from(x)) })
    await session.release()
    const run = await engineRun(bytes, { params: cov, mhFrames, checkpointEvery: 4, engine: 'stepwise' })
    expect(run.engine).toBe('stepwise')
    expect(run.frames.length).toBe(core.length)
    for (let f = 0; f < core.length; f++) expect(Array.from(run.frames[f]!)).toEqual(Array.from(core[f]!))
    expect(run.result.acceptance).toEqual(ref.acceptance)
    const fused = await engineRun(bytes, { params: cov, mhFrames })
    expect(fused.engine).toBe('fused')
    expect(worstFrameDiff(fused.frames, core)).toBeLessThan(1e-5)
    expect(fused.result.acceptance).toEqual(ref.acceptance)
    // another kernel, another chain: the frames differ from em's
    expect(Array.from(run.frames[core.length - 1]!)).not.toEqual(Array.from(emLast))
    // the checkpoints record the kernel: resuming with it is exact, resuming with em is refused
    expect(JSON.parse(run.checkpoints[0]!).params.mhKernel).toBe('covariance')
    const resumed = await engineRun(bytes, { params: cov, mhFrames, resumeFrom: run.checkpoints[0], engine: 'stepwise' })
    expect(Array.from(resumed.frames[resumed.frames.length - 1]!)).toEqual(Array.from(core[core.length - 1]!))
    expect(resumed.result.acceptance).toEqual(ref.acceptance)
    await expect(engineRun(bytes, { resumeFrom: run.checkpoints[0] })).rejects.toThrow(/kernel|mhKernel/)
    // a second opening of the same request (the worker's WASM retry after a WebGPU failure) reuses the
    // eigen-decomposition: the same frames either way
    const again = await engineRun(bytes, { params: cov, mhFrames, engine: 'stepwise' })
    expect(Array.from(again.frames[again.frames.length - 1]!)).toEqual(Array.from(core[core.length - 1]!))
    // no frames for the covariance: one line saying what is missing
    await expect(engineRun(bytes, { params: cov })).rejects.toThrow(/covariance down kernel needs at least 2 frames/)
  })

  it('aligns the kernel\'s frames to the model\'s reference first (a rotated copy of the data gives the same V)', () => {
    const nAtoms = 4
    const D = 3 * nAtoms
    const reference = Float32Array.from([0, 0, 0, 1.5, 0, 0, 0, 1.2, 0, 0.3, 0.2, 1.1])
    const n = 40
    const frames = new Float32Array(n * D)
    const z = new Float32Array(n * D)
    fillNormals(z, 5, 0, 0)
    for (let f = 0; f < n; f++) for (let k = 0; k < D; k++) frames[f * D + k] = reference[k]! + 0.05 * z[f * D + k]!
    // the same frames, each turned by its own rotation about z and shifted
    const turned = new Float32Array(n * D)
    for (let f = 0; f < n; f++) {
      const a = 0.3 + 0.17 * f
      const [c, s] = [Math.cos(a), Math.sin(a)]
      for (let i = 0; i < nAtoms; i++) {
        const o = f * D + 3 * i
        turned[o] = c * frames[o]! - s * frames[o + 1]! + 2
        turned[o + 1] = s * frames[o]! + c * frames[o + 1]! - 1
        turned[o + 2] = frames[o + 2]! + 0.5
      }
    }
    const info = { name: 'm', dim: D, sigmaRange: [0, Infinity] as [number, number], reference }
    const a = mhPreconditionerOf(frames, info)
    const b = mhPreconditionerOf(turned, info)
    for (let k = 0; k < D; k++) expect(b.values[k]!).toBeCloseTo(a.values[k]!, 7)
    // without a reference the rotations would count as motion: far larger variances
    const raw = mhPreconditionerOf(turned, { ...info, reference: undefined })
    expect(Math.max(...raw.values)).toBeGreaterThan(100 * Math.max(...a.values))
  })

  it('on the CPU, \'auto\' runs bridge-mh fused from 16 replicas and everything else step by step', () => {
    expect(WASM_FUSED_MH_REPLICAS).toBe(16)
    expect(cpuEngine({ mode: 'bridge-mh', replicas: 16 })).toBe('fused')
    expect(cpuEngine({ mode: 'bridge-mh', replicas: 15 })).toBe('stepwise')
    expect(cpuEngine({ mode: 'bridge', replicas: 256 })).toBe('stepwise')
    expect(cpuEngine({ mode: 'bridge-mh', replicas: 64, parallel: { kind: 'picard', window: 4, tol: 0 } })).toBe('stepwise')
  })

  it('refuses a score-only model with a one-line message (the fused graph says why it cannot run it)', async () => {
    await expect(engineRun(tinyEnergy('score-mlp'))).rejects.toThrow(/bridge-mh needs an energy model/)
    await expect(engineRun(tinyEnergy('score-mlp'), { engine: 'fused' })).rejects.toThrow(/bridge-mh needs the model's energy output/)
  })
})
