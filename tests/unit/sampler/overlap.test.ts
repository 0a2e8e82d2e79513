/**
 * The sequential engine draws the next step's normals while an asynchronous model call runs
 * (sequential.ts, docs/speed.md). Normals depend only on (seed, replica, step), so the frames must
 * be the same bit for bit as with a synchronous model (where nothing is drawn early), in every
 * mode, with rejections, resumed from a checkpoint, and against the Picard engine at tol = 0.
 */
import { describe, expect, it } from 'vitest'
import { runTrajectory } from '../../../src/core/sampler/runner'
import { HarmonicModel } from '../../../src/core/score/analytic/harmonic'
import type { ScoreModel } from '../../../src/core/score/types'
import type { SamplerParams } from '../../../src/core/sampler/params'
import type { Checkpoint } from '../../../src/core/sampler/checkpoint'
import { gaussianInit } from './stats'

const bits = (a: Float32Array): Uint32Array => new Uint32Array(a.buffer, a.byteOffset, a.length)

/** the same model, answering through a Promise resolved on a later macrotask (like onnxruntime) */
function asyncOf(m: ScoreModel): ScoreModel {
  return {
    dim: m.dim, sigmaRange: m.sigmaRange, smoothed: m.smoothed, rigidBody: m.rigidBody, reference: m.reference, name: `${m.name}-async`,
    score(x, s, b, out) {
      m.score(x, s, b, out)
      return new Promise<void>((resolve) => setTimeout(resolve, 0))
    },
  }
}

describe('normals drawn during the network call change no frame', () => {
  const d = 6
  const R = 5
  const model = new HarmonicModel({ kappa: 1, beta: 1, dim: d })
  const init = gaussianInit(R, d, 0.3, 4)
  const trustRegion = { mean: new Float32Array(d), scale: new Float32Array(d).fill(1), radius: 2.6 }
  const cases: [string, Partial<SamplerParams>][] = [
    ['bridge tweedie M = 4 with rejections', { mode: 'bridge', scheme: 'tweedie', denoiseSteps: 4, trustRegion }],
    ['bridge em M = 3 (more replicas than calls per step)', { mode: 'bridge', scheme: 'em', denoiseSteps: 3 }],
    ['clean (one call per step)', { mode: 'clean', denoiseSteps: 1 }],
  ]
  it.each(cases)('%s', async (_name, extra) => {
    const p: SamplerParams = { mode: 'bridge', eta: 0.3, innerSteps: 3, denoiseSteps: 4, sigmaMin: 0.05, replicas: R, frames: 7, seed: 9, ...extra }
    const sync = await runTrajectory(model, p, init)
    const saved: Checkpoint[] = []
    const asyncRun = await runTrajectory(asyncOf(model), p, init, { checkpointEvery: 3, onCheckpoint: (cp) => { saved.push(cp) } })
    expect(bits(asyncRun.trajectory.data)).toEqual(bits(sync.trajectory.data))
    expect(asyncRun.rejections).toEqual(sync.rejections)
    if (extra.trustRegion) expect(sync.rejections.reduce((a, b) => a + b, 0)).toBeGreaterThan(0)
    // the next step's normals were drawn while calls were in flight
    expect(asyncRun.timing!.overlapped).toBeGreaterThan(0)
    expect(sync.timing!.overlapped).toBe(0)
    // resumed asynchronously from frame 3: the rest of the run is unchanged
    const resumed = await runTrajectory(asyncOf(model), p, new Float32Array(0), { resumeFrom: saved[0]! })
    const F = p.frames
    const first = saved[0]!.framesDone - 1
    for (let r = 0; r < R; r++) {
      const a = resumed.trajectory.data.subarray(r * (F - first) * d, (r + 1) * (F - first) * d)
      const b = sync.trajectory.data.subarray((r * F + first) * d, (r + 1) * F * d)
      expect(bits(a)).toEqual(bits(b))
    }
    // Picard at tol = 0 (noise drawn by window, never early) gives the same frames
    const picard = await runTrajectory(asyncOf(model), { ...p, parallel: { kind: 'picard', window: 4, tol: 0 } }, init)
    expect(bits(picard.trajectory.data)).toEqual(bits(sync.trajectory.data))
  })
})

describe('models that compute on the calling thread draw normals in line', () => {
  it('computesOnCaller: no overlap is attempted, the normals are timed as normals, frames unchanged', async () => {
    const d = 6
    const model = new HarmonicModel({ kappa: 1, beta: 1, dim: d })
    const init = gaussianInit(4, d, 0.3, 4)
    const p: SamplerParams = { mode: 'bridge', scheme: 'em', eta: 0.3, innerSteps: 3, denoiseSteps: 3, sigmaMin: 0.05, replicas: 4, frames: 5, seed: 9 }
    const sync = await runTrajectory(model, p, init)
    const onCaller = { ...asyncOf(model), computesOnCaller: true }
    const run = await runTrajectory(onCaller, p, init)
    expect(bits(run.trajectory.data)).toEqual(bits(sync.trajectory.data))
    expect(run.timing!.overlapped).toBe(0)
    expect(run.timing!.normals).toBeGreaterThan(0)
  })

  it('onnxruntime-node really does: JavaScript queued behind run() delays its result by its own length', async () => {
    // the reason models opened by services/models/open.ts say computesOnCaller (onnxruntime issues
    // #19611, #26968: run() is setImmediate + a synchronous native call). A run that took T alone
    // and JS of J ms queued right after it: in parallel ≈ max(T, J), on one thread ≈ T + J.
    const ort = await import('onnxruntime-node')
    const { readFile } = await import('node:fs/promises')
    const path = await import('node:path')
    const bytes = await readFile(path.resolve(__dirname, '../../../resources/models/ala2-default.onnx'))
    const s = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 })
    try {
      const B = 512
      const feeds = () => ({ x: new ort.Tensor('float32', new Float32Array(B * 66).fill(0.1), [B, 66]), sigma: new ort.Tensor('float32', new Float32Array(B).fill(0.3), [B]) })
      await s.run(feeds())
      // T: the fastest of three runs alone (a loaded machine only makes the serial case longer)
      let T = Infinity
      for (let k = 0; k < 3; k++) {
        const t1 = performance.now()
        await s.run(feeds())
        T = Math.min(T, performance.now() - t1)
      }
      const J = Math.max(20, 2 * T)
      const t = performance.now()
      const pending = s.run(feeds())
      const t0 = performance.now()
      while (performance.now() - t0 < J) {
        // busy JavaScript on this thread
      }
      await pending
      const both = performance.now() - t
      // parallel would finish within J + a little; serial needs J + T (T is several ms at B = 512)
      expect(both).toBeGreaterThan(J + 0.5 * T)
    } finally {
      await s.release()
    }
  })
})
