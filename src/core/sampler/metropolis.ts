/**
 * The Metropolis-corrected adapter step (mode bridge-mh; docs/sampler-integrators.md §3): an exact
 * MCMC move for π(x) ∝ exp(−E(x, σ_min)) at any η, for any score (a better score only raises the
 * acceptance). Units: x in Å, h in Å², E dimensionless.
 *
 * Grid τ₀ = σ_K > … > τ_M = σ_min, hᵢ = τᵢ² − τᵢ₊₁². Proposal path ω from the frame y:
 *   up (pure noising, level τ_M → τ₀): a₀ = y, aⱼ₊₁ = aⱼ + √h_{M−j−1}·ηⱼ (aⱼ sits at level τ_{M−j});
 *     drawn as a Brownian bridge to the endpoint a_M = y + √(σ_K² − σ_min²)·ξ (the bridge step's own
 *     ξ), which gives exactly the random walk's joint law;
 *   down (EM, level τ₀ → τ_M): b₀ = a_M, bᵢ₊₁ = bᵢ + hᵢ·s(bᵢ, τᵢ) + √hᵢ·zᵢ, proposal x' = b_M
 *     (the uncorrected em bridge step's frame for the same ξ, z).
 * The protocol [M up kernels, M down kernels] is its own reverse, so the time-reversed path
 * ω̃ = (x' = b_M, b_{M−1}, …, b₀ = a_M, a_{M−1}, …, a₀ = y) is a path of the same proposal started at
 * x', and the move ω → ω̃ is an involution. Detailed balance on path space gives the acceptance
 *   α = min(1, exp(E(y) − E(x'))·Q(ω̃ | x')/Q(ω | y)),
 *   ln Q(ω̃|x') − ln Q(ω|y) = Σᵢ [−|bᵢ − bᵢ₊₁|² + |bᵢ₊₁ − bᵢ − hᵢs(bᵢ,τᵢ)|²]/(2hᵢ)          (down path)
 *                          + Σᵢ [−|a_{M−i−1} − a_{M−i} − hᵢs(a_{M−i},τᵢ)|² + |a_{M−i} − a_{M−i−1}|²]/(2hᵢ)  (up path)
 * (the Gaussian normalisations cancel: each variance appears once in Q(ω|y) and once in Q(ω̃|x')).
 * The scores s(a_{M−i}, τᵢ) of the reverse path are known before the down pass: ONE call of M·batch
 * rows. The energies E(y), E(x') take one call of 2·batch rows. All differences and sums in float64
 * from the float32 points actually stored. A rejected step (or a non-finite proposal) keeps y.
 * The uniform is Φ(u) of the step's last normal, so (seed, replica, step) address the decision too.
 *
 * Preconditioned down kernel (optional, `MhPreconditioner`): with the eigen-decomposition V = QΛQᵀ of
 * the data covariance, the down step keeps the mean bᵢ + hᵢ·s(bᵢ, τᵢ) but draws its noise with the
 * covariance Cᵢ = Q diag(hᵢ(λₖ + τᵢ₊₁²)/(λₖ + τᵢ²)) Qᵀ — the exact reverse transition when the data
 * are Gaussian with covariance V, em's hᵢ for modes much wider than τ, the ancestral hᵢτᵢ₊₁²/τᵢ² for
 * much narrower ones. The terms |r|²/(2hᵢ) of the down kernel become rᵀCᵢ⁻¹r/2; the up kernels and
 * the normalisations (each Cᵢ once in Q(ω|y) and once in Q(ω̃|x')) are unchanged, so the move stays
 * exact for any V (docs/sampler-integrators.md §2 "Preconditioned down kernel").
 */
import type { ScoreModel } from '../score/types'
import { normalCdf } from '../score/analytic/gmm'
import { UserError } from '../errors'
import { symmetricEigen } from '../geometry/symmetric-eigen'
import { Aligner } from '../geometry/kabsch'

/** the data covariance's eigenvalues λₖ (Å², length d) and eigenvectors (column k of the row-major d×d) */
export interface MhPreconditioner {
  values: Float64Array
  vectors: Float64Array
}

/**
 * The largest d the dense preconditioner takes (400 atoms). Its eigen-decomposition costs O(d³):
 * about 1.5 s at 600 and 11 s at 1200 here (Householder + QL, symmetric-eigen.ts; cyclic Jacobi took
 * 18 s at 600), about 14 min at ADK's 4968. Each down step costs 2d² per replica, the network's order
 * at this size.
 */
export const MH_COVARIANCE_MAX_DIM = 1200

/**
 * The preconditioner of n frames [n, d] (Å): their sample covariance (float64, divisor n − 1) and its
 * eigen-decomposition (Householder tridiagonalisation and implicit QL, src/core/geometry/symmetric-eigen.ts).
 */
export function covariancePreconditioner(frames: Float32Array, n: number, d: number): MhPreconditioner {
  if (d > MH_COVARIANCE_MAX_DIM) throw new UserError(`--mh-kernel covariance: the model has ${d} coordinates, more than the ${MH_COVARIANCE_MAX_DIM} its dense covariance handles (${MH_COVARIANCE_MAX_DIM / 3} atoms); use --mh-kernel em`, 'bad-param')
  if (!(n >= 2) || frames.length < n * d) throw new UserError(`bridge-mh preconditioner: needs at least 2 frames of ${d} coordinates`, 'bad-param')
  const mu = new Float64Array(d)
  for (let f = 0; f < n; f++) for (let k = 0; k < d; k++) mu[k] = mu[k]! + frames[f * d + k]!
  for (let k = 0; k < d; k++) mu[k] = mu[k]! / n
  const C = new Float64Array(d * d)
  const x = new Float64Array(d)
  for (let f = 0; f < n; f++) {
    for (let k = 0; k < d; k++) x[k] = frames[f * d + k]! - mu[k]!
    for (let j = 0; j < d; j++) {
      const a = x[j]!
      for (let k = j; k < d; k++) C[j * d + k] = C[j * d + k]! + a * x[k]!
    }
  }
  for (let j = 0; j < d; j++) {
    for (let k = j; k < d; k++) {
      const v = C[j * d + k]! / (n - 1)
      C[j * d + k] = v
      C[k * d + j] = v
    }
  }
  const values = new Float64Array(d)
  const vectors = new Float64Array(d * d)
  symmetricEigen(C, d, values, vectors)
  return { values, vectors }
}

/**
 * The preconditioner of frames as the model sees them: each frame [n, d] is first superposed on the
 * model's reference (rigid-body models; a copy, the input is left as it is), then
 * covariancePreconditioner. The CLI's --mh-frames-f32 and the app's sampler worker both take V so.
 */
export function alignedCovariancePreconditioner(frames: Float32Array, n: number, d: number, reference?: Float32Array): MhPreconditioner {
  let x = frames
  if (reference) {
    x = Float32Array.from(frames.subarray(0, n * d))
    const aligner = new Aligner(reference, d / 3)
    for (let f = 0; f < n; f++) aligner.align(x, f * d)
  }
  return covariancePreconditioner(x, n, d)
}

export class MetropolisBridge {
  /** preconditioned: per step i and mode k the down variance cᵢₖ (row-major M×d), else undefined */
  private readonly cm?: Float64Array
  private readonly Q?: Float64Array
  private readonly rv: Float64Array
  private readonly zv: Float64Array
  private readonly d: number
  private readonly M: number
  private readonly h: Float64Array
  private readonly g: Float64Array
  /** Brownian-bridge coefficients of interior step j: mean weight hu_j/R_j and std √(hu_j(R_j − hu_j)/R_j) */
  private readonly bw: Float64Array
  private readonly bs: Float64Array
  /** the noising path: block i (rows of batch·d) holds a_{M−i}, the point at level τᵢ, i = 0 … M−1 */
  private readonly up: Float32Array
  private readonly upSigma: Float32Array
  private readonly upScore: Float32Array
  /** a copy of the input frames (out may alias y) */
  private readonly y0: Float32Array
  private readonly sigma: Float32Array
  private readonly s: Float32Array
  private readonly eIn: Float32Array
  private readonly eSigma: Float32Array
  private readonly eOut: Float32Array
  private readonly logr: Float64Array

  constructor(
    private readonly model: ScoreModel,
    private readonly tau: Float64Array,
    /** √(σ_K² − σ_min²) as the bridge step computes it (so an accepted proposal is its frame bit for bit) */
    private readonly c0: number,
    readonly maxBatch: number,
    private readonly accepted: Uint8Array,
    private readonly logAlpha: Float64Array,
    preconditioner?: MhPreconditioner
  ) {
    if (!model.energy || model.hasEnergy === false) {
      throw new UserError(`mode bridge-mh needs an energy model (score = −∇E); ${model.name} gives only a score: use --mode bridge`, 'bad-param')
    }
    const d = model.dim
    const M = tau.length - 1
    this.d = d
    this.M = M
    this.h = new Float64Array(M)
    this.g = new Float64Array(M)
    for (let i = 0; i < M; i++) {
      this.h[i] = tau[i]! * tau[i]! - tau[i + 1]! * tau[i + 1]!
      this.g[i] = Math.sqrt(this.h[i]!)
    }
    const top = tau[0]! * tau[0]!
    this.bw = new Float64Array(M)
    this.bs = new Float64Array(M)
    for (let j = 0; j < M - 1; j++) {
      // from a_j (level τ_{M−j}) one step up (variance hu = h_{M−j−1}) given a_M: R_j = τ₀² − τ_{M−j}²
      const hu = this.h[M - j - 1]!
      const Rj = top - tau[M - j]! * tau[M - j]!
      this.bw[j] = hu / Rj
      this.bs[j] = Math.sqrt(Math.max(0, (hu * (Rj - hu)) / Rj))
    }
    this.up = new Float32Array(M * maxBatch * d)
    this.upSigma = new Float32Array(M * maxBatch)
    this.upScore = new Float32Array(M * maxBatch * d)
    this.y0 = new Float32Array(maxBatch * d)
    this.sigma = new Float32Array(maxBatch)
    this.s = new Float32Array(maxBatch * d)
    this.eIn = new Float32Array(2 * maxBatch * d)
    this.eSigma = new Float32Array(2 * maxBatch)
    this.eOut = new Float32Array(2 * maxBatch)
    this.logr = new Float64Array(maxBatch)
    this.rv = new Float64Array(d)
    this.zv = new Float64Array(d)
    if (preconditioner) {
      const { values, vectors } = preconditioner
      if (values.length !== d || vectors.length !== d * d) throw new UserError(`bridge-mh preconditioner: needs ${d} eigenvalues and a ${d}×${d} eigenvector matrix (got ${values.length} and ${vectors.length})`, 'bad-param')
      this.Q = Float64Array.from(vectors)
      this.cm = new Float64Array(M * d)
      for (let i = 0; i < M; i++) {
        const a = tau[i]! * tau[i]!
        const b = tau[i + 1]! * tau[i + 1]!
        for (let k = 0; k < d; k++) {
          const l = Math.max(0, values[k]!)
          this.cm[i * d + k] = (this.h[i]! * (l + b)) / (l + a)
        }
      }
    }
  }

  /** rᵀCᵢ⁻¹r for the residual in rv (preconditioned kernel) */
  private quad(i: number): number {
    const d = this.d
    const Q = this.Q!
    const cm = this.cm!
    const r = this.rv
    let acc = 0
    for (let k = 0; k < d; k++) {
      let p = 0
      for (let j = 0; j < d; j++) p += Q[j * d + k]! * r[j]!
      acc += (p * p) / cm[i * d + k]!
    }
    return acc
  }

  /** out[b] = the accepted proposal or y[b]; sets accepted[b] and logAlpha[b] */
  async step(y: Float32Array, noise: Float32Array, P: number, batch: number, out: Float32Array): Promise<void> {
    const { d, M } = this
    const n = batch * d
    this.y0.set(y.subarray(0, n))
    this.noiseUp(noise, P, batch)
    this.logr.fill(0, 0, batch)
    // the reverse path's scores at a_{M−i}, level τᵢ: one call of M·batch rows
    for (let i = 0; i < M; i++) this.upSigma.fill(this.tau[i]!, i * batch, (i + 1) * batch)
    const pr = this.model.score(this.up, this.upSigma, M * batch, this.upScore)
    if (pr) await pr
    this.upTerms(batch)
    // the down path from a_M (block 0)
    out.set(this.up.subarray(0, n))
    for (let i = 0; i < M; i++) {
      this.sigma.fill(this.tau[i]!, 0, batch)
      const p = this.model.score(out, this.sigma, batch, this.s)
      if (p) await p
      this.downStep(i, noise, P, batch, out)
    }
    // energies at σ_min of y (rows 0 … batch−1) and x' (rows batch … 2·batch−1)
    this.eIn.set(this.y0.subarray(0, n), 0)
    this.eIn.set(out.subarray(0, n), n)
    this.eSigma.fill(this.tau[M]!, 0, 2 * batch)
    const pe = this.model.energy!(this.eIn, this.eSigma, 2 * batch, this.eOut)
    if (pe) await pe
    for (let b = 0; b < batch; b++) {
      const la = this.logr[b]! + this.eOut[b]! - this.eOut[batch + b]!
      this.logAlpha[b] = la
      const u = normalCdf(noise[b * P + P - 1]!)
      const ok = la === la && Math.log(u) < la
      this.accepted[b] = ok ? 1 : 0
      if (!ok) out.set(this.y0.subarray(b * d, (b + 1) * d), b * d)
    }
  }

  /** draws the noising path into `up` (block 0 = a_M = y + c0·ξ; block M−j = a_j for 0 < j < M) */
  private noiseUp(noise: Float32Array, P: number, batch: number): void {
    const { d, M } = this
    const up = this.up
    const y = this.y0
    const c0 = this.c0
    const stride = batch * d
    const wOff = d * (1 + M)
    for (let b = 0; b < batch; b++) {
      const o = b * d
      const nb = b * P
      for (let k = 0; k < d; k++) up[o + k] = y[o + k]! + c0 * noise[nb + k]!
      // a_{j+1} | a_j, a_M ~ N(a_j + w_j(a_M − a_j), s_j²), j = 0 … M−2; a_{j+1} lives in block M−j−1
      for (let j = 0; j < M - 1; j++) {
        const w = this.bw[j]!
        const sd = this.bs[j]!
        const dst = (M - j - 1) * stride + o
        const nw = nb + wOff + j * d
        for (let k = 0; k < d; k++) {
          const prev = j === 0 ? y[o + k]! : up[(M - j) * stride + o + k]!
          const end = up[o + k]!
          up[dst + k] = prev + w * (end - prev) + sd * noise[nw + k]!
        }
      }
    }
  }

  /** the up-path terms: + |a_{M−i} − a_{M−i−1}|²/(2hᵢ) − |a_{M−i−1} − a_{M−i} − hᵢs(a_{M−i},τᵢ)|²/(2hᵢ) */
  private upTerms(batch: number): void {
    const { d, M } = this
    const up = this.up
    const sc = this.upScore
    const stride = batch * d
    for (let i = 0; i < M; i++) {
      const h = this.h[i]!
      const inv = 1 / (2 * h)
      for (let b = 0; b < batch; b++) {
        const hi = i * stride + b * d
        const lower = i === M - 1 ? this.y0 : up
        const lo = i === M - 1 ? b * d : (i + 1) * stride + b * d
        let acc = 0
        if (this.cm) {
          const rv = this.rv
          for (let k = 0; k < d; k++) {
            const diff = up[hi + k]! - lower[lo + k]!
            rv[k] = -diff - h * sc[hi + k]!
            acc += diff * diff
          }
          this.logr[b] = this.logr[b]! + acc * inv - 0.5 * this.quad(i)
          continue
        }
        for (let k = 0; k < d; k++) {
          const a = up[hi + k]!
          const diff = a - lower[lo + k]!
          const r = -diff - h * sc[hi + k]!
          acc += diff * diff - r * r
        }
        this.logr[b] = this.logr[b]! + acc * inv
      }
    }
  }

  /** one EM step down with the step's z, adding −|b' − b|²/(2h) + |b' − b − h·s|²/(2h) */
  private downStep(i: number, noise: Float32Array, P: number, batch: number, out: Float32Array): void {
    const d = this.d
    const h = this.h[i]!
    const g = this.g[i]!
    const inv = 1 / (2 * h)
    const s = this.s
    const zoff = (1 + i) * d
    if (this.cm) {
      this.downPreconditioned(i, noise, P, batch, out)
      return
    }
    for (let b = 0; b < batch; b++) {
      const o = b * d
      const nb = b * P + zoff
      let acc = 0
      for (let k = 0; k < d; k++) {
        const old = out[o + k]!
        const m = old + h * s[o + k]!
        const nw = Math.fround(m + g * noise[nb + k]!)
        out[o + k] = nw
        const step = nw - old
        const res = nw - m
        acc += res * res - step * step
      }
      this.logr[b] = this.logr[b]! + acc * inv
    }
  }

  /** the down step with noise Q diag(√cᵢₖ) z, adding −|b' − b|²/(2h) + rᵀCᵢ⁻¹r/2 */
  private downPreconditioned(i: number, noise: Float32Array, P: number, batch: number, out: Float32Array): void {
    const d = this.d
    const h = this.h[i]!
    const inv = 1 / (2 * h)
    const s = this.s
    const Q = this.Q!
    const cm = this.cm!
    const zv = this.zv
    const rv = this.rv
    const zoff = (1 + i) * d
    for (let b = 0; b < batch; b++) {
      const o = b * d
      const nb = b * P + zoff
      for (let k = 0; k < d; k++) zv[k] = Math.sqrt(cm[i * d + k]!) * noise[nb + k]!
      let acc = 0
      for (let j = 0; j < d; j++) {
        let v = 0
        for (let k = 0; k < d; k++) v += Q[j * d + k]! * zv[k]!
        const old = out[o + j]!
        const m = old + h * s[o + j]!
        const nw = Math.fround(m + v)
        out[o + j] = nw
        const step = nw - old
        rv[j] = nw - m
        acc += step * step
      }
      this.logr[b] = this.logr[b]! - acc * inv + 0.5 * this.quad(i)
    }
  }
}
