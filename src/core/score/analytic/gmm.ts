/**
 * Gaussian mixture p(x) = Σ_k w_k N(x; μ_k, diag(V_k)) with diagonal (per-coordinate) or
 * isotropic covariances (docs/science.md "Systems with exact answers"). Smoothing with N(0, σ²I) keeps it a mixture with
 * V_k → V_k + σ², so the exact smoothed score at every σ is
 *   s_σ(x) = Σ_k r_k(x, σ)·(μ_k − x)/(V_k + σ²),   r_k ∝ w_k N(x; μ_k, V_k + σ²)
 * (x, μ in Å; V, σ² in Å²; s in Å⁻¹). It stands in for a perfectly trained model at every noise level.
 */
import type { ScoreModel } from '../types'
import type { NormalStream } from '../../rng/normals'
import { UserError } from '../../errors'

export interface GmmComponent {
  /** mixture weight (> 0; weights are normalised) */
  weight: number
  /** mean μ_k, length d (Å) */
  mean: ArrayLike<number>
  /** variance (Å²): one number (isotropic) or d numbers (diagonal covariance) */
  variance: number | ArrayLike<number>
}

export class GaussianMixtureModel implements ScoreModel {
  readonly dim: number
  readonly sigmaRange = [0, Infinity] as const
  readonly smoothed = true
  readonly rigidBody = false
  readonly name: string
  readonly nComponents: number
  /** normalised log-weights ln w_k */
  private readonly logW: Float64Array
  /** cumulative weights, for sampling */
  private readonly cumW: Float64Array
  /** μ, [K, d] */
  private readonly mu: Float64Array
  /** V, [K, d] */
  private readonly V: Float64Array
  /**
   * per-σ tables, 1/(V + σ²) [K, d] and ln w_k − ½ Σ_i ln(V_ki + σ²) [K], cached for the most
   * recent σ values (a bridge run cycles through the same M grid levels every step)
   */
  private inv: Float64Array
  private logNorm: Float64Array
  private cachedSigma = NaN
  private readonly cache = new Map<number, { inv: Float64Array; logNorm: Float64Array }>()
  private readonly cacheLimit: number
  /** per-row scratch: log-responsibilities */
  private readonly q: Float64Array

  constructor(components: readonly GmmComponent[], name = 'gmm') {
    if (components.length === 0) throw new UserError('gmm: the mixture needs at least one component', 'bad-model')
    const d = components[0]!.mean.length
    if (d < 1) throw new UserError('gmm: component means must have at least one coordinate', 'bad-model')
    const K = components.length
    this.dim = d
    this.nComponents = K
    this.logW = new Float64Array(K)
    this.cumW = new Float64Array(K)
    this.mu = new Float64Array(K * d)
    this.V = new Float64Array(K * d)
    this.inv = new Float64Array(K * d)
    this.logNorm = new Float64Array(K)
    this.cacheLimit = Math.max(2, Math.min(256, Math.floor(2 ** 21 / (K * d))))
    this.q = new Float64Array(K)
    let wsum = 0
    components.forEach((c, k) => {
      if (!(c.weight > 0) || !Number.isFinite(c.weight)) throw new UserError(`gmm: component ${k} has weight ${c.weight}; weights must be positive`, 'bad-model')
      if (c.mean.length !== d) throw new UserError(`gmm: component ${k} has a mean of length ${c.mean.length}, expected ${d}`, 'bad-model')
      if (typeof c.variance !== 'number' && c.variance.length !== d) throw new UserError(`gmm: component ${k} has ${c.variance.length} variances, expected 1 or ${d}`, 'bad-model')
      for (let i = 0; i < d; i++) {
        const m = c.mean[i]!
        const v = typeof c.variance === 'number' ? c.variance : c.variance[i]!
        if (!Number.isFinite(m)) throw new UserError(`gmm: component ${k} mean[${i}] is not finite`, 'bad-model')
        if (!(v > 0) || !Number.isFinite(v)) throw new UserError(`gmm: component ${k} variance[${i}] = ${v}; variances must be positive`, 'bad-model')
        this.mu[k * d + i] = m
        this.V[k * d + i] = v
      }
      wsum += c.weight
    })
    let acc = 0
    components.forEach((c, k) => {
      this.logW[k] = Math.log(c.weight / wsum)
      acc += c.weight / wsum
      this.cumW[k] = acc
    })
    this.cumW[K - 1] = 1
    this.name = `${name}(K=${K}, dim=${d})`
  }

  /** normalised weight of component k */
  weight(k: number): number {
    return Math.exp(this.logW[k]!)
  }

  /** overall standard deviation of the mixture, root-mean over coordinates (Å) */
  dataStd(): number {
    const d = this.dim
    let total = 0
    for (let i = 0; i < d; i++) {
      let m1 = 0
      let m2 = 0
      for (let k = 0; k < this.nComponents; k++) {
        const w = Math.exp(this.logW[k]!)
        const mu = this.mu[k * d + i]!
        m1 += w * mu
        m2 += w * (this.V[k * d + i]! + mu * mu)
      }
      total += m2 - m1 * m1
    }
    return Math.sqrt(total / d)
  }

  private prepare(sigma: number): void {
    if (sigma === this.cachedSigma) return
    const hit = this.cache.get(sigma)
    if (hit) {
      this.inv = hit.inv
      this.logNorm = hit.logNorm
      this.cachedSigma = sigma
      return
    }
    // a full cache is cleared (not grown): memory stays bounded by cacheLimit tables
    if (this.cache.size >= this.cacheLimit) this.cache.clear()
    const K = this.nComponents
    const d = this.dim
    const inv = new Float64Array(K * d)
    const logNorm = new Float64Array(K)
    const s2 = sigma * sigma
    for (let k = 0; k < K; k++) {
      let logdet = 0
      for (let i = 0; i < d; i++) {
        const w = this.V[k * d + i]! + s2
        inv[k * d + i] = 1 / w
        logdet += Math.log(w)
      }
      logNorm[k] = this.logW[k]! - 0.5 * logdet
    }
    this.cache.set(sigma, { inv, logNorm })
    this.inv = inv
    this.logNorm = logNorm
    this.cachedSigma = sigma
  }

  /** fills this.q with ln(w_k N(x; μ_k, V_k + σ²)) + d/2·ln 2π and returns their log-sum-exp */
  private logComponents(x: Float32Array, off: number): number {
    const d = this.dim
    const q = this.q
    let qmax = -Infinity
    for (let k = 0; k < this.nComponents; k++) {
      const base = k * d
      let m = 0
      for (let i = 0; i < d; i++) {
        const dx = x[off + i]! - this.mu[base + i]!
        m += dx * dx * this.inv[base + i]!
      }
      const v = this.logNorm[k]! - 0.5 * m
      q[k] = v
      if (v > qmax) qmax = v
    }
    let sum = 0
    for (let k = 0; k < this.nComponents; k++) sum += Math.exp(q[k]! - qmax)
    return qmax + Math.log(sum)
  }

  score(x: Float32Array, sigma: Float32Array, batch: number, out: Float32Array): void {
    const d = this.dim
    const K = this.nComponents
    const q = this.q
    for (let b = 0; b < batch; b++) {
      this.prepare(sigma[b]!)
      const off = b * d
      const lse = this.logComponents(x, off)
      for (let k = 0; k < K; k++) q[k] = Math.exp(q[k]! - lse)
      for (let i = 0; i < d; i++) {
        const xi = x[off + i]!
        let s = 0
        for (let k = 0; k < K; k++) s += q[k]! * (this.mu[k * d + i]! - xi) * this.inv[k * d + i]!
        out[off + i] = s
      }
    }
  }

  /** E(x_b, σ_b) = −ln p_σ(x_b), the exact smoothed energy (normalised, so consistent across σ) */
  energy(x: Float32Array, sigma: Float32Array, batch: number, out: Float32Array): void {
    const d = this.dim
    const c = 0.5 * d * Math.log(2 * Math.PI)
    for (let b = 0; b < batch; b++) {
      this.prepare(sigma[b]!)
      out[b] = c - this.logComponents(x, b * d)
    }
  }

  /** ln p_σ(x), normalised (includes −d/2·ln 2π) */
  logDensity(x: Float32Array, sigma: number): number {
    this.prepare(sigma)
    return this.logComponents(x, 0) - 0.5 * this.dim * Math.log(2 * Math.PI)
  }

  /**
   * n i.i.d. draws from p (σ = 0) as a flat [n, d] array. Each draw takes d + 1 normals from `rng`:
   * the first picks the component through u = Φ(z) (uniform on (0, 1)), the rest give the position.
   */
  sample(n: number, rng: NormalStream): Float32Array {
    const d = this.dim
    const out = new Float32Array(n * d)
    const z = new Float32Array(d + 1)
    for (let j = 0; j < n; j++) {
      rng.fill(z)
      const u = normalCdf(z[0]!)
      let k = 0
      while (k < this.nComponents - 1 && u > this.cumW[k]!) k++
      for (let i = 0; i < d; i++) out[j * d + i] = this.mu[k * d + i]! + Math.sqrt(this.V[k * d + i]!) * z[i + 1]!
    }
    return out
  }
}

/** Φ(z) = ½·erfc(−z/√2), fractional error < 1.2·10⁻⁷ (Chebyshev erfc, Numerical Recipes §6.2) */
export function normalCdf(z: number): number {
  return 0.5 * erfc(-z / Math.SQRT2)
}

function erfc(x: number): number {
  const z = Math.abs(x)
  const t = 1 / (1 + 0.5 * z)
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))))
    )
  return x >= 0 ? r : 2 - r
}

/**
 * The CLI's `--system gmm`: three isotropic components (weights 0.5, 0.3, 0.2, variance 0.1 Å²)
 * with means −1.5, 0, +1.5 Å along coordinate 0 and, from d ≥ 2, 0, +1.5, 0 Å along coordinate 1.
 */
export function threeWellMixture(dim: number): GaussianMixtureModel {
  if (!Number.isInteger(dim) || dim < 1) throw new UserError(`gmm: dim must be a positive integer (got ${dim})`, 'bad-flag')
  const mean = (a: number, b: number): Float64Array => {
    const m = new Float64Array(dim)
    m[0] = a
    if (dim >= 2) m[1] = b
    return m
  }
  return new GaussianMixtureModel(
    [
      { weight: 0.5, mean: mean(-1.5, 0), variance: 0.1 },
      { weight: 0.3, mean: mean(0, 1.5), variance: 0.1 },
      { weight: 0.2, mean: mean(1.5, 0), variance: 0.1 },
    ],
    'gmm-3'
  )
}
