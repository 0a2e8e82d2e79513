/**
 * The consistency term of energy-model training (docs/training.md): the heat-equation residual of
 * the Gaussian-smoothed log-density, and the exponential moving average of the weights.
 *
 * For p_σ = p ∗ N(0, σ²I), log p_σ obeys  ∂_σ log p_σ = σ(Δ log p_σ + |∇ log p_σ|²).
 * The model gives log p_σ = −E(u, σ) − log Z(σ), so for the exact energy
 *   R(u, σ) = −∂_σE + σΔE − σ|∇E|²  =  log Z'(σ),
 * a function of σ alone. We use the dimensionless r = σ·R (each of its terms is O(d) at every σ)
 * and remove the unknown x-independent part by centring r within groups of samples that share one
 * σ: the penalty mean_g mean_k (r_gk − r̄_g)²/d is zero exactly when r does not depend on u (on the
 * data smoothed at that σ), whatever log Z(σ) is. ΔE is a Hutchinson estimate vᵀ(∇²E)v with one
 * Rademacher probe v per sample, built from a Hessian-vector product of the graph's own autodiff.
 */
import type { Graph, Tensor } from './graph'
import { gradients } from './autodiff'

export interface ConsistencyConfig {
  /** weight of the penalty relative to the EDM loss (0 = off) */
  weight: number
  /** σ range (units of σ_data) the groups' σ are drawn from, log-uniformly */
  sigmaMin: number
  sigmaMax: number
  /** number of groups (one σ each) per step */
  groups: number
  /** samples per group (≥ 2: the centring needs two) */
  groupSize: number
}

/**
 * σ range [0.02, 4]·σ_data: from the sampler's σ_min (≈ 0.05 σ_data) up past σ_K to where the basins
 * of a molecule merge, so that the large-σ scores, which set the basins' relative weights right, tie
 * down the small-σ energy the adapter steps sample (on ala2 the range [0.02, 1] left the dynamics
 * holding C5 at 54–57 % against 49 % in the model's own i.i.d. samples; [0.02, 4] with weight 0.1
 * held 50.5 %: docs/training.md "The shipped alanine-dipeptide model"). Extending it down to
 * 0.002 σ_data (where the EDM loss carries almost no information) made the score worse at σ ≥ 0.05.
 */
export const DEFAULT_CONSISTENCY: ConsistencyConfig = { weight: 0, sigmaMin: 0.02, sigmaMax: 4, groups: 8, groupSize: 8 }

export function checkConsistency(c: ConsistencyConfig): void {
  if (!(c.weight >= 0 && Number.isFinite(c.weight))) throw new RangeError(`train: consistency weight must be ≥ 0 (got ${c.weight})`)
  if (!(c.sigmaMin > 0 && c.sigmaMax > c.sigmaMin)) throw new RangeError(`train: consistency σ range must satisfy 0 < min < max (got ${c.sigmaMin}, ${c.sigmaMax})`)
  if (!(Number.isInteger(c.groups) && c.groups >= 1)) throw new RangeError(`train: consistency groups must be a positive integer (got ${c.groups})`)
  if (!(Number.isInteger(c.groupSize) && c.groupSize >= 2)) throw new RangeError(`train: consistency group size must be an integer ≥ 2 (got ${c.groupSize})`)
}

export interface HeatResidualParts {
  /** r = σ·(−∂_σE + σ·vᵀHv − σ|∇E|²), [B] */
  r: Tensor
  energy: Tensor
  /** ∂E/∂σ at fixed u, [B] */
  dEdSigma: Tensor
  /** vᵀ(∇²E)v, [B] */
  vHv: Tensor
  /** |∇E|², [B] */
  gradSq: Tensor
}

/**
 * The σ-scaled heat-equation residual of an energy function E(u [B,d], σ [B]) → [B], with the
 * Laplacian replaced by vᵀ(∇²E)v for the probe v [B, d] (exact Laplacian: sum over the d unit
 * probes). u and sigma must be independent tensors (graph inputs), so ∂E/∂σ is at fixed u.
 */
export function heatResidual(g: Graph, energy: (u: Tensor, sigma: Tensor) => Tensor, u: Tensor, sigma: Tensor, probe: Tensor): HeatResidualParts {
  const E = energy(u, sigma)
  const [gU, gS] = gradients(g.sumAll(E), [u, sigma]) as [Tensor, Tensor]
  const [hv] = gradients(g.sumAll(g.mul(gU, probe)), [u]) as [Tensor]
  const vHv = g.reduceSum(g.mul(hv, probe), [1])
  const gradSq = g.reduceSum(g.mul(gU, gU), [1])
  // r = −σ ∂_σE + σ²(vᵀHv − |∇E|²)
  const s2 = g.mul(sigma, sigma)
  const r = g.sub(g.mul(s2, g.sub(vHv, gradSq)), g.mul(sigma, gS))
  return { r, energy: E, dEdSigma: gS, vHv, gradSq }
}

/**
 * The penalty: r [G·K] viewed as [G, K] (G groups of K samples sharing σ), each group centred on
 * its own mean, mean square over all, divided by d:  (1/(G K d)) Σ_g Σ_k (r_gk − r̄_g)².
 */
export function centredPenalty(g: Graph, r: Tensor, groupSize: number, dim: number): Tensor {
  const rg = g.reshape(r, [-1, groupSize])
  const c = g.sub(rg, g.reduceMean(rg, [1], true))
  return g.mul(g.reduceMean(g.reduceMean(g.mul(c, c), [1]), [0]), 1 / dim)
}

/**
 * Effective EMA decay after `t` updates (t = 1 for the first): min(decay, (1 + t)/(10 + t)), so
 * a short run is not dominated by the initial weights (the num_updates rule of TensorFlow's
 * ExponentialMovingAverage).
 */
export function emaDecayAt(decay: number, t: number): number {
  return Math.min(decay, (1 + t) / (10 + t))
}

/** in place: ema ← β·ema + (1 − β)·p with β = emaDecayAt(decay, t) */
export function emaUpdate(ema: Float32Array[], params: Float32Array[], decay: number, t: number): void {
  const b = emaDecayAt(decay, t)
  const a = 1 - b
  for (let i = 0; i < ema.length; i++) {
    const e = ema[i]!
    const p = params[i]!
    for (let k = 0; k < e.length; k++) e[k] = b * e[k]! + a * p[k]!
  }
}
