/**
 * The bridge's reverse integrator on exact Gaussian scores (docs/sampler-integrators.md):
 * the exact variance recurrence of src/core/sampler/reverse-grid.ts against closed forms and
 * against Monte Carlo of the real AdapterStep, on the stiff + soft mixture of the issue
 * (d = 66, 21 modes of variance 0.02² Å², 45 of 0.25 Å², σ_K = 0.158 Å, σ_min = 0.025 Å).
 */
import { describe, expect, it } from 'vitest'
import { AdapterStep, bridgeGrid, noisePerStep } from '../../../src/core/sampler/adapter-step'
import { adapterVarianceMap, gaussianStepCoefficients, stationaryVarianceBias } from '../../../src/core/sampler/reverse-grid'
import { GaussianMixtureModel } from '../../../src/core/score/analytic/gmm'
import { fillNormals, NormalStream } from '../../../src/core/rng/normals'
import { runTrajectory } from '../../../src/core/sampler/runner'
import type { ScoreModel } from '../../../src/core/score/types'

const SK = 0.158
const SMIN = 0.025
const V_STIFF = 0.02 ** 2
const V_SOFT = 0.25
const N_STIFF = 21
const D = 66

function stiffSoft(): GaussianMixtureModel {
  const variance = Array.from({ length: D }, (_, i) => (i < N_STIFF ? V_STIFF : V_SOFT))
  return new GaussianMixtureModel([{ weight: 1, mean: new Float64Array(D), variance }], 'stiff-soft')
}

describe('exact variance recurrence', () => {
  it('the exact reverse transition keeps every mode at v + σ_min² for any grid and M', () => {
    for (const M of [1, 3, 20]) {
      const tau = bridgeGrid(SK, SMIN, M)
      for (const v of [1e-5, V_STIFF, 0.01, V_SOFT, 4]) expect(Math.abs(stationaryVarianceBias('exact', tau, v))).toBeLessThan(1e-12)
    }
  })

  it('M = 1 matches the closed form by hand', () => {
    // one step h = σ_K² − σ_min², u = v + σ_K², a = 1 − h/u; V_in = w ↦ a²(w + h) + b²
    const tau = bridgeGrid(SK, SMIN, 1)
    const v = 0.01
    const h = SK * SK - SMIN * SMIN
    const a = 1 - h / (v + SK * SK)
    for (const [scheme, b2] of [['em', h], ['tweedie', h * (1 - h / (2 * (v + SK * SK))) ** 2]] as const) {
      const { A, B } = adapterVarianceMap(scheme, tau, v)
      expect(A).toBeCloseTo(a * a, 14)
      expect(B).toBeCloseTo(a * a * h + b2, 14)
    }
  })

  it('em is first order in 1/M, tweedie second order; the mixture numbers of the issue', () => {
    const bias = (scheme: 'em' | 'tweedie', M: number, v: number): number => stationaryVarianceBias(scheme, bridgeGrid(SK, SMIN, M), v)
    // halving the step: em's bias halves, tweedie's quarters (ratios from the leading error terms h·(h/u) and h·(h/u)²/4)
    expect(bias('em', 80, V_STIFF) / bias('em', 160, V_STIFF)).toBeCloseTo(2, 0)
    expect(bias('tweedie', 80, V_STIFF) / bias('tweedie', 160, V_STIFF)).toBeCloseTo(4, 0)
    // the "15 % too large at M = 20" (a numpy prototype's figure) is the em number
    expect(bias('em', 20, V_STIFF)).toBeGreaterThan(0.14)
    expect(bias('em', 20, V_STIFF)).toBeLessThan(0.16)
    // tweedie at M = 20 (40 evaluations in 20 calls) and even at M = 10 (as many evaluations as em at M = 20)
    expect(bias('tweedie', 20, V_STIFF)).toBeLessThan(0.01)
    expect(bias('tweedie', 10, V_STIFF)).toBeLessThan(0.03)
    for (const M of [10, 20, 40]) expect(Math.abs(bias('tweedie', M, V_SOFT))).toBeLessThan(Math.abs(bias('em', M, V_SOFT)))
  })

  it('a_i is the Tweedie posterior mean for every scheme (telescoping to (v + σ_min²)/(v + σ_K²))', () => {
    const tau = bridgeGrid(SK, SMIN, 13)
    for (const scheme of ['em', 'tweedie', 'exact'] as const) {
      const { a } = gaussianStepCoefficients(scheme, tau, V_STIFF)
      const prod = a.reduce((p, x) => p * x, 1)
      expect(prod).toBeCloseTo((V_STIFF + SMIN ** 2) / (V_STIFF + SK ** 2), 12)
    }
  })
})

/**
 * One adapter step of the real AdapterStep from frames drawn from N(0, w), w = v + σ_min² (the
 * exact target): the output variance per mode must be A·w + B of the recurrence. N frames × n modes
 * pooled give a relative standard error √(2/(N·n)) of the variance estimate (Gaussian: Var(x²) = 2V²):
 * stiff N·n = 8000·21 → 0.35 %, soft 8000·45 → 0.24 %. We allow 5 standard errors, far below the
 * em/tweedie difference on the stiff modes (≈ 15 % vs 0.5 %).
 */
describe('Monte Carlo of the real AdapterStep against the recurrence', () => {
  const N = 8000
  const M = 20
  // σ_K² = η + σ_min² (docs/science.md "The adapter step"): this η puts the grid's top at SK
  const eta = SK * SK - SMIN * SMIN
  for (const scheme of ['em', 'tweedie'] as const) {
    it(`${scheme}: stiff and soft variances after one step`, async () => {
      const model = stiffSoft()
      const step = new AdapterStep(model, { mode: 'bridge', scheme, eta, denoiseSteps: M, sigmaMin: SMIN }, N)
      const P = noisePerStep('bridge', D, M)
      const noise = new Float32Array(N * P)
      for (let b = 0; b < N; b++) fillNormals(noise, 3, b, 0, b * P, P)
      const y = new Float32Array(N * D)
      fillNormals(y, 4, 0, 0)
      for (let b = 0; b < N; b++) for (let i = 0; i < D; i++) y[b * D + i] = y[b * D + i]! * Math.sqrt((i < N_STIFF ? V_STIFF : V_SOFT) + SMIN ** 2)
      const out = new Float32Array(N * D)
      const p = step.step(y, noise, N, out)
      if (p) await p
      const tau = bridgeGrid(Math.sqrt(eta + SMIN * SMIN), SMIN, M)
      for (const [v, lo, hi, se] of [[V_STIFF, 0, N_STIFF, Math.sqrt(2 / (N * N_STIFF))], [V_SOFT, N_STIFF, D, Math.sqrt(2 / (N * (D - N_STIFF)))]] as const) {
        let s2 = 0
        for (let b = 0; b < N; b++) for (let i = lo; i < hi; i++) s2 += out[b * D + i]! ** 2
        const measured = s2 / (N * (hi - lo))
        const w = v + SMIN ** 2
        const { A, B } = adapterVarianceMap(scheme, tau, v)
        const predicted = A * w + B
        expect(Math.abs(measured / predicted - 1), `${scheme} v=${v}: ${measured} vs ${predicted}`).toBeLessThan(5 * se)
      }
    })
  }

  it('tweedie equals em exactly for a constant score (s(x + √h z) − s(x) = 0) and costs one call per level', async () => {
    const d = 3
    const c = [0.5, -1, 2]
    let calls = 0
    let rows = 0
    const constant: ScoreModel = {
      dim: d, sigmaRange: [0, Infinity], smoothed: true, rigidBody: false, name: 'constant',
      score(_x, _s, batch, out) {
        calls++
        rows += batch
        for (let b = 0; b < batch; b++) for (let i = 0; i < d; i++) out[b * d + i] = c[i]!
      },
    }
    const B = 5
    const M = 4
    const P = noisePerStep('bridge', d, M)
    const noise = new Float32Array(B * P)
    for (let b = 0; b < B; b++) fillNormals(noise, 8, b, 0, b * P, P)
    const y = new Float32Array(B * d).map((_, i) => Math.sin(i))
    const em = new Float32Array(B * d)
    const tw = new Float32Array(B * d)
    void new AdapterStep(constant, { mode: 'bridge', scheme: 'em', eta: 0.3, denoiseSteps: M, sigmaMin: 0.05 }, B).step(y, noise, B, em)
    calls = 0
    rows = 0
    void new AdapterStep(constant, { mode: 'bridge', scheme: 'tweedie', eta: 0.3, denoiseSteps: M, sigmaMin: 0.05 }, B).step(y, noise, B, tw)
    expect(calls).toBe(M)
    expect(rows).toBe(2 * B * M)
    for (let k = 0; k < B * d; k++) expect(tw[k]).toBeCloseTo(em[k]!, 5)
  })
})

/**
 * A non-Gaussian exact system: the 1-D mixture ½N(−1, 0.02²) + ½N(+2, 0.5²) with its exact smoothed
 * score, σ_K 0.158 Å, σ_min 0.025 Å, M = 20. R = 20000 replicas start from exact draws of p_σmin
 * and take 3 steps; the stiff well forgets its start within one step (its variance map has
 * A ≈ ((v + σ_min²)/(v + σ_K²))² ≈ 0.002), and the wells are 3 Å apart, so each well's variance after
 * the steps is the scheme's stationary value, which the Gaussian recurrence predicts (the far well's
 * weight in the score near x = −1 is below e⁻¹⁵; its mass within 0.3 Å of −1 is below 10⁻⁸, so the
 * window |x + 1| < 0.3 Å, ≈ 9 stiff standard deviations, holds the stiff well only). About n = 10000 samples fall in the stiff well: the
 * relative standard error of their variance is √(2/n) ≈ 1.4 %; we allow 5 of them.
 */
describe('tweedie vs em on a stiff + soft mixture (non-Gaussian, exact score)', () => {
  const gmm = new GaussianMixtureModel([{ weight: 0.5, mean: [-1], variance: V_STIFF }, { weight: 0.5, mean: [2], variance: V_SOFT }], 'stiff-soft-1d')
  const R = 20000
  const init = (): Float32Array => {
    const x = gmm.sample(R, new NormalStream(31, 0))
    const z = new Float32Array(R)
    new NormalStream(32, 0).fill(z)
    for (let r = 0; r < R; r++) x[r] = x[r]! + SMIN * z[r]!
    return x
  }
  for (const scheme of ['em', 'tweedie'] as const) {
    it(`${scheme}: the stiff well's variance is the recurrence's stationary value`, async () => {
      const F = 4
      const res = await runTrajectory(gmm, { mode: 'bridge', scheme, eta: SK * SK - SMIN * SMIN, innerSteps: 1, denoiseSteps: 20, sigmaMin: SMIN, replicas: R, frames: F, seed: 5 }, init())
      let n = 0
      let s2 = 0
      for (let r = 0; r < R; r++) {
        const x = res.trajectory.data[r * F + F - 1]!
        if (Math.abs(x + 1) < 0.3) {
          n++
          s2 += (x + 1) ** 2
        }
      }
      const measured = s2 / n
      const exact = V_STIFF + SMIN ** 2
      const predicted = exact * (1 + stationaryVarianceBias(scheme, bridgeGrid(SK, SMIN, 20), V_STIFF))
      const se = Math.sqrt(2 / n)
      expect(Math.abs(measured / predicted - 1), `${scheme}: ${measured} vs ${predicted} (n = ${n})`).toBeLessThan(5 * se)
      if (scheme === 'em') expect(measured / exact - 1).toBeGreaterThan(5 * se)
      else expect(Math.abs(measured / exact - 1)).toBeLessThan(5 * se)
    })
  }
})

