/**
 * Exact analysis of the bridge step's reverse integrator on a Gaussian mode (docs/sampler-integrators.md).
 *
 * For p = N(0, v) per mode with the exact smoothed score s(x, τ) = −x/(v + τ²), every scheme here
 * is linear in x: reverse step i (level τᵢ → τᵢ₊₁, hᵢ = τᵢ² − τᵢ₊₁², uᵢ = v + τᵢ²) is
 *     x ← aᵢ·x + bᵢ·z,   aᵢ = 1 − hᵢ/uᵢ  (the exact posterior mean, Tweedie, for every scheme)
 *     em:      bᵢ² = hᵢ
 *     tweedie: bᵢ² = hᵢ·(1 − hᵢ/(2uᵢ))²     (√h·z + (h/2)(s(x + √h·z) − s(x)) = √h(1 − h/(2u))·z)
 *     exact:   bᵢ² = hᵢ·(1 − hᵢ/uᵢ) = hᵢ·uᵢ₊₁/uᵢ   (the true reverse transition)
 * so the variance obeys Vᵢ₊₁ = aᵢ²·Vᵢ + bᵢ², and one adapter step (noise up by σ_K² − σ_min², then
 * M reverse steps) maps the frame variance V ↦ A·V + B with A = Π aᵢ², B = A·(σ_K² − σ_min²) + Σᵢ bᵢ²·Π_{j>i} aⱼ².
 * The chain's stationary variance is B/(1 − A) (exactly: no Monte Carlo), to compare with the
 * target v + σ_min²; its lag-1 autocorrelation is Π aᵢ = √A.
 */
import type { ReverseScheme } from './params'

export type GaussianScheme = ReverseScheme | 'exact'

/** aᵢ and bᵢ² of the M reverse steps on the grid tau (τ₀ > … > τ_M, Å) for a mode of variance v (Å²) */
export function gaussianStepCoefficients(scheme: GaussianScheme, tau: ArrayLike<number>, v: number): { a: Float64Array; b2: Float64Array } {
  const M = tau.length - 1
  const a = new Float64Array(M)
  const b2 = new Float64Array(M)
  for (let i = 0; i < M; i++) {
    const t0 = tau[i]!
    const t1 = tau[i + 1]!
    const h = t0 * t0 - t1 * t1
    const u = v + t0 * t0
    const r = h / u
    a[i] = 1 - r
    b2[i] = scheme === 'em' ? h : scheme === 'tweedie' ? h * (1 - r / 2) * (1 - r / 2) : h * (1 - r)
  }
  return { a, b2 }
}

/** the adapter step's variance map V ↦ A·V + B for a mode of variance v (Å²) */
export function adapterVarianceMap(scheme: GaussianScheme, tau: ArrayLike<number>, v: number): { A: number; B: number } {
  const { a, b2 } = gaussianStepCoefficients(scheme, tau, v)
  const M = a.length
  const up = tau[0]! * tau[0]! - tau[M]! * tau[M]!
  let A = 1
  let B = up
  for (let i = 0; i < M; i++) {
    const a2 = a[i]! * a[i]!
    A *= a2
    B = a2 * B + b2[i]!
  }
  return { A, B }
}

/** stationary frame variance of the uncorrected chain for a mode of variance v (Å²) */
export function stationaryVariance(scheme: GaussianScheme, tau: ArrayLike<number>, v: number): number {
  const { A, B } = adapterVarianceMap(scheme, tau, v)
  return B / (1 - A)
}

/** relative bias of the stationary variance against the exact v + σ_min² (σ_min = the grid's last level) */
export function stationaryVarianceBias(scheme: GaussianScheme, tau: ArrayLike<number>, v: number): number {
  const sMin = tau[tau.length - 1]!
  return stationaryVariance(scheme, tau, v) / (v + sMin * sMin) - 1
}
