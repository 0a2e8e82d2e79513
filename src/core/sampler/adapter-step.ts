/**
 * One adapter step Φ(y, noise) for a batch of frames (docs/science.md "The adapter step", "Sampler modes", "Rigid-body motion"). Units: x, σ in Å; η in Å².
 *
 *  bridge (default): x_K = y + √η·ξ, i.e. σ_K² = η + σ_min² (y is a sample at σ_min; docs/science.md
 *     "The adapter step": the step is then exactly Δt = η/D long to first order), then M reverse steps on the
 *     geometric grid τ_i = σ_K·(σ_min/σ_K)^(i/M), i = 0 … M, h_i = τ_i² − τ_{i+1}²:
 *       scheme em:      x ← x + h_i·s(x, τ_i) + √h_i·z_i
 *       scheme tweedie: x ← x + h_i·s(x, τ_i) + √h_i·z_i + (h_i/2)·(s(x + √h_i·z_i, τ_i) − s(x, τ_i))
 *         (both scores in ONE model call of 2·batch rows; default; docs/sampler-integrators.md)
 *     rigid-body models: the result is re-aligned (Kabsch) to model.reference.
 *  bridge-mh: the em bridge step as a proposal, accepted with a path-probability Metropolis test
 *     (metropolis.ts) so the step is an exact MCMC move for exp(−E(·, σ_min)); no re-alignment.
 *  tied:  x' = y + η·s(y, σ_k) + √(2η)·ξ,  σ_k = √(2η)
 *  clean: x' = y + η·s(y, σ_min) + √(2η)·ξ  (plain Euler–Maruyama)
 *     rigid-body models: the increment η·s + √(2η)ξ is projected off the 6 rigid-body directions
 *     at y, then the result is re-aligned.
 *
 * Noise layout: row b of `noise` holds the P = noisePerStep(mode, d, M) normals of that frame's
 * step: bridge [ξ (d), z_0 (d), …, z_{M−1} (d)] (both schemes), tied/clean [ξ (d)],
 * bridge-mh [ξ, z_0 … z_{M−1} as bridge, then w_1 … w_{M−1} (d each) for the interior points of the
 * noising path, then one normal u whose Φ(u) is the Metropolis uniform] (P = 2dM + 1).
 * One model call per denoising step covers the whole batch. Nothing is allocated per step.
 */
import type { ScoreModel } from '../score/types'
import type { ReverseScheme, SamplerMode } from './params'
import { isBridgeMode, DEFAULT_BRIDGE_SCHEME } from './params'
import { MetropolisBridge, type MhPreconditioner } from './metropolis'
import { Aligner } from '../geometry/kabsch'
import { RigidBodyProjector } from '../geometry/rigid-body'
import { UserError } from '../errors'
import { sigmaKOf } from '../units/conversions'
import type { PhaseTimer } from './timing'

export interface StepConfig {
  mode: SamplerMode
  /** η = DΔt (Å²) */
  eta: number
  /** M, reverse steps per adapter step (bridge) */
  denoiseSteps: number
  /** σ_min (Å) */
  sigmaMin: number
  /** bridge: the reverse step (default DEFAULT_BRIDGE_SCHEME, tweedie); bridge-mh uses em */
  scheme?: ReverseScheme
  /**
   * bridge-mh: per-mode variances of the down kernel from the data covariance (metropolis.ts); absent
   * = em's. runTrajectory sets it from RunHooks.mhPreconditioner when SamplerParams.mhKernel is
   * 'covariance' (diffmd simulate --mh-kernel covariance).
   */
  mhPreconditioner?: MhPreconditioner
}

/** normals consumed by one adapter step of one frame: d·(1 + M) for bridge, 2dM + 1 for bridge-mh, d otherwise */
export function noisePerStep(mode: SamplerMode, dim: number, denoiseSteps: number): number {
  if (mode === 'bridge') return dim * (1 + denoiseSteps)
  if (mode === 'bridge-mh') return 2 * dim * denoiseSteps + 1
  return dim
}

/**
 * model calls per adapter step (each covers the whole batch): M for bridge (the tweedie scheme's
 * calls have 2·batch rows), M + 2 for bridge-mh (down path; one call of M·batch rows for the reverse
 * path's scores; one energy call of 2·batch rows), 1 for the Langevin modes
 */
export function modelCallsPerStep(mode: SamplerMode, denoiseSteps: number): number {
  if (mode === 'bridge') return denoiseSteps
  if (mode === 'bridge-mh') return denoiseSteps + 2
  return 1
}

/** network evaluations (rows) per adapter step per frame: 2M for bridge/tweedie, M for em, 2M + 2 for bridge-mh */
export function evaluationsPerStep(mode: SamplerMode, denoiseSteps: number, scheme?: ReverseScheme): number {
  if (mode === 'bridge') return (scheme ?? DEFAULT_BRIDGE_SCHEME) === 'tweedie' ? 2 * denoiseSteps : denoiseSteps
  if (mode === 'bridge-mh') return 2 * denoiseSteps + 2
  return 1
}

/** the geometric σ grid τ_0 = σ_K > … > τ_M = σ_min (Å); τ_M is exactly σ_min (0 allowed for M = 1) */
export function bridgeGrid(sigmaK: number, sigmaMin: number, M: number): Float64Array {
  if (!(sigmaK > sigmaMin) || sigmaMin < 0) throw new UserError(`σ_K = ${sigmaK} Å must exceed σ_min = ${sigmaMin} Å ≥ 0`, 'bad-param')
  if (sigmaMin === 0 && M > 1) throw new UserError('the geometric σ grid needs σ_min > 0 when M > 1', 'bad-param')
  const tau = new Float64Array(M + 1)
  tau[0] = sigmaK
  for (let i = 1; i < M; i++) tau[i] = sigmaK * Math.pow(sigmaMin / sigmaK, i / M)
  tau[M] = sigmaMin
  return tau
}

export class AdapterStep {
  readonly dim: number
  /** normals per frame per step */
  readonly noiseSize: number
  /** model calls per step */
  readonly calls: number
  private readonly mode: SamplerMode
  private readonly tweedie: boolean
  private readonly eta: number
  private readonly M: number
  /** bridge: √(σ_K² − σ_min²), h_i = τ_i² − τ_{i+1}², g_i = √h_i, τ_i as the model sees it */
  private readonly c0: number
  private readonly h: Float64Array
  private readonly g: Float64Array
  private readonly tau: Float64Array
  /** Langevin: σ of the score (√(2η) tied, σ_min clean) and √(2η) */
  private readonly langevinSigma: number
  private readonly c: number
  private readonly sigma: Float32Array
  private readonly s: Float32Array
  private readonly aligner: Aligner | undefined
  private readonly projector: RigidBodyProjector | undefined
  private readonly incr: Float32Array | undefined
  /** tweedie: the 2·batch rows [x; x + √h·z] of one call */
  private readonly xs: Float32Array | undefined
  private readonly mh: MetropolisBridge | undefined
  /** bridge-mh: 1 where the last step's proposal of row b was accepted (else the row kept its input) */
  readonly accepted: Uint8Array
  /** bridge-mh: ln of the last step's acceptance ratio per row (float64; NaN for a non-finite proposal) */
  readonly logAlpha: Float64Array
  /**
   * Work that does not touch this step's arrays, run right after each asynchronous model call is
   * dispatched, so that it overlaps the network (the sequential engine draws the next step's
   * normals here; docs/speed.md). Not called for synchronous models or in bridge-mh.
   */
  background: (() => void) | undefined = undefined

  /** whether `background` work can overlap the model's calls (false when they compute on this thread) */
  get overlapsCalls(): boolean {
    return this.model.computesOnCaller !== true
  }

  constructor(
    private readonly model: ScoreModel,
    cfg: StepConfig,
    /** largest batch this stepper will be asked for */
    readonly maxBatch: number,
    /** when given, alignment and projection time is added to timer.alignment (model calls are timed by the caller's timedModel) */
    private readonly timer?: PhaseTimer
  ) {
    const d = model.dim
    this.dim = d
    this.mode = cfg.mode
    this.eta = cfg.eta
    this.M = cfg.denoiseSteps
    this.noiseSize = noisePerStep(cfg.mode, d, cfg.denoiseSteps)
    this.calls = modelCallsPerStep(cfg.mode, cfg.denoiseSteps)
    this.tweedie = cfg.mode === 'bridge' && (cfg.scheme ?? DEFAULT_BRIDGE_SCHEME) === 'tweedie'
    if (cfg.mode === 'bridge-mh' && cfg.scheme !== undefined && cfg.scheme !== 'em') throw new UserError(`mode bridge-mh needs --scheme em (got ${cfg.scheme})`, 'bad-param')
    const rows = this.tweedie ? 2 * maxBatch : maxBatch
    this.sigma = new Float32Array(rows)
    this.s = new Float32Array(rows * d)
    this.xs = this.tweedie ? new Float32Array(rows * d) : undefined
    this.accepted = new Uint8Array(cfg.mode === 'bridge-mh' ? maxBatch : 0)
    this.logAlpha = new Float64Array(cfg.mode === 'bridge-mh' ? maxBatch : 0)
    if (isBridgeMode(cfg.mode)) {
      if (!model.smoothed) throw new UserError(`mode ${cfg.mode} needs a σ-smoothed score; ${model.name} only knows σ = 0: use --mode clean or tied`, 'bad-param')
      this.tau = bridgeGrid(sigmaKOf(cfg.eta, cfg.sigmaMin), cfg.sigmaMin, this.M)
      this.c0 = Math.sqrt(cfg.eta)
      this.h = new Float64Array(this.M)
      this.g = new Float64Array(this.M)
      for (let i = 0; i < this.M; i++) {
        const hi = this.tau[i]! * this.tau[i]! - this.tau[i + 1]! * this.tau[i + 1]!
        this.h[i] = hi
        this.g[i] = Math.sqrt(hi)
      }
      this.langevinSigma = NaN
      this.c = NaN
      this.mh = cfg.mode === 'bridge-mh' ? new MetropolisBridge(model, this.tau, this.c0, maxBatch, this.accepted, this.logAlpha, cfg.mhPreconditioner) : undefined
    } else {
      this.mh = undefined
      this.tau = new Float64Array(0)
      this.h = new Float64Array(0)
      this.g = new Float64Array(0)
      this.c0 = NaN
      this.langevinSigma = cfg.mode === 'tied' ? Math.sqrt(2 * cfg.eta) : cfg.sigmaMin
      this.c = Math.sqrt(2 * cfg.eta)
      this.sigma.fill(this.langevinSigma)
    }
    if (model.rigidBody) {
      if (!model.reference || model.reference.length !== d || d % 3 !== 0) {
        throw new UserError(`${model.name}: a rigid-body model needs a reference of length d = 3N = ${d}`, 'bad-model')
      }
      // bridge-mh does not re-align: alignment is not density-preserving (docs/sampler-integrators.md)
      if (cfg.mode !== 'bridge-mh') this.aligner = new Aligner(model.reference, d / 3)
      if (!isBridgeMode(cfg.mode)) {
        this.projector = new RigidBodyProjector(d / 3)
        this.incr = new Float32Array(d)
      }
    }
  }

  /**
   * out[b] = Φ(y[b], noise[b]) for b < batch (rows of d; noise rows of noiseSize). `out` may be `y`.
   * Returns a Promise only when the model's score is asynchronous.
   */
  step(y: Float32Array, noise: Float32Array, batch: number, out: Float32Array): void | Promise<void> {
    if (batch > this.maxBatch) throw new RangeError(`AdapterStep: batch ${batch} exceeds the allocated ${this.maxBatch}`)
    if (this.mh) return this.mh.step(y, noise, this.noiseSize, batch, out)
    if (this.mode === 'bridge') {
      this.bridgeStart(y, noise, batch, out)
      return this.bridgeFrom(0, noise, batch, out)
    }
    const p = this.model.score(y, this.sigma, batch, this.s)
    if (p) {
      this.background?.()
      return p.then(() => this.langevinFinish(y, noise, batch, out))
    }
    this.langevinFinish(y, noise, batch, out)
  }

  private bridgeStart(y: Float32Array, noise: Float32Array, batch: number, out: Float32Array): void {
    const d = this.dim
    const P = this.noiseSize
    const c0 = this.c0
    for (let b = 0; b < batch; b++) {
      const o = b * d
      const n = b * P
      for (let i = 0; i < d; i++) out[o + i] = y[o + i]! + c0 * noise[n + i]!
    }
  }

  private bridgeFrom(i0: number, noise: Float32Array, batch: number, out: Float32Array): void | Promise<void> {
    for (let i = i0; i < this.M; i++) {
      let p: void | Promise<void>
      if (this.tweedie) {
        this.tweedieRows(i, noise, batch, out)
        this.sigma.fill(this.tau[i]!, 0, 2 * batch)
        p = this.model.score(this.xs!, this.sigma, 2 * batch, this.s)
      } else {
        this.sigma.fill(this.tau[i]!, 0, batch)
        p = this.model.score(out, this.sigma, batch, this.s)
      }
      if (p) {
        this.background?.()
        return p.then(() => {
          this.bridgeApply(i, noise, batch, out)
          return this.bridgeFrom(i + 1, noise, batch, out)
        })
      }
      this.bridgeApply(i, noise, batch, out)
    }
    if (this.aligner) {
      const t0 = this.timer ? this.timer.now() : 0
      for (let b = 0; b < batch; b++) this.aligner.align(out, b * this.dim)
      if (this.timer) this.timer.alignment += this.timer.now() - t0
    }
  }

  /** tweedie: xs = [x (batch rows); x + √h_i·z_i (batch rows)] */
  private tweedieRows(i: number, noise: Float32Array, batch: number, out: Float32Array): void {
    const d = this.dim
    const P = this.noiseSize
    const g = this.g[i]!
    const xs = this.xs!
    const zoff = (1 + i) * d
    const shift = batch * d
    for (let b = 0; b < batch; b++) {
      const o = b * d
      const n = b * P + zoff
      for (let k = 0; k < d; k++) {
        const x = out[o + k]!
        xs[o + k] = x
        xs[shift + o + k] = x + g * noise[n + k]!
      }
    }
  }

  private bridgeApply(i: number, noise: Float32Array, batch: number, out: Float32Array): void {
    const d = this.dim
    const P = this.noiseSize
    const h = this.h[i]!
    const g = this.g[i]!
    const s = this.s
    const zoff = (1 + i) * d
    if (this.tweedie) {
      // x + h·s₀ + √h·z + (h/2)(s₁ − s₀), s₀ = s(x), s₁ = s(x + √h·z) (rows batch … 2·batch−1)
      const half = h / 2
      const shift = batch * d
      for (let b = 0; b < batch; b++) {
        const o = b * d
        const n = b * P + zoff
        for (let k = 0; k < d; k++) {
          const s0 = s[o + k]!
          out[o + k] = out[o + k]! + h * s0 + g * noise[n + k]! + half * (s[shift + o + k]! - s0)
        }
      }
      return
    }
    for (let b = 0; b < batch; b++) {
      const o = b * d
      const n = b * P + zoff
      for (let k = 0; k < d; k++) out[o + k] = out[o + k]! + h * s[o + k]! + g * noise[n + k]!
    }
  }

  private langevinFinish(y: Float32Array, noise: Float32Array, batch: number, out: Float32Array): void {
    const d = this.dim
    const P = this.noiseSize
    const eta = this.eta
    const c = this.c
    const s = this.s
    if (!this.projector) {
      for (let b = 0; b < batch; b++) {
        const o = b * d
        const n = b * P
        for (let k = 0; k < d; k++) out[o + k] = y[o + k]! + eta * s[o + k]! + c * noise[n + k]!
      }
      return
    }
    const v = this.incr!
    const timer = this.timer
    let tAlign = 0
    for (let b = 0; b < batch; b++) {
      const o = b * d
      const n = b * P
      for (let k = 0; k < d; k++) v[k] = eta * s[o + k]! + c * noise[n + k]!
      const t0 = timer ? timer.now() : 0
      this.projector.project(v, y, 0, o)
      for (let k = 0; k < d; k++) out[o + k] = y[o + k]! + v[k]!
      this.aligner!.align(out, o)
      if (timer) tAlign += timer.now() - t0
    }
    if (timer) timer.alignment += tAlign
  }
}
