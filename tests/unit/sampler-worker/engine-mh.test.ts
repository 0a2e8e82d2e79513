/**
 * The worker's engine in mode bridge-mh (Metropolis-corrected) on onnxruntime-node: it falls back
 * from the fused graph to step-by-step with the reason, gives the core sampler's frames and
 * per-replica acceptance for the same seed (bit for bit: the same code over the same session
 * outputs), resumes from its checkpoints to the same acceptance, and refuses a score-only model.
 */
import { describe, expect, it } from 'vitest'
import * as ort from 'onnxruntime-node'
import { openEngine, type EngineInput } from '../../../src/renderer/src/sampler/engine'
import { exportModelBytes } from '../../../src/core/nn/export'
import { initParams, paramDefs, type ArchConfig } from '../../../src/core/nn/arch'
import { fillNormals } from '../../../src/core/rng/normals'
import { OnnxScoreModel } from '../../../src/core/score/onnx-score'
import { runTrajectory } from '../../../src/core/sampler/runner'
import type { SamplerParams } from '../../../src/core/sampler/params'
import type { OrtRuntime } from '../../../src/core/nn/runtime'
import type { ClientSamplerParams } from '../../../src/renderer/src/sampler/protocol'

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
  it('runs step by step (fused refused with its reason) and equals the core sampler, acceptance included', async () => {
    const bytes = tinyEnergy()
    const session = await ort.InferenceSession.create(bytes)
    const model = OnnxScoreModel.wrap(rt, session, { name: 'tiny-energy', dim: d })
    expect(model.hasEnergy).toBe(true)
    const core: Float32Array[] = []
    const res = await runTrajectory(model, params as SamplerParams, init, { onFrame: (_f, x) => void core.push(Float32Array.from(x)) })
    await session.release()
    const run = await engineRun(bytes, { checkpointEvery: 4 })
    expect(run.engine).toBe('stepwise')
    expect(run.reason).toMatch(/bridge-mh/)
    expect(run.frames.length).toBe(core.length)
    for (let f = 0; f < core.length; f++) expect(Array.from(run.frames[f]!)).toEqual(Array.from(core[f]!))
    expect(run.result.acceptance).toEqual(res.acceptance)
    // the model is far from exact: acceptance strictly between 0 and 1 for the run as a whole
    const mean = res.acceptance!.reduce((a, b) => a + b, 0) / R
    expect(mean).toBeGreaterThan(0)
    expect(mean).toBeLessThan(1)
    // resuming from the frame-4 checkpoint reproduces the last frames and the whole run's acceptance
    const resumed = await engineRun(bytes, { resumeFrom: run.checkpoints[0] })
    expect(Array.from(resumed.frames[resumed.frames.length - 1]!)).toEqual(Array.from(core[core.length - 1]!))
    expect(resumed.result.acceptance).toEqual(res.acceptance)
    // asking for the fused engine explicitly is a clear error
    await expect(engineRun(bytes, { engine: 'fused' })).rejects.toThrow(/bridge-mh/)
  })

  it('refuses a score-only model with a one-line message', async () => {
    await expect(engineRun(tinyEnergy('score-mlp'))).rejects.toThrow(/bridge-mh needs an energy model/)
  })
})
