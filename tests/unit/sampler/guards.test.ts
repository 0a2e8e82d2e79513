/**
 * Trust-region rejections (docs/science.md "Guard against escapes") and instability stops.
 */
import { describe, expect, it } from 'vitest'
import { runTrajectory } from '../../../src/core/sampler/runner'
import { TrustGuard } from '../../../src/core/sampler/trust-region'
import { DoubleWellModel } from '../../../src/core/score/analytic/double-well'
import { fillNormalsOf } from '../../../src/core/rng/normals'
import type { ScoreModel } from '../../../src/core/score/types'
import { EXPLOSION_LIMIT } from '../../../src/core/sampler/run-state'

/** score 0 where x_0 < 0; where x_0 > 0 it flings the replica away (+1e9: η·s = 1000 Å) or returns NaN */
function flinger(kind: 'fling' | 'nan'): ScoreModel {
  return {
    dim: 2, sigmaRange: [0, Infinity], smoothed: true, rigidBody: false, name: `flinger-${kind}`,
    score(x, _s, batch, out) {
      for (let b = 0; b < batch; b++) {
        const v = x[2 * b]! > 0 ? (kind === 'fling' ? 1e9 : NaN) : 0
        out[2 * b] = v
        out[2 * b + 1] = v
      }
    },
  }
}

const zeroScore: ScoreModel = {
  dim: 2, sigmaRange: [0, Infinity], smoothed: true, rigidBody: false, name: 'free',
  score(_x, _s, batch, out) { out.fill(0, 0, 2 * batch) },
}

describe('trust region', () => {
  it('whitened distance uses the per-coordinate scale', () => {
    const g = new TrustGuard({ mean: new Float32Array([1, -1]), scale: new Float32Array([2, 0.5]), radius: 1 }, 2)
    expect(g.distance(new Float32Array([3, -1]))).toBeCloseTo(1, 12)
    expect(g.distance(new Float32Array([1, -0.5]))).toBeCloseTo(1, 12)
    expect(g.inside(new Float32Array([2, -1]))).toBe(true)
    expect(g.inside(new Float32Array([1, 0]))).toBe(false)
    expect(g.inside(new Float32Array([NaN, -1]))).toBe(false)
    expect(g.inside(new Float32Array([Infinity, -1]))).toBe(false)
  })

  for (const kind of ['fling', 'nan'] as const) {
    for (const mode of ['clean', 'bridge'] as const) {
      it(`rejects every step that leaves the region (${kind}, ${mode}); the replica keeps its frame`, async () => {
        const R = 6
        const F = 11
        const inner = 2
        const init = new Float32Array(2 * R)
        // even replicas sit where the model flings them out, odd ones where the score is 0; η = 1e-6
        // gives steps of ~1e-3 Å, so odd replicas (at x_0 = −1) never reach x_0 > 0. Their free walk
        // after (F − 1)·inner = 20 steps has standard deviation √(2η·20) ≈ 0.0063 Å: the 0.05 Å
        // bound below is 8 standard deviations
        for (let r = 0; r < R; r++) init[2 * r] = r % 2 === 0 ? 1 : -1
        const trustRegion = { mean: new Float32Array(2), scale: new Float32Array([1, 0.5]), radius: 5 }
        const res = await runTrajectory(flinger(kind), { mode, eta: 1e-6, innerSteps: inner, denoiseSteps: 3, sigmaMin: 1e-4, replicas: R, frames: F, seed: 3, trustRegion }, init)
        expect(res.stopped).toBeUndefined()
        for (let r = 0; r < R; r++) {
          expect(res.rejections[r]).toBe(r % 2 === 0 ? (F - 1) * inner : 0)
          for (let f = 0; f < F; f++) {
            const x0 = res.trajectory.data[(r * F + f) * 2]!
            if (r % 2 === 0) expect(x0).toBe(1)
            else expect(Math.abs(x0 + 1)).toBeLessThan(0.05)
          }
        }
      })
    }
  }

  it('a free random walk stays inside; rejections = steps whose frame did not move', async () => {
    const R = 40
    const F = 200
    const trustRegion = { mean: new Float32Array([0.5, 0]), scale: new Float32Array([1, 0.5]), radius: 1.5 }
    const guard = new TrustGuard(trustRegion, 2)
    const init = new Float32Array(2 * R)
    for (let r = 0; r < R; r++) init[2 * r] = 0.5
    const res = await runTrajectory(zeroScore, { mode: 'clean', eta: 0.05, innerSteps: 1, denoiseSteps: 1, sigmaMin: 0, replicas: R, frames: F, seed: 8, trustRegion }, init)
    let total = 0
    let outside = 0
    for (let r = 0; r < R; r++) {
      let still = 0
      for (let f = 0; f < F; f++) {
        const o = (r * F + f) * 2
        if (!guard.inside(res.trajectory.data, o)) outside++
        if (f > 0 && res.trajectory.data[o] === res.trajectory.data[o - 2] && res.trajectory.data[o + 1] === res.trajectory.data[o - 1]) still++
      }
      expect(res.rejections[r]).toBe(still)
      total += still
    }
    expect(outside).toBe(0)
    // the walk (step ≈ 0.32 Å per coordinate) reaches the wall (≈ 1.5 Å, 0.75 Å) within a few dozen steps
    expect(total).toBeGreaterThan(R)
    expect(res.trajectory.meta.rejections).toEqual(res.rejections)
  })
})

describe('instability detection (Langevin modes without a guard)', () => {
  it('stops at the first exploding step with a clear message and keeps the frames before it', async () => {
    // double well, clean, η = 0.05 at β = 3: η·λ(1) = 1.2 is stable in the wells, but a step from
    // |x| ≳ 1.6 overshoots (x' ≈ −12ηx³) and the cubic drift explodes within a few steps
    const beta = 3
    const eta = 0.05
    const model = new DoubleWellModel({ beta })
    const R = 8
    const F = 400
    // a seed whose run explodes early (step 43 of 399 with the ziggurat noise; 15 of seeds 0–39
    // explode within the 400 frames)
    const seed = 3
    const init = new Float32Array(R)
    const res = await runTrajectory(model, { mode: 'clean', eta, innerSteps: 1, denoiseSteps: 1, sigmaMin: 0, replicas: R, frames: F, seed }, init)
    // independent EM: first step t (0-based) and replica at which any |x| > limit or non-finite
    const x = Float64Array.from(init)
    const xi = new Float32Array(1)
    let failStep = -1
    let failReplica = -1
    const expected: number[][] = []
    outer: for (let t = 0; t < F - 1; t++) {
      const row: number[] = []
      for (let r = 0; r < R; r++) {
        fillNormalsOf('ziggurat', xi, seed, r, t)
        const y = x[r]!
        const s = Math.fround(-4 * beta * y * (y * y - 1))
        x[r] = Math.fround(y + eta * s + Math.sqrt(2 * eta) * xi[0]!)
        row.push(x[r]!)
      }
      for (let r = 0; r < R; r++) {
        if (!(Math.abs(x[r]!) <= EXPLOSION_LIMIT)) {
          failStep = t
          failReplica = r
          break outer
        }
      }
      expected.push(row)
    }
    expect(failStep).toBeGreaterThan(0)
    expect(res.stopped?.reason).toBe('unstable')
    expect(res.stopped?.step).toBe(failStep + 1)
    expect(res.stopped?.replica).toBe(failReplica)
    expect(res.stopped?.message).toMatch(new RegExp(`adapter step ${failStep + 1} .*replica ${failReplica}`))
    expect(res.stopped?.message).toMatch(/smaller Δt/)
    expect(res.stopped?.message).toMatch(/--mode bridge/)
    // frames 0 … failStep are kept (frame t+1 is the state after step t)
    expect(res.trajectory.frames).toBe(failStep + 1)
    for (let f = 1; f <= failStep; f++) {
      for (let r = 0; r < R; r++) expect(Math.abs(res.trajectory.data[r * (failStep + 1) + f]! - expected[f - 1]![r]!)).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(expected[f - 1]![r]!)))
    }
  })
})
