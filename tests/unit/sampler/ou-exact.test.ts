/**
 * Harmonic well / OU (docs/science.md "Systems with exact answers"), v = 1/(βκ), exact smoothed score −x/(v + σ²). Every mode is
 * a linear AR(1) map x' = A·x + √Q·ξ, so the stationary variance Q/(1 − A²) and the lag-n ACF Aⁿ
 * are exact. Replicas start from the exact stationary law (so every frame is stationary) and the
 * estimates are compared with 5 standard errors from ar1ProductSE (n_eff = N/S, derivation there).
 */
import { describe, expect, it } from 'vitest'
import { runTrajectory } from '../../../src/core/sampler/runner'
import { bridgeGrid } from '../../../src/core/sampler/adapter-step'
import { HarmonicModel } from '../../../src/core/score/analytic/harmonic'
import type { ReverseScheme, SamplerMode } from '../../../src/core/sampler/params'
import { ar1ProductSE, gaussianInit, laggedProduct } from './stats'

/**
 * exact (A, Q) of one bridge adapter step with M reverse steps on the geometric grid. Each reverse
 * step multiplies by a_i = 1 − h_i/(v + τ_i²) = (v + τ_{i+1}²)/(v + τ_i²), so A telescopes to
 * (v + σ_min²)/(v + σ_K²) = (v + σ_min²)/(v + σ_min² + η) for every M (σ_K² = η + σ_min²); only
 * the noise Q (hence the variance) depends on M.
 * em adds noise variance h_i; tweedie's noise √h·z + (h/2)(s(x + √h·z) − s(x)) = √h(1 − h/(2(v+τ²)))·z.
 */
function bridgeAR1(v: number, eta: number, sigmaMin: number, M: number, scheme: ReverseScheme = 'em'): { A: number; Q: number } {
  const tau = bridgeGrid(Math.sqrt(eta + sigmaMin * sigmaMin), sigmaMin, M)
  let A = 1
  let Q = eta // after the adapter noise: x_K = y + √η·ξ, i.e. σ_K² − σ_min² = η
  for (let i = 0; i < M; i++) {
    const t = Math.fround(tau[i]!) // the model sees σ in float32
    const h = tau[i]! ** 2 - tau[i + 1]! ** 2
    const a = 1 - h / (v + t * t)
    A *= a
    const c = scheme === 'em' ? 1 : 1 - h / (2 * (v + t * t))
    Q = a * a * Q + h * c * c
  }
  return { A, Q }
}

async function checkAR1(mode: SamplerMode, opts: { v: number; eta: number; sigmaMin?: number; M?: number; scheme?: ReverseScheme; A: number; Q: number; R: number; F: number; inner?: number; seed: number }) {
  const { v, eta, A, Q, R, F } = opts
  const inner = opts.inner ?? 1
  const vst = Q / (1 - A * A)
  const model = new HarmonicModel({ kappa: 1 / v, beta: 1, dim: 1 })
  const init = gaussianInit(R, 1, vst, opts.seed + 1000)
  const { trajectory } = await runTrajectory(model, { mode, eta, innerSteps: inner, denoiseSteps: opts.M ?? 1, scheme: opts.scheme, sigmaMin: opts.sigmaMin ?? 0, replicas: R, frames: F, seed: opts.seed }, init)
  const Af = Math.pow(A, inner) // per saved frame
  for (const lag of [0, 1, 2, 3]) {
    const c = laggedProduct(trajectory.data, R, F, 1, lag) / vst
    const se = ar1ProductSE(Af, lag, R, F - lag)
    expect(Math.abs(c - Math.pow(Af, lag)), `${mode} lag ${lag}: ${c} vs ${Math.pow(Af, lag)} ± ${se}`).toBeLessThan(5 * se)
  }
  return vst
}

describe('OU exact answers', () => {
  const v = 1
  const eta = 0.5

  it('clean: variance v/(1 − η/(2v)), lag-n ACF (1 − η/v)ⁿ', async () => {
    const A = 1 - eta / v
    const vst = await checkAR1('clean', { v, eta, A, Q: 2 * eta, R: 2000, F: 64, seed: 1 })
    expect(vst).toBeCloseTo(v / (1 - eta / (2 * v)), 12)
    // innerSteps = 3: one saved frame is three steps, ACF per frame (1 − η/v)^{3n}
    await checkAR1('clean', { v, eta: 0.2, A: 1 - 0.2 / v, Q: 0.4, R: 2000, F: 32, inner: 3, seed: 2 })
  })

  it('tied: variance 4(v+σ²)²/(4v+3σ²) with σ² = 2η', async () => {
    const s2 = 2 * eta
    const A = 1 - s2 / (2 * (v + s2))
    const vst = await checkAR1('tied', { v, eta, A, Q: 2 * eta, R: 2000, F: 64, seed: 3 })
    expect(vst).toBeCloseTo((4 * (v + s2) ** 2) / (4 * v + 3 * s2), 12)
  })

  it('bridge: one step is η long even when σ_min² is comparable to η (σ_K² = η + σ_min²)', async () => {
    // v = 0.05, η = 0.02, σ_min = 0.1 (σ_min² = 0.01): the lag-one ACF is (v + σ_min²)/(v + σ_min² + η)
    // = 0.06/0.08 = 0.75, the σ_min-smoothed OU process after time η to first order. With σ_K² = η (the
    // sampler before 2026-12) the noise-up added only η − σ_min² and the ACF was 0.06/0.07 = 0.857:
    // a step half as long as it claimed. Lag 1's standard error here is ≈ 0.003, so 5σ cannot confuse them.
    const vs = 0.05
    const e = 0.02
    const sigmaMin = 0.1
    const { A, Q } = bridgeAR1(vs, e, sigmaMin, 20, 'tweedie')
    // the product telescopes up to the float32 rounding of each τ_i the model sees (≈ 6e-8 relative)
    expect(Math.abs(A - (vs + sigmaMin ** 2) / (vs + sigmaMin ** 2 + e))).toBeLessThan(1e-8)
    expect(Math.abs(A - (vs + sigmaMin ** 2) / (vs + e))).toBeGreaterThan(0.1)
    await checkAR1('bridge', { v: vs, eta: e, sigmaMin, M: 20, scheme: 'tweedie', A, Q, R: 2000, F: 64, seed: 8 })
  })

  it('bridge, exact finite-M answer (M = 3, far from the M → ∞ limit)', async () => {
    const sigmaMin = 0.1
    const { A, Q } = bridgeAR1(v, eta, sigmaMin, 3)
    const vst = Q / (1 - A * A)
    // the M = 3 answer is measurably off the continuum limit, so this run tells them apart
    expect(Math.abs(vst / (v + sigmaMin ** 2) - 1)).toBeGreaterThan(0.1)
    await checkAR1('bridge', { v, eta, sigmaMin, M: 3, scheme: 'em', A, Q, R: 2000, F: 64, seed: 4 })
  })

  it('bridge with the tweedie scheme (the default), exact finite-M answer at M = 3', async () => {
    const sigmaMin = 0.1
    const tw = bridgeAR1(v, eta, sigmaMin, 3, 'tweedie')
    const em = bridgeAR1(v, eta, sigmaMin, 3, 'em')
    // the two schemes' answers differ by far more than the test's 5 standard errors (≈ 0.03 of the variance)
    expect(Math.abs(tw.Q / (1 - tw.A * tw.A) / (em.Q / (1 - em.A * em.A)) - 1)).toBeGreaterThan(0.1)
    await checkAR1('bridge', { v, eta, sigmaMin, M: 3, A: tw.A, Q: tw.Q, R: 2000, F: 64, seed: 6 })
    await checkAR1('bridge', { v, eta, sigmaMin, M: 3, scheme: 'tweedie', A: tw.A, Q: tw.Q, R: 2000, F: 64, seed: 7 })
  })

  it('bridge, M = 200: variance v + σ_min², lag-n ACF ((v+σ_min²)/(v+σ_min²+η))ⁿ', async () => {
    const sigmaMin = 0.1
    const M = 200
    const { A, Q } = bridgeAR1(v, eta, sigmaMin, M)
    // the exact finite-M answer is within 1% of the M → ∞ one (docs/science.md "Systems with exact answers")
    expect(Math.abs(Q / (1 - A * A) / (v + sigmaMin ** 2) - 1)).toBeLessThan(0.01)
    expect(Math.abs(A / ((v + sigmaMin ** 2) / (v + sigmaMin ** 2 + eta)) - 1)).toBeLessThan(0.01)
    // the step's time is η: −ln A·(v + σ_min²) → η as η/(v + σ_min²) → 0 (here 1st order: ln(1 + x) ≈ x)
    const x = eta / (v + sigmaMin ** 2)
    expect(Math.abs(-Math.log(A) - Math.log(1 + x))).toBeLessThan(0.01 * x)
    await checkAR1('bridge', { v, eta, sigmaMin, M, scheme: 'em', A, Q, R: 1000, F: 24, seed: 5 })
  })
})
