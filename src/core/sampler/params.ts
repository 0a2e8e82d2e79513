/**
 * Sampler parameters (docs/science.md "Sampler modes: bridge, tied, clean") and their validation. Lengths in Å, η in Å².
 */
import { NOISE_KINDS, type NoiseKind } from '../rng/normals'
import type { ScoreModel } from '../score/types'
import type { TrustRegion } from './trust-region'
import { UserError } from '../errors'

/**
 * `bridge`: the adapter step (noise up by √η to σ_K = √(η + σ_min²), M reverse steps down to σ_min; default);
 * `bridge-mh`: the same step made an exact MCMC move for exp(−E(·, σ_min)) by a path-probability
 *   Metropolis test (energy models only; docs/sampler-integrators.md);
 * `tied`: x' = y + η·s(y, √(2η)) + √(2η)ξ;  `clean`: x' = y + η·s(y, σ_min) + √(2η)ξ (plain EM).
 */
export type SamplerMode = 'bridge' | 'bridge-mh' | 'tied' | 'clean'
export const SAMPLER_MODES: readonly SamplerMode[] = ['bridge', 'bridge-mh', 'tied', 'clean']

/** the adapter-step modes (noise up, reverse diffusion down) */
export function isBridgeMode(mode: SamplerMode): mode is 'bridge' | 'bridge-mh' {
  return mode === 'bridge' || mode === 'bridge-mh'
}

/**
 * The reverse step of the bridge (docs/sampler-integrators.md), both with mean x + h·s(x, τᵢ):
 * `em`: noise √h·z (Euler–Maruyama; the only kernel with a tractable density, so the one bridge-mh uses);
 * `tweedie`: noise √h·z + (h/2)(s(x + √h·z, τᵢ) − s(x, τᵢ)), covariance ≈ the exact posterior
 *   covariance h(I + h∇s); its second score evaluation is batched with the first (one call of 2B rows).
 */
export type ReverseScheme = 'em' | 'tweedie'
export const REVERSE_SCHEMES: readonly ReverseScheme[] = ['em', 'tweedie']
/**
 * M, the default number of reverse steps per adapter step: with the tweedie scheme, M = 10 costs the
 * 20 network evaluations that em at M = 20 did, with a seventh of its stiff-mode bias (+2.1 % against
 * +15.2 %; docs/sampler-integrators.md)
 */
export const DEFAULT_DENOISE_STEPS = 10

/** the default scheme of mode `bridge` (measured in docs/sampler-integrators.md) */
export const DEFAULT_BRIDGE_SCHEME: ReverseScheme = 'tweedie'

/** the scheme a run uses: bridge → p.scheme ?? tweedie; bridge-mh → em; Langevin modes → undefined */
export function schemeOf(p: { mode: SamplerMode; scheme?: ReverseScheme }): ReverseScheme | undefined {
  if (p.mode === 'bridge') return p.scheme ?? DEFAULT_BRIDGE_SCHEME
  if (p.mode === 'bridge-mh') return 'em'
  return undefined
}

export interface PicardOptions {
  kind: 'picard'
  /** adapter steps solved together per window (W; frames when innerSteps = 1) */
  window: number
  /** convergence tolerance on the largest per-frame coordinate change of a sweep (Å); 0 = exact */
  tol: number
}

export interface SamplerParams {
  mode: SamplerMode
  /** η = D·Δt of one adapter step (Å²); bridge: σ_K² = η + σ_min², adapter stiffness k = 1/(2η) */
  eta: number
  /** adapter steps per saved frame (≥ 1) */
  innerSteps: number
  /** M, reverse-diffusion steps per adapter step (bridge only; ≥ 1) */
  denoiseSteps: number
  /** reverse step of mode bridge (default tweedie); bridge-mh always uses em */
  scheme?: ReverseScheme
  /** σ_min (Å): noise level of the stored frames (bridge), score noise level (clean) */
  sigmaMin: number
  /** R, independent replicas (replica r uses normal stream r) */
  replicas: number
  /** F, frames in the trajectory including frame 0 = the initial state */
  frames: number
  /** seed of the counter-based normals (integer in [0, 2^53)) */
  seed: number
  /** hard wall around the data: steps that leave it (or give non-finite values) are rejected */
  trustRegion?: TrustRegion
  /** time-parallel (Picard) generation; same frames as sequential within `tol` */
  parallel?: PicardOptions
  /**
   * how the Philox words become normals (core/rng/normals.ts); absent = DEFAULT_NOISE for a fresh
   * run, the checkpoint's kind for a resumed one (resumeNoise). docs/random-numbers.md
   */
  noise?: NoiseKind
  /**
   * bridge-mh's down kernel: em (absent) or covariance, the per-mode variances from the training
   * data's covariance (metropolis.ts; the run's hooks carry that covariance). docs/sampler-integrators.md
   */
  mhKernel?: MhKernel
}

export const MH_KERNELS = ['em', 'covariance'] as const
export type MhKernel = (typeof MH_KERNELS)[number]

/** the sampler's noise for new runs: ziggurat normals, 6–8× cheaper than Box–Muller (docs/random-numbers.md) */
export const DEFAULT_NOISE: NoiseKind = 'ziggurat'

export function noiseOf(p: Pick<SamplerParams, 'noise'>): NoiseKind {
  return p.noise ?? DEFAULT_NOISE
}

function bad(message: string): never {
  throw new UserError(message, 'bad-param')
}

function positiveInt(v: number, what: string): void {
  if (!Number.isInteger(v) || v < 1) bad(`${what} must be a whole number ≥ 1 (got ${v})`)
}

/** Checks params against the model; throws a one-line UserError naming the parameter (and CLI flag). */
export function validateParams(model: ScoreModel, p: SamplerParams): void {
  if (!SAMPLER_MODES.includes(p.mode)) bad(`mode (--mode) must be one of ${SAMPLER_MODES.join(', ')} (got '${String(p.mode)}')`)
  if (!(p.eta > 0) || !Number.isFinite(p.eta)) bad(`eta = DΔt (--eta / --dt) must be a positive number of Å² (got ${p.eta})`)
  positiveInt(p.innerSteps, 'innerSteps (--inner-steps)')
  positiveInt(p.denoiseSteps, 'denoiseSteps (--denoise-steps)')
  positiveInt(p.replicas, 'replicas (--replicas)')
  positiveInt(p.frames, 'frames (--frames)')
  if (!Number.isSafeInteger(p.seed) || p.seed < 0) bad(`seed (--seed) must be a whole number from 0 to 2^53−1 (got ${p.seed})`)
  if (p.mhKernel !== undefined && !MH_KERNELS.includes(p.mhKernel)) bad(`mhKernel (--mh-kernel) must be one of ${MH_KERNELS.join(', ')} (got '${String(p.mhKernel)}')`)
  if (p.mhKernel === 'covariance' && p.mode !== 'bridge-mh') bad(`--mh-kernel covariance is the Metropolis-corrected step's down kernel: use it with --mode bridge-mh`)
  if (p.noise !== undefined && !NOISE_KINDS.includes(p.noise)) bad(`noise (--noise) must be one of ${NOISE_KINDS.join(', ')} (got '${String(p.noise)}')`)
  if (!(p.sigmaMin >= 0) || !Number.isFinite(p.sigmaMin)) bad(`sigmaMin (--sigma-min) must be ≥ 0 Å (got ${p.sigmaMin})`)
  if (p.replicas > 0xffffffff) bad(`replicas (--replicas) must be below 2^32`)
  if (p.scheme !== undefined && !REVERSE_SCHEMES.includes(p.scheme)) bad(`scheme (--scheme) must be one of ${REVERSE_SCHEMES.join(', ')} (got '${String(p.scheme)}')`)
  if (p.mode === 'bridge-mh') {
    if (p.scheme !== undefined && p.scheme !== 'em') {
      bad(`mode bridge-mh needs reverse steps with a tractable density: use --scheme em (the default in this mode), not ${p.scheme}`)
    }
    if (!model.energy || model.hasEnergy === false) {
      bad(`mode bridge-mh needs an energy model (score = −∇E, e.g. --arch energy-mlp); ${model.name} gives only a score: use --mode bridge`)
    }
  }
  if (isBridgeMode(p.mode)) {
    if (!model.smoothed) {
      bad(`mode ${p.mode} needs a score of the σ-smoothed density at every σ, but ${model.name} only knows the σ = 0 score: use --mode clean or tied`)
    }
    if (p.sigmaMin === 0 && p.denoiseSteps > 1) {
      bad(`sigmaMin (--sigma-min) = 0 only works with one denoising step: the geometric σ grid needs σ_min > 0 when --denoise-steps > 1`)
    }
  }
  if (model.rigidBody) {
    if (!model.reference || model.reference.length !== model.dim) bad(`${model.name}: rigid-body models need a reference structure of length ${model.dim}`)
    if (model.dim % 3 !== 0) bad(`${model.name}: rigid-body models need d = 3N coordinates (got ${model.dim})`)
  }
  if (p.parallel) {
    if (p.parallel.kind !== 'picard') bad(`parallel (--parallel) must be picard (got '${String(p.parallel.kind)}')`)
    positiveInt(p.parallel.window, 'parallel window (--window)')
    if (!(p.parallel.tol >= 0) || !Number.isFinite(p.parallel.tol)) bad(`parallel tol (--tol) must be ≥ 0 Å (got ${p.parallel.tol})`)
  }
}

/** compact number formatting for messages */
export function fmt(x: number): string {
  return Number.isFinite(x) ? String(Number(x.toPrecision(6))) : String(x)
}
