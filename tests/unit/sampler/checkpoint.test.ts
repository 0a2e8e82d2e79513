/**
 * Checkpoint + resume gives exactly the frames of an uninterrupted run (docs/science.md "Systems with exact answers").
 */
import { describe, expect, it } from 'vitest'
import { runTrajectory } from '../../../src/core/sampler/runner'
import { base64ToBytes, bytesToBase64, checkpointFromJson, checkpointToJson } from '../../../src/core/sampler/checkpoint'
import type { Checkpoint } from '../../../src/core/sampler/checkpoint'
import { HarmonicModel } from '../../../src/core/score/analytic/harmonic'
import type { SamplerParams } from '../../../src/core/sampler/params'
import { UserError } from '../../../src/core/errors'
import { gaussianInit } from './stats'

const bits = (a: Float32Array): Uint32Array => new Uint32Array(a.buffer, a.byteOffset, a.length)

/** frames [from, F) of a [R, F, d] array */
function tail(data: Float32Array, R: number, F: number, d: number, from: number): Float32Array {
  const n = F - from
  const out = new Float32Array(R * n * d)
  for (let r = 0; r < R; r++) out.set(data.subarray((r * F + from) * d, (r * F + F) * d), r * n * d)
  return out
}

describe('checkpoints', () => {
  const model = new HarmonicModel({ kappa: 1, beta: 1, dim: 3 })
  const R = 4
  const d = 3
  const F = 25
  const init = gaussianInit(R, d, 0.2, 12)
  // a tight trust region so that rejection counts are part of what must be restored
  const trustRegion = { mean: new Float32Array(d), scale: new Float32Array(d).fill(1), radius: 1.6 }

  for (const parallel of [undefined, { kind: 'picard' as const, window: 6, tol: 0 }]) {
    const label = parallel ? 'Picard' : 'sequential'
    it(`${label}: resuming from any checkpoint reproduces the uninterrupted run bit-for-bit`, async () => {
      const p: SamplerParams = { mode: 'bridge', eta: 0.4, innerSteps: 2, denoiseSteps: 3, sigmaMin: 0.05, replicas: R, frames: F, seed: 5, trustRegion, parallel }
      const saved: string[] = []
      const full = await runTrajectory(model, p, init, { checkpointEvery: 5, onCheckpoint: (cp) => { saved.push(checkpointToJson(cp)) } })
      expect(saved.length).toBe(4) // frames 5, 10, 15, 20
      expect(full.rejections.reduce((a, b) => a + b, 0)).toBeGreaterThan(0)
      for (const text of saved) {
        const cp = checkpointFromJson(text)
        const res = await runTrajectory(model, p, new Float32Array(0), { resumeFrom: cp })
        const first = cp.framesDone - 1
        expect(res.trajectory.meta.firstFrame).toBe(first)
        expect(res.trajectory.frames).toBe(F - first)
        expect(bits(res.trajectory.data)).toEqual(bits(tail(full.trajectory.data, R, F, d, first)))
        expect(res.rejections).toEqual(full.rejections)
        if (!parallel) expect(res.modelCalls).toBe(full.modelCalls)
      }
    })
  }

  it('an aborted run, resumed from its last checkpoint, completes to the uninterrupted frames', async () => {
    const p: SamplerParams = { mode: 'clean', eta: 0.1, innerSteps: 3, denoiseSteps: 1, sigmaMin: 0.02, replicas: R, frames: F, seed: 6 }
    const full = await runTrajectory(model, p, init)
    const ac = new AbortController()
    let last: Checkpoint | undefined
    const seen: number[] = []
    const part = await runTrajectory(model, p, init, {
      signal: ac.signal,
      checkpointEvery: 4,
      onCheckpoint: (cp) => { last = checkpointFromJson(checkpointToJson(cp)) },
      onFrame: (f) => { seen.push(f); if (f === 13) ac.abort() },
    })
    expect(part.stopped?.reason).toBe('aborted')
    expect(part.trajectory.frames).toBe(14) // frames 0 … 13 kept
    expect(seen).toEqual(Array.from({ length: 14 }, (_, i) => i))
    expect(bits(part.trajectory.data)).toEqual(bits(full.trajectory.data.filter((_, i) => Math.floor(i / d) % F < 14)))
    expect(last?.framesDone).toBe(13) // checkpoint at frame 12
    const rest = await runTrajectory(model, p, init, { resumeFrom: last! })
    expect(bits(rest.trajectory.data)).toEqual(bits(tail(full.trajectory.data, R, F, d, 12)))
  })

  it('refuses a checkpoint written with other settings, naming the setting', async () => {
    const p: SamplerParams = { mode: 'clean', eta: 0.1, innerSteps: 1, denoiseSteps: 1, sigmaMin: 0.02, replicas: R, frames: 6, seed: 6 }
    let cp: Checkpoint | undefined
    await runTrajectory(model, p, init, { checkpointEvery: 2, onCheckpoint: (c) => { cp = c } })
    await expect(runTrajectory(model, { ...p, seed: 7 }, init, { resumeFrom: cp! })).rejects.toThrow(/seed = 6.*this run has 7/)
    await expect(runTrajectory(model, { ...p, eta: 0.2 }, init, { resumeFrom: cp! })).rejects.toBeInstanceOf(UserError)
    // a longer run may continue from it
    const longer = await runTrajectory(model, { ...p, frames: 9 }, init, { resumeFrom: cp! })
    expect(longer.trajectory.frames).toBe(9 - 4)
  })

  it('base64 round-trips any byte length; bad input is a UserError', () => {
    for (let n = 0; n < 9; n++) {
      const b = Uint8Array.from({ length: n }, (_, i) => (i * 97 + 13) & 255)
      expect(Array.from(base64ToBytes(bytesToBase64(b)))).toEqual(Array.from(b))
    }
    expect(bytesToBase64(new TextEncoder().encode('DiffMD'))).toBe('RGlmZk1E')
    expect(() => base64ToBytes('ab$d')).toThrow(UserError)
    expect(() => checkpointFromJson('{"step": 1}', 'run.ckpt')).toThrow(/run\.ckpt: not a sampler checkpoint/)
  })
})
