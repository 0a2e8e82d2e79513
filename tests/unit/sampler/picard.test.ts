/**
 * Picard (time-parallel) generation equals the sequential path (docs/science.md "Time-parallel generation (Picard)").
 */
import { describe, expect, it } from 'vitest'
import { runTrajectory } from '../../../src/core/sampler/runner'
import { HarmonicModel } from '../../../src/core/score/analytic/harmonic'
import { DoubleWellModel } from '../../../src/core/score/analytic/double-well'
import type { SamplerParams } from '../../../src/core/sampler/params'
import type { ScoreModel } from '../../../src/core/score/types'
import { gaussianInit } from './stats'

const bits = (a: Float32Array): Uint32Array => new Uint32Array(a.buffer, a.byteOffset, a.length)

/** the same model, answering asynchronously (as an ONNX model does) */
function asyncOf(m: ScoreModel): ScoreModel {
  return {
    dim: m.dim, sigmaRange: m.sigmaRange, smoothed: m.smoothed, rigidBody: m.rigidBody, name: m.name,
    score: (x, s, b, out) => new Promise<void>((resolve) => setTimeout(() => { void m.score(x, s, b, out); resolve() }, 0)),
  }
}

describe('Picard = sequential', () => {
  const model = new HarmonicModel({ kappa: 1, beta: 1, dim: 2 })
  const R = 3
  const init = gaussianInit(R, 2, 1, 17)

  for (const mode of ['bridge', 'tied', 'clean'] as const) {
    it(`${mode}: tol = 0 reproduces the sequential frames bit-for-bit; one batched call per denoising step per sweep`, async () => {
      const p: SamplerParams = { mode, eta: 0.3, innerSteps: 2, denoiseSteps: 4, sigmaMin: 0.05, replicas: R, frames: 21, seed: 99 }
      const seq = await runTrajectory(model, p, init)
      const par = await runTrajectory(model, { ...p, parallel: { kind: 'picard', window: 7, tol: 0 } }, init)
      expect(bits(par.trajectory.data)).toEqual(bits(seq.trajectory.data))
      const calls = mode === 'bridge' ? 4 : 1
      expect(par.modelCalls).toBe(par.sweeps! * calls)
      // ≥ 1 frame accepted per sweep: never more sweeps than steps (40)
      expect(par.sweeps!).toBeLessThanOrEqual(40)
      expect(par.trajectory.meta.sweeps).toBe(par.sweeps)
    })
  }

  it('tol = 1e-6 Å: within the tolerance-derived bound of the sequential frames, in ≤ W sweeps for one window', async () => {
    const W = 32
    const p: SamplerParams = { mode: 'bridge', eta: 0.1, innerSteps: 1, denoiseSteps: 5, sigmaMin: 0.05, replicas: R, frames: W + 1, seed: 7 }
    const seq = await runTrajectory(model, p, init)
    const tol = 1e-6
    const par = await runTrajectory(model, { ...p, parallel: { kind: 'picard', window: W, tol } }, init)
    expect(par.sweeps!).toBeLessThanOrEqual(W)
    // Bound: an accepted frame is Φ of an input within 2·tol of the exact one plus a correction
    // θ·(≤ tol), θ ∈ [0, 1], so it is off by ≤ (2A + 1)·tol ≤ 3·tol (Φ is affine, slope A < 1); errors
    // carried into later steps shrink by A each step: total ≤ 3·tol/(1 − A), A = (v+σ_min²)/(v+η) ≈ 0.92.
    // Float32 storage adds a few ulps of |x| ≲ 4 Å (2^−21 each).
    const A = (1 + 0.05 ** 2) / (1 + 0.1)
    const bound = (3 * tol) / (1 - A) + 8 * Math.pow(2, -21)
    let maxDiff = 0
    for (let i = 0; i < seq.trajectory.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(par.trajectory.data[i]! - seq.trajectory.data[i]!))
    expect(maxDiff).toBeLessThan(bound)
  })

  it('the EM forms converge in far fewer sweeps than frames', async () => {
    const dw = new DoubleWellModel({ beta: 2, dim: 1 })
    const p: SamplerParams = { mode: 'clean', eta: 1e-3, innerSteps: 1, denoiseSteps: 1, sigmaMin: 0, replicas: 4, frames: 257, seed: 1 }
    const ones = new Float32Array([1, -1, 1, -1])
    const seq = await runTrajectory(dw, p, ones)
    const par = await runTrajectory(dw, { ...p, parallel: { kind: 'picard', window: 64, tol: 1e-5 } }, ones)
    // small η: the drift changes little between sweeps, so each sweep fixes many frames
    expect(par.sweeps!).toBeLessThan(256 / 4)
    let maxDiff = 0
    for (let i = 0; i < seq.trajectory.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(par.trajectory.data[i]! - seq.trajectory.data[i]!))
    // A = 1 − η·βU''(±1) ≈ 0.984 near the minima: 3·tol/(1 − A) ≈ 1e-3
    expect(maxDiff).toBeLessThan(1e-3)
  })

  it('strongly relaxing steps (η ~ v) also converge in few sweeps: the per-coordinate slope θ', async () => {
    // Gaussian, v = 1, η = 0.5: Φ(y) = A·y + noise with A = (v + σ_min²)/(v + η) ≈ 0.67. With θ = 1
    // (pure prefix sums) an error grows ~|A − 1|·j along the window and only ~1 frame converges per
    // sweep; with θ estimated (→ A, exact for an affine Φ) a window converges in a few sweeps.
    const p: SamplerParams = { mode: 'bridge', eta: 0.5, innerSteps: 1, denoiseSteps: 4, sigmaMin: 0.05, replicas: R, frames: 129, seed: 12 }
    const seq = await runTrajectory(model, p, init)
    const par = await runTrajectory(model, { ...p, parallel: { kind: 'picard', window: 32, tol: 1e-6 } }, init)
    expect(par.sweeps!).toBeLessThan(128 / 4)
    let maxDiff = 0
    for (let i = 0; i < seq.trajectory.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(par.trajectory.data[i]! - seq.trajectory.data[i]!))
    // 3·tol/(1 − A) ≈ 1e-5, plus float32 rounding of |x| ≲ 4 Å
    expect(maxDiff).toBeLessThan(1e-5 + 8 * Math.pow(2, -21))
  })

  it('with a trust region: same frames and rejection counts as sequential', async () => {
    const trustRegion = { mean: new Float32Array(2), scale: new Float32Array([1, 1]), radius: 1.2 }
    const p: SamplerParams = { mode: 'bridge', eta: 0.5, innerSteps: 1, denoiseSteps: 3, sigmaMin: 0.05, replicas: R, frames: 30, seed: 4, trustRegion }
    const small = gaussianInit(R, 2, 0.1, 3)
    const seq = await runTrajectory(model, p, small)
    const par = await runTrajectory(model, { ...p, parallel: { kind: 'picard', window: 5, tol: 0 } }, small)
    expect(seq.rejections.reduce((a, b) => a + b, 0)).toBeGreaterThan(0)
    expect(par.rejections).toEqual(seq.rejections)
    expect(bits(par.trajectory.data)).toEqual(bits(seq.trajectory.data))
  })

  it('asynchronous models give the same frames (sequential and Picard)', async () => {
    const p: SamplerParams = { mode: 'bridge', eta: 0.3, innerSteps: 1, denoiseSteps: 3, sigmaMin: 0.05, replicas: R, frames: 8, seed: 21 }
    const seq = await runTrajectory(model, p, init)
    const aseq = await runTrajectory(asyncOf(model), p, init)
    const apar = await runTrajectory(asyncOf(model), { ...p, parallel: { kind: 'picard', window: 4, tol: 0 } }, init)
    expect(bits(aseq.trajectory.data)).toEqual(bits(seq.trajectory.data))
    expect(bits(apar.trajectory.data)).toEqual(bits(seq.trajectory.data))
  })
})
