/**
 * The sampler settings a user types (docs/science.md "Units and conventions"), the quantities they imply, and their
 * validation. Shared by the renderer (live equivalences and one-line messages next to each field)
 * and the runs service (which refuses a run the renderer would have refused).
 *
 *   Δt_step = Δt_frame / adapter steps per frame          (ps)
 *   η       = D·Δt_step                                   (Å²)   one Euler–Maruyama step
 *   σ_K     = √(η + σ_min²)                               (Å)    adapter noise level
 *   k       = 1/(2η)                                      (Å⁻²)  adapter stiffness
 *   β       = 1/(k_B T)                                   (mol/kJ)
 *   Δt_red  = β/(2k) = β·η                                reduced units of the paper (D = 1/β)
 */
import { z } from 'zod'
import { betaOf, etaOf, kOfEta, reducedDt, sigmaKOf } from '../core/units'
import { DEFAULT_DENOISE_STEPS, DEFAULT_NOISE, MH_KERNELS, type MhKernel } from '../core/sampler/params'
import { MH_COVARIANCE_MAX_DIM } from '../core/sampler/metropolis'
import { calibratedStep, maxCalibratedEtaTime, type TimeCalibration } from '../core/selfcheck/time-calibration'

/** bridge-mh: the adapter step with a Metropolis test, exact for exp(−E(·, σ_min)) (energy models; docs/sampler-integrators.md) */
export const SamplerModeSchema = z.enum(['bridge', 'bridge-mh', 'tied', 'clean'])
export type SamplerModeName = z.infer<typeof SamplerModeSchema>
export const BackendSchema = z.enum(['auto', 'webgpu', 'wasm'])
export type BackendName = z.infer<typeof BackendSchema>

export const RunParamsSchema = z
  .object({
    mode: SamplerModeSchema,
    /** K */
    temperature: z.number(),
    /** Å²/ps */
    D: z.number(),
    /** ps per saved frame */
    dtPerFrame: z.number(),
    /** adapter steps per saved frame */
    innerSteps: z.number(),
    /** M, denoising steps per adapter step */
    denoiseSteps: z.number(),
    /** Å */
    sigmaMin: z.number(),
    replicas: z.number(),
    /** frames including frame 0 (the initial state) */
    frames: z.number(),
    seed: z.number(),
    backend: BackendSchema,
    /** Picard (time-parallel) window W in adapter steps; absent or 1 = one step at a time (docs/speed.md "Picard windows in the app") */
    picardWindow: z.number().optional(),
    /** Picard convergence tolerance (Å); absent = 0, the sequential frames exactly */
    picardTol: z.number().optional(),
    /** how the seeded Philox words become normals (docs/random-numbers.md); new runs record 'ziggurat', absent in runs made before */
    noise: z.enum(['box-muller', 'ziggurat']).optional(),
    /**
     * bridge-mh's down kernel (docs/sampler-integrators.md "Preconditioned down kernel"): covariance
     * (per-mode variances from the dataset frames' covariance; new bridge-mh runs default to it up
     * to MH_COVARIANCE_MAX_DIM coordinates) or em; absent in runs made before kernels = em
     */
    mhKernel: z.enum(MH_KERNELS).optional(),
    /**
     * calibrated time (docs/self-check.md "Calibrated time"): the model's self-check's time-scale
     * slope; each adapter step then takes the width η that relaxes like Δt_step of Brownian dynamics
     * (calibratedStep) instead of η = D·Δt_step. Absent: uncalibrated (runs made before it existed)
     */
    timeCalibration: z.object({ slopePerEta: z.number(), slopePerEtaSe: z.number(), maxEta: z.number().positive(), checkedOn: z.string() }).strict().optional(),
  })
  .strict()
export type RunParams = z.infer<typeof RunParamsSchema>

export const DEFAULT_RUN_PARAMS: RunParams = {
  mode: 'bridge',
  temperature: 300,
  D: 0.05,
  dtPerFrame: 5,
  innerSteps: 1,
  denoiseSteps: DEFAULT_DENOISE_STEPS,
  sigmaMin: 0.026,
  replicas: 4,
  // 2000 frames × 5 ps ≈ 10 ns per replica: above 20 τ_int of ala2's φ/ψ (≈ 390–450 ps), so the
  // default run's correlation times mean something (1000 frames, 5 ns, is marginal)
  frames: 2000,
  seed: 1,
  backend: 'auto',
}

export interface DerivedParams {
  /** ps, one adapter step */
  dtStep: number
  /** Å², η = D·Δt_step */
  eta: number
  /** Å, σ_K = √(η + σ_min²) */
  sigmaK: number
  /** Å⁻², k = 1/(2η) */
  k: number
  /** mol/kJ */
  beta: number
  /** Δt = β/(2k) in the paper's reduced units (mol/kJ·Å²) */
  dtReduced: number
  /** ps covered by the whole trajectory, (frames − 1)·Δt_frame */
  totalPs: number
  /**
   * with timeCalibration: the Δt (ps) the step's width η stands for uncalibrated (η/D) and the ± of its
   * ln time scale; null when Δt_step lies beyond the calibrated range (the run is refused, and η is D·Δt)
   */
  calibration?: { nominalDtPs: number; lnTimeSe: number } | null
}

export function deriveParams(p: Pick<RunParams, 'temperature' | 'D' | 'dtPerFrame' | 'innerSteps' | 'frames' | 'sigmaMin' | 'timeCalibration'>): DerivedParams {
  const dtStep = p.dtPerFrame / p.innerSteps
  const step = p.timeCalibration ? calibratedStep(etaOf(p.D, dtStep), p.timeCalibration) : undefined
  const eta = step ? step.eta : etaOf(p.D, dtStep)
  const k = kOfEta(eta)
  const beta = betaOf(p.temperature)
  const calibration = p.timeCalibration ? (step ? { nominalDtPs: step.eta / p.D, lnTimeSe: step.lnTimeSe } : null) : undefined
  return { dtStep, eta, sigmaK: sigmaKOf(eta, p.sigmaMin), k, beta, dtReduced: reducedDt(k, beta), totalPs: (p.frames - 1) * p.dtPerFrame, ...(calibration !== undefined ? { calibration } : {}) }
}

/** the largest Δt per adapter step (ps) a time calibration covers at diffusion D (docs/self-check.md "Calibrated time") */
export function maxCalibratedDtPs(cal: TimeCalibration, D: number): number {
  return maxCalibratedEtaTime(cal) / D
}

/** what a model card tells about sensible settings (all optional: imported models may lack them) */
export interface ModelLimits {
  /** d = 3N of the model */
  dim?: number
  /** σ range the model was trained on (Å) */
  sigmaRange?: readonly [number, number]
  /** temperature of the training data (K) */
  temperature?: number
  /** false when the model has no energy output (score-only): mode bridge-mh is refused */
  energy?: boolean
}

export type ParamField = keyof RunParams
export interface ParamCheck {
  /** one line per field that blocks a run */
  errors: Partial<Record<ParamField, string>>
  /** one line per field that is allowed but worth a look */
  warnings: Partial<Record<ParamField, string>>
}

const MAX_REPLICAS = 1024
const MAX_FRAMES = 10_000_000
/** refuse runs whose frames would not fit comfortably in memory for analysis (bytes) */
export const MAX_RUN_BYTES = 2 * 1024 ** 3

function num(x: number): string {
  return Number.isFinite(x) ? String(Number(x.toPrecision(4))) : String(x)
}

function isWhole(x: number, min: number, max: number): boolean {
  return Number.isInteger(x) && x >= min && x <= max
}

/** the core sampler's Picard options for these settings, or undefined for one step at a time */
export function picardOf(p: Pick<RunParams, 'picardWindow' | 'picardTol'>): { kind: 'picard'; window: number; tol: number } | undefined {
  return (p.picardWindow ?? 1) > 1 ? { kind: 'picard', window: p.picardWindow!, tol: p.picardTol ?? 0 } : undefined
}

/**
 * Below this M the Metropolis-corrected step rejects nearly everything on a learned molecular model:
 * its log acceptance falls as 1/M with the em down kernel's error (bench/RESULTS.md, `npm run bench:mh`).
 */
export const MH_MIN_STEPS = 80

/**
 * The down kernel a new run with these settings uses: the one asked for, else covariance for
 * bridge-mh on models it can handle (it accepts at M = 10–20 where em accepts ~0), else em.
 * Other modes have none (a kernel asked for is dropped). Stored runs record theirs; a bridge-mh
 * run without one (made before kernels existed) is em.
 */
export function mhKernelFor(p: Pick<RunParams, 'mode' | 'mhKernel'>, dim?: number): MhKernel | undefined {
  // the kernel belongs to bridge-mh; a choice the panel remembers does not follow other modes
  if (p.mode !== 'bridge-mh') return undefined
  return p.mhKernel ?? (dim === undefined || dim <= MH_COVARIANCE_MAX_DIM ? 'covariance' : 'em')
}

/**
 * The settings a new run (or cluster job) records: its noise kind (the current default when not
 * given) and, for bridge-mh, its down kernel (mhKernelFor), so resuming or remaking it later uses
 * the same normals and kernel whatever the defaults are then.
 */
export function newRunParams(p: RunParams, dim?: number): RunParams {
  const mhKernel = mhKernelFor(p, dim)
  const { mhKernel: _asked, ...rest } = p
  return { ...rest, noise: p.noise ?? DEFAULT_NOISE, ...(mhKernel ? { mhKernel } : {}) }
}

/** Validates settings field by field; every message is one line naming the setting and what to do. */
export function checkRunParams(p: RunParams, limits: ModelLimits = {}): ParamCheck {
  const errors: ParamCheck['errors'] = {}
  const warnings: ParamCheck['warnings'] = {}
  if (!(p.temperature > 0 && Number.isFinite(p.temperature))) errors.temperature = 'Temperature must be a positive number of K'
  else if (limits.temperature && Math.abs(p.temperature - limits.temperature) > 1e-6) {
    warnings.temperature = `the model was trained on data at ${num(limits.temperature)} K; the score does not change with T (temperature transfer is not supported yet)`
  }
  if (!(p.D > 0 && Number.isFinite(p.D))) errors.D = 'D must be a positive number of Å²/ps'
  if (!(p.dtPerFrame > 0 && Number.isFinite(p.dtPerFrame))) errors.dtPerFrame = 'Δt per frame must be a positive number of ps'
  if (!isWhole(p.innerSteps, 1, 100_000)) errors.innerSteps = 'Adapter steps per frame must be a whole number from 1 to 100000'
  if (!isWhole(p.denoiseSteps, 1, 10_000)) errors.denoiseSteps = 'Denoising steps M must be a whole number from 1 to 10000'
  else if (p.mode === 'bridge-mh' && mhKernelFor(p, limits.dim) === 'em' && p.denoiseSteps < MH_MIN_STEPS) {
    warnings.denoiseSteps = `bridge + Metropolis with the em kernel accepts almost no step with M = ${p.denoiseSteps}: its acceptance grows with M (on the ala2 model ~0 at 10, 21–36 % at 0.5 ps with 80–160); use M = 80–160 or the covariance kernel`
  }
  if (!(p.sigmaMin >= 0 && Number.isFinite(p.sigmaMin))) errors.sigmaMin = 'σ_min must be ≥ 0 Å'
  if (!isWhole(p.replicas, 1, MAX_REPLICAS)) errors.replicas = `Replicas must be a whole number from 1 to ${MAX_REPLICAS}`
  if (!isWhole(p.frames, 2, MAX_FRAMES)) errors.frames = `Frames must be a whole number from 2 to ${MAX_FRAMES}`
  if (!isWhole(p.seed, 0, Number.MAX_SAFE_INTEGER)) errors.seed = 'Seed must be a whole number ≥ 0'
  if (p.picardWindow !== undefined && !isWhole(p.picardWindow, 1, 256)) errors.picardWindow = 'Picard window must be a whole number of adapter steps from 1 (off) to 256'
  if (p.picardTol !== undefined && !(p.picardTol >= 0 && Number.isFinite(p.picardTol))) errors.picardTol = 'Picard tolerance must be ≥ 0 Å (0 = the sequential frames exactly)'
  if ((p.picardWindow ?? 1) > 1 && !errors.picardWindow) {
    if (p.mode === 'bridge-mh') errors.picardWindow = 'Picard windows do not run the Metropolis-corrected mode: use window 1 or mode bridge'
    else if (p.backend === 'wasm') warnings.picardWindow = 'on the CPU a window of W steps costs about W steps per sweep: Picard pays off on WebGPU, where one batched call costs about one call'
  }
  if (errors.D || errors.dtPerFrame || errors.innerSteps || errors.temperature) return { errors, warnings }
  const d = deriveParams(p)
  if (p.timeCalibration) {
    if (d.calibration === null) {
      errors.dtPerFrame = `Δt per adapter step ${num(d.dtStep)} ps is beyond the self-check's calibrated range (up to ${num(maxCalibratedDtPs(p.timeCalibration, p.D))} ps): use a smaller Δt or more adapter steps per frame, or switch calibrated time off`
    } else if (p.mode !== 'bridge') errors.mode = 'calibrated time holds for the bridge mode the self-check ran: use mode bridge or switch calibrated time off'
  }

  if (p.mode === 'bridge-mh' && p.mhKernel === 'covariance' && limits.dim !== undefined && limits.dim > MH_COVARIANCE_MAX_DIM) {
    errors.mhKernel = `the covariance down kernel handles up to ${MH_COVARIANCE_MAX_DIM / 3} atoms (its eigen-decomposition is dense); this model has ${limits.dim / 3}: use the em kernel`
  }
  if (p.mode === 'bridge-mh' && limits.energy === false) {
    errors.mode = 'Metropolis-corrected bridge needs an energy model (score = −∇E, e.g. architecture energy-mlp); this model gives only a score: use bridge'
  }
  if ((p.mode === 'bridge' || p.mode === 'bridge-mh') && !errors.sigmaMin) {
    if (p.sigmaMin === 0 && p.denoiseSteps > 1) {
      errors.sigmaMin = 'σ_min = 0 only works with M = 1: the geometric σ grid needs σ_min > 0'
    }
  }
  if (limits.sigmaRange && !errors.sigmaMin) {
    const [lo, hi] = limits.sigmaRange
    if (p.mode !== 'tied' && p.sigmaMin > 0 && p.sigmaMin < lo * 0.999) {
      warnings.sigmaMin = `σ_min = ${num(p.sigmaMin)} Å is below the model's training range (from ${num(lo)} Å): the score is extrapolated there`
    }
    const top = p.mode === 'tied' ? Math.sqrt(2 * d.eta) : d.sigmaK
    if (top > hi * 1.001 && !errors.dtPerFrame) {
      warnings.dtPerFrame = `the step's noise level ${num(top)} Å is above the model's training range (to ${num(hi)} Å): use a smaller Δt or more adapter steps per frame`
    }
  }
  if (limits.dim && !errors.replicas && !errors.frames) {
    const bytes = p.frames * p.replicas * limits.dim * 4
    if (bytes > MAX_RUN_BYTES) errors.frames = `${p.frames} frames × ${p.replicas} replicas would take ${(bytes / 1024 ** 3).toFixed(1)} GiB: use fewer frames or replicas`
  }
  return { errors, warnings }
}

export function firstError(c: ParamCheck): string | undefined {
  const k = Object.keys(c.errors)[0] as ParamField | undefined
  return k ? c.errors[k] : undefined
}
