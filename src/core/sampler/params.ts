/**
 * Sampler parameters (docs/science.md "Sampler modes: bridge, tied, clean") and their validation. Lengths in Å, η in Å².
 */
import type { ScoreModel } from '../score/types'
import type { TrustRegion } from './trust-region'
import { UserError } from '../errors'

/**
 * `bridge`: the adapter step (noise up to σ_K = √η, M reverse steps down to σ_min; default);
 * `tied`: x' = y + η·s(y, √(2η)) + √(2η)ξ;  `clean`: x' = y + η·s(y, σ_min) + √(2η)ξ (plain EM).
 */
export type SamplerMode = 'bridge' | 'tied' | 'clean'
export const SAMPLER_MODES: readonly SamplerMode[] = ['bridge', 'tied', 'clean']

export interface PicardOptions {
  kind: 'picard'
  /** adapter steps solved together per window (W; frames when innerSteps = 1) */
  window: number
  /** convergence tolerance on the largest per-frame coordinate change of a sweep (Å); 0 = exact */
  tol: number
}

export interface SamplerParams {
  mode: SamplerMode
  /** η = D·Δt of one adapter step (Å²); bridge: σ_K² = η, adapter stiffness k = 1/(2η) */
  eta: number
  /** adapter steps per saved frame (≥ 1) */
  innerSteps: number
  /** M, reverse-diffusion steps per adapter step (bridge only; ≥ 1) */
  denoiseSteps: number
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
  if (!(p.sigmaMin >= 0) || !Number.isFinite(p.sigmaMin)) bad(`sigmaMin (--sigma-min) must be ≥ 0 Å (got ${p.sigmaMin})`)
  if (p.replicas > 0xffffffff) bad(`replicas (--replicas) must be below 2^32`)
  if (p.mode === 'bridge') {
    if (!model.smoothed) {
      bad(`mode bridge needs a score of the σ-smoothed density at every σ, but ${model.name} only knows the σ = 0 score: use --mode clean or tied`)
    }
    const sigmaK = Math.sqrt(p.eta)
    if (!(sigmaK > p.sigmaMin)) {
      bad(`σ_K = √η = ${fmt(sigmaK)} Å must exceed σ_min = ${fmt(p.sigmaMin)} Å (--sigma-min): use a larger η (--eta / --dt) or a smaller --sigma-min`)
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
