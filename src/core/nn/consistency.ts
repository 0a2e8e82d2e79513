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
  /**
   * Hutchinson probes per sample: 1 squares one estimate (biased up by the estimator's variance,
   * 2σ⁴Σ_{i≠j}H_ij² per sample); 2 multiplies two independent estimates, whose expectation is the
   * square of the exact-Laplacian residual (docs/training.md "Two probes"). Optional: cards written
   * before the option have 1.
   */
  probes?: 1 | 2
  /**
   * Off-data points (≥ 1; absent or 1: off): the K points of a group are noised at σ' = σ·spread^U
   * (U uniform per group) and the residual is evaluated at σ, so the heat equation is also enforced
   * between the data's basins at small σ, where the adapter chain crosses and denoising never looks;
   * the group's penalty is weighted (σ/σ')⁴, the size of its terms (docs/training.md "Off-data points").
   */
  spread?: number
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
  if (c.spread !== undefined && !(c.spread >= 1 && Number.isFinite(c.spread))) throw new RangeError(`train: consistency spread must be ≥ 1 (got ${c.spread})`)
  if (c.probes !== undefined && c.probes !== 1 && c.probes !== 2) throw new RangeError(`train: consistency probes must be 1 or 2 (got ${c.probes})`)
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
  return heatResiduals(g, energy, u, sigma, [probe])[0]!
}

/**
 * heatResidual for several probes of the same points: E, ∂E/∂σ and ∇E are built once and shared,
 * one Hessian-vector product per probe. Element i of the result uses probes[i].
 */
export function heatResiduals(g: Graph, energy: (u: Tensor, sigma: Tensor) => Tensor, u: Tensor, sigma: Tensor, probes: Tensor[]): HeatResidualParts[] {
  const E = energy(u, sigma)
  const [gU, gS] = gradients(g.sumAll(E), [u, sigma]) as [Tensor, Tensor]
  const gradSq = g.reduceSum(g.mul(gU, gU), [1])
  const s2 = g.mul(sigma, sigma)
  const sgS = g.mul(sigma, gS)
  return probes.map((probe) => {
    const [hv] = gradients(g.sumAll(g.mul(gU, probe)), [u]) as [Tensor]
    const vHv = g.reduceSum(g.mul(hv, probe), [1])
    // r = −σ ∂_σE + σ²(vᵀHv − |∇E|²)
    const r = g.sub(g.mul(s2, g.sub(vHv, gradSq)), sgS)
    return { r, energy: E, dEdSigma: gS, vHv, gradSq }
  })
}

/**
 * The penalty: r [G·K] viewed as [G, K] (G groups of K samples sharing σ), each group centred on
 * its own mean, mean square over all, divided by d:  (1/(G K d)) Σ_g Σ_k (r_gk − r̄_g)²; with
 * groupWeight [G], group g's term is multiplied by its weight.
 */
export function centredPenalty(g: Graph, r: Tensor, groupSize: number, dim: number, groupWeight?: Tensor): Tensor {
  return centredProductPenalty(g, r, r, groupSize, dim, groupWeight)
}

/**
 * The two-probe penalty: (1/(G K d)) Σ_g Σ_k (a_gk − ā_g)(b_gk − b̄_g) for residuals a, b of the same
 * points with independent probes. Over the probes its expectation is E[a−ā]·E[b−b̄], the square of the
 * exact-Laplacian centred residual: no estimator-variance term. A single sample can be negative.
 */
export function centredProductPenalty(g: Graph, a: Tensor, b: Tensor, groupSize: number, dim: number, groupWeight?: Tensor): Tensor {
  const ag = g.reshape(a, [-1, groupSize])
  const ca = g.sub(ag, g.reduceMean(ag, [1], true))
  let cb = ca
  if (b !== a) {
    const bg = g.reshape(b, [-1, groupSize])
    cb = g.sub(bg, g.reduceMean(bg, [1], true))
  }
  const perGroup = g.reduceMean(g.mul(ca, cb), [1])
  return g.mul(g.reduceMean(groupWeight ? g.mul(perGroup, groupWeight) : perGroup, [0]), 1 / dim)
}

/** how a resolved config's probe count reads (cards and configs written before the option: 1) */
export function probesOf(c: ConsistencyConfig): 1 | 2 {
  return c.probes ?? 1
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
