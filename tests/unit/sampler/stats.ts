/**
 * Small statistics helpers for the sampler tests (not a test file itself).
 */
import { fillNormals } from '../../../src/core/rng/normals'

/**
 * Standard error of the estimator ĉ_n/σ² = mean(x_t·x_{t+n})/σ² for a stationary Gaussian AR(1)
 * chain x_{t+1} = A·x_t + noise with variance σ², from `replicas` independent chains of `pairs`
 * pairs each. By Isserlis, y_t = x_t x_{t+n} has Cov(y_t, y_{t+m}) = σ⁴(ρ_m² + ρ_{m+n}ρ_{m−n}) with
 * ρ_m = A^|m|, so Var(mean) = σ⁴·S/N with S = Σ_m (ρ_m² + ρ_{m+n}ρ_{m−n}) = Var(y)/σ⁴·2τ_int(y),
 * i.e. N/S = n_eff. Ignoring the chain ends (fewer pairs there) makes this slightly conservative.
 */
export function ar1ProductSE(A: number, lag: number, replicas: number, pairs: number): number {
  let S = 0
  const L = 4000
  const rho = (m: number): number => Math.pow(Math.abs(A), Math.abs(m)) * (A < 0 && Math.abs(m) % 2 === 1 ? -1 : 1)
  for (let m = -L; m <= L; m++) S += rho(m) * rho(m) + rho(m + lag) * rho(m - lag)
  return Math.sqrt(S / (replicas * pairs))
}

/** mean over replicas and frames of x_t·x_{t+lag} for coordinate i of a [R, F, d] array */
export function laggedProduct(data: Float32Array, R: number, F: number, d: number, lag: number, i = 0): number {
  let s = 0
  let n = 0
  for (let r = 0; r < R; r++) {
    for (let f = 0; f + lag < F; f++) {
      s += data[(r * F + f) * d + i]! * data[(r * F + f + lag) * d + i]!
      n++
    }
  }
  return s / n
}

/** [R·d] independent N(0, variance) numbers from a seed of their own */
export function gaussianInit(R: number, d: number, variance: number, seed: number): Float32Array {
  const x = new Float32Array(R * d)
  fillNormals(x, seed, 0, 0)
  const s = Math.sqrt(variance)
  for (let i = 0; i < x.length; i++) x[i] = x[i]! * s
  return x
}

/** uniform (0, 1) generator for test set-ups (mulberry32) */
export function uniforms(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296
  }
}

/**
 * Pearson χ² of observed counts against expected probabilities, after pooling all bins whose
 * expected count is below 5 into one; returns the statistic, its degrees of freedom and a
 * 5-standard-deviation acceptance bound dof + 5·√(2·dof) (χ² has mean dof, variance 2·dof).
 */
export function chiSquare(counts: ArrayLike<number>, probs: ArrayLike<number>, n: number): { chi2: number; dof: number; bound: number } {
  let chi2 = 0
  let bins = 0
  let poolObs = 0
  let poolExp = 0
  for (let b = 0; b < counts.length; b++) {
    const e = probs[b]! * n
    if (e < 5) {
      poolObs += counts[b]!
      poolExp += e
      continue
    }
    chi2 += (counts[b]! - e) ** 2 / e
    bins++
  }
  if (poolExp > 0) {
    chi2 += (poolObs - poolExp) ** 2 / Math.max(poolExp, 1e-300)
    bins++
  }
  const dof = bins - 1
  return { chi2, dof, bound: dof + 5 * Math.sqrt(2 * dof) }
}
