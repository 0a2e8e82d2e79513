/**
 * API schemas of the model self-check (docs/self-check.md): model.selfCheck starts a job that runs
 * the check on a registry model (in a worker thread), with `model.selfCheck.progress` events and a
 * `model.selfCheck.done` event; model.selfCheckJobs lists jobs with their report (a reload
 * re-attaches); model.cancel stops one; model.selfCheckReport reads the last stored report.
 */
import { z } from 'zod'
import { idSchema as id } from './ids'
import { MAX_RESOLUTION } from '../core/selfcheck/plan'
import { SELF_CHECK_TOLERANCE, timescaleErrorText } from '../core/selfcheck/compare'
import { calibratedStep, calibratedTimeBandPct, maxCalibratedEtaTime, type TimeCalibration } from '../core/selfcheck/time-calibration'

export const SELF_CHECK_MODES = ['bridge', 'bridge-mh', 'tied', 'clean'] as const

/** what the model card keeps of a check (src/core/nn/card.ts SelfCheckSummary) */
export const SelfCheckSummary = z
  .object({
    createdAt: z.string(),
    diffusion: z.number(),
    mode: z.string(),
    denoiseSteps: z.number(),
    sigmaMin: z.number(),
    replicas: z.number(),
    /** replicas per run when the check ended (its rounds may have added some) */
    replicasUsed: z.number().optional(),
    nsPerReplica: z.number(),
    perDt: z.array(
      z.object({ dtPs: z.number(), equilibriumOk: z.boolean(), equilibriumUnresolved: z.boolean().optional(), kineticsOk: z.boolean(), jsd: z.number().nullable(), acceptance: z.number().nullable().optional(), timescaleError: z.number().nullable().optional(), timescaleSe: z.number().nullable().optional() }).passthrough()
    ),
    recommendedDtPs: z.number().optional(),
    /** reverse steps per adapter step the integrator-resolution run recommends (the Sample panel's default M) */
    recommendedDenoiseSteps: z.number().int().positive().optional(),
    /** the integrator-resolution run: its Δt, M, largest JSD against the i.i.d. samples, and what it found */
    resolution: z.object({ dtPs: z.number(), denoiseSteps: z.number(), jsd: z.number(), baseJsd: z.number(), drifts: z.boolean(), finding: z.enum(['fixed', 'partly', 'model']) }).optional(),
    verdict: z.string(),
  })
  .passthrough()
export type SelfCheckSummary = z.infer<typeof SelfCheckSummary>

export const SelfCheckSettings = z
  .object({
    /** candidate Δt per adapter step (ps); each also runs at Δt/2 */
    dtPs: z.array(z.number().positive().max(1000)).min(1).max(8).optional(),
    /** ns per replica of every run */
    nsPerReplica: z.number().positive().max(10_000).optional(),
    replicas: z.number().int().min(4).max(1024).optional(),
    /** the most replicas the check's rounds may reach (≥ replicas; docs/self-check.md "Rounds") */
    maxReplicas: z.number().int().min(4).max(1024).optional(),
    /** D (Å²/ps) */
    diffusion: z.number().positive().max(1000).optional(),
    mode: z.enum(SELF_CHECK_MODES).optional(),
    denoiseSteps: z.number().int().min(1).max(1000).optional(),
    iidSamples: z.number().int().min(100).max(100_000).optional(),
    iidSteps: z.number().int().min(2).max(5000).optional(),
    /** integrator resolution: the largest drifting Δt again with this many times the reverse steps (1 = off; docs/self-check.md) */
    resolution: z.number().min(1).max(MAX_RESOLUTION).optional(),
    seed: z.number().int().min(0).max(2 ** 31 - 1).optional(),
  })
  .strict()
export type SelfCheckSettings = z.infer<typeof SelfCheckSettings>

export const SelfCheckJob = z.object({
  jobId: z.string(),
  projectId: z.string(),
  modelId: z.string(),
  /** the dataset whose frames served as the training snapshots (null: the files the card names) */
  datasetId: z.string().nullable(),
  /** where the snapshots came from, for display */
  dataLabel: z.string(),
  settings: SelfCheckSettings,
  started: z.string(),
  state: z.enum(['running', 'done', 'failed', 'cancelled']),
  stage: z.string(),
  /** overall fraction done (cost-weighted over the stages) */
  fraction: z.number(),
  /** seconds since the start */
  elapsedSeconds: z.number(),
  /** estimated seconds left (null until there is progress to go by) */
  etaSeconds: z.number().nullable(),
  summary: SelfCheckSummary.nullable(),
  /** the full report (src/core/selfcheck SelfCheckReport as JSON: NaN and ±∞ become null) */
  report: z.unknown().nullable(),
  error: z.string().nullable(),
})
export type SelfCheckJob = z.infer<typeof SelfCheckJob>

export const SelfCheckProgress = z.object({
  jobId: z.string(),
  projectId: z.string(),
  modelId: z.string(),
  stage: z.string(),
  fraction: z.number(),
  elapsedSeconds: z.number(),
  etaSeconds: z.number().nullable(),
})
export type SelfCheckProgress = z.infer<typeof SelfCheckProgress>

export const selfCheckContract = {
  'model.selfCheck': {
    input: z
      .object({
        projectId: id,
        modelId: id,
        /** the training snapshots: this dataset's frames (default: the model's own dataset, else the files its card names, else a project dataset with the model's atoms) */
        datasetId: id.optional(),
        settings: SelfCheckSettings.optional(),
      })
      .strict(),
    output: SelfCheckJob,
  },
  'model.selfCheckJobs': { input: z.object({ projectId: id.optional() }).strict(), output: z.array(SelfCheckJob) },
  'model.selfCheckReport': {
    input: z.object({ projectId: id, modelId: id }).strict(),
    output: z.object({ summary: SelfCheckSummary, report: z.unknown(), dataLabel: z.string() }).nullable(),
  },
} as const

/**
 * The Sample panel's framing for a recommended Δt per adapter step: each adapter step exactly
 * `dtStep` ps, the frame spacing a whole number of steps as close to `dtPerFrame` as that allows
 * (5 ps frames: 2.5 → 2 steps of 2.5 ps; 0.5 → 10 steps; 2 → 3 steps, 6-ps frames).
 */
export function framingForStep(dtPerFrame: number, dtStep: number): { dtPerFrame: number; innerSteps: number } {
  const k = Number.isFinite(dtPerFrame) && dtPerFrame > 0 ? Math.max(1, Math.round(dtPerFrame / dtStep)) : 1
  return { dtPerFrame: Number((k * dtStep).toPrecision(12)), innerSteps: k }
}

/** a model card's self-check summary, when it has a well-formed one */
export function selfCheckOf(card: unknown): SelfCheckSummary | undefined {
  const sc = card && typeof card === 'object' ? (card as { selfCheck?: unknown }).selfCheck : undefined
  const parsed = SelfCheckSummary.safeParse(sc)
  return parsed.success ? parsed.data : undefined
}

/** the reverse steps per adapter step a model card's self-check recommends, if any */
export function recommendedDenoiseStepsOf(card: unknown): number | undefined {
  return selfCheckOf(card)?.recommendedDenoiseSteps
}

/** the recommended Δt per adapter step (ps) a model card's self-check summary holds, if any */
export function recommendedDtOf(card: unknown): number | undefined {
  const r = selfCheckOf(card)?.recommendedDtPs
  return typeof r === 'number' && r > 0 && Number.isFinite(r) ? r : undefined
}

/** the check's fitted time-scale slope in units of the step η, resolved or not (timeCalibrationOf) */
function fittedSlopeOf(card: unknown, mode?: string): TimeCalibration | undefined {
  const sc = selfCheckOf(card)
  if (!sc || !(sc.diffusion > 0) || (mode !== undefined && sc.mode !== mode)) return undefined
  const rows = sc.perDt.filter((r) => typeof r.timescaleError === 'number' && typeof r.timescaleSe === 'number' && r.dtPs > 0 && Number.isFinite(r.timescaleError) && Number.isFinite(r.timescaleSe))
  if (rows.length === 0) return undefined
  const widest = rows.reduce((a, b) => (b.dtPs > a.dtPs ? b : a))
  const eta = widest.dtPs * sc.diffusion
  return { slopePerEta: widest.timescaleError! / eta, slopePerEtaSe: Math.abs(widest.timescaleSe!) / eta, maxEta: eta, checkedOn: sc.createdAt.slice(0, 10) }
}

/** a slope the check resolved: at least kineticsZ (2) standard errors from zero */
function resolved(cal: TimeCalibration): boolean {
  return Math.abs(cal.slopePerEta) >= SELF_CHECK_TOLERANCE.kineticsZ * cal.slopePerEtaSe
}

/**
 * The time calibration a model card's self-check holds (docs/self-check.md "Calibrated time"): its
 * fitted slope of the ln kinetic time scale against Δt, in units of the step η (slope / D of the
 * check), for runs in the check's mode. Each row's timescaleError is slope·Δt, so any row gives
 * it; the widest one is read. Only a slope the check resolved (2 standard errors from zero)
 * calibrates: an unresolved one would add its noise to the time axis, and the check found no drift
 * the calibration could correct. Undefined without a check, a fit, a resolved slope, or for another
 * sampler mode.
 */
export function timeCalibrationOf(card: unknown, mode = 'bridge'): TimeCalibration | undefined {
  const cal = fittedSlopeOf(card, mode)
  return cal && resolved(cal) ? cal : undefined
}

/** what a model's self-check says of one Δt per adapter step (dtAdviceOf) */
export interface DtAdvice {
  /** the check's recommended Δt (ps), when it recommended one */
  recommendedDtPs?: number
  /** D (Å²/ps) the check ran at: the time axis of its Δt */
  diffusion: number
  /** the day of the check (YYYY-MM-DD) */
  checkedOn: string
  /** the check does not vouch for this Δt: above the recommendation, or flagged at this Δt */
  outside: boolean
  /** one line for the user when outside (no trailing period) */
  line?: string
  /** a calibrated step (docs/self-check.md "Calibrated time"): the Δt its width η stands for at this D, and the ± of its ln time scale */
  calibrated?: { nominalDtPs: number; lnTimeSe: number }
}

/** a Δt matches a checked one within this fraction (the app's D of 0.05 against the check's 0.0498868) */
const DT_MATCH = 0.01

/**
 * What the self-check stored in a model card says of running at `dtPs` with D = `diffusion`
 * (Å²/ps; default the check's) (docs/self-check.md "Using the verdict"). A step is η = D·Δt, so
 * the run's step is compared with the check's as the check's Δt of the same η, within 1 %. A Δt
 * the check ran and flagged (kinetics changed or undecided, equilibrium drifted), a Δt above the
 * recommended one, or any Δt when it recommended none, is `outside`, with a line that says why.
 * A Δt at or below the recommendation that the check did not flag is inside: the kinetic error
 * the check fits shrinks with Δt. No check (or a malformed one): undefined.
 */
export function dtAdviceOf(card: unknown, dtPs: number, diffusion?: number, calibration?: TimeCalibration): DtAdvice | undefined {
  const sc = selfCheckOf(card)
  if (!sc || !(dtPs > 0) || !(sc.diffusion > 0)) return undefined
  const D = diffusion !== undefined && diffusion > 0 ? diffusion : sc.diffusion
  if (calibration) return calibratedAdvice(sc, dtPs, D, calibration, recommendedDtOf(card))
  const eq = (dtPs * D) / sc.diffusion // the check's Δt of the same step η
  const rec = recommendedDtOf(card)
  const near = (a: number, b: number) => Math.abs(a - b) <= DT_MATCH * b
  const row = sc.perDt.find((r) => near(eq, r.dtPs))
  const checkedOn = sc.createdAt.slice(0, 10)
  const says: string[] = []
  if (row) {
    const err = typeof row.timescaleError === 'number' && typeof row.timescaleSe === 'number' ? `the kinetic time scale ${timescaleErrorText(row.timescaleError, row.timescaleSe)} against Δt → 0` : undefined
    if (!row.kineticsOk) says.push(err ? `${err}, not shown within tolerance` : 'the kinetics change when Δt is halved')
    if (!row.equilibriumOk && !row.equilibriumUnresolved) says.push(`the equilibrium drifts from the model's i.i.d. samples${row.jsd !== null ? ` (JSD ${Number(row.jsd.toPrecision(2))})` : ''}`)
  }
  const above = rec !== undefined && eq > rec && !near(eq, rec)
  const outside = says.length > 0 || above || rec === undefined
  if (!outside) return { recommendedDtPs: rec, diffusion: sc.diffusion, checkedOn, outside }
  const step = near(D, sc.diffusion) ? `${dtPs} ps` : `${dtPs} ps at D = ${D} Å²/ps (its ${Number(eq.toPrecision(3))} ps at D = ${sc.diffusion})`
  // a check whose every Δt fell short still names the best it tried (docs/self-check.md "Verdict")
  const bestTried = rec !== undefined && row !== undefined && says.length > 0 && near(row.dtPs, rec)
  const head =
    rec === undefined
      ? `the model's self-check (${checkedOn}) recommends no Δt`
      : bestTried
        ? `the model's self-check (${checkedOn}) recommends ${rec} ps per adapter step only as the best Δt it tried`
        : `the model's self-check (${checkedOn}) recommends Δt ≤ ${rec} ps per adapter step`
  const tail = says.length ? `at ${step} it found ${says.join(' and ')}` : above ? `${step} is above it` : row ? `it could not vouch for ${step}` : `${step} was not checked`
  return { ...(rec !== undefined ? { recommendedDtPs: rec } : {}), diffusion: sc.diffusion, checkedOn, outside, line: `${head}; ${tail}` }
}

/**
 * The largest Δt the check ran (ps, at its D) that calibrated time vouches for (dtAdviceOf with the
 * card's calibration), when it is above the check's recommendation; undefined otherwise. It tells
 * the user how far calibrated steps may go (docs/self-check.md "Calibrated time").
 */
export function calibratedLimitOf(card: unknown): number | undefined {
  const sc = selfCheckOf(card)
  const cal = timeCalibrationOf(card, sc?.mode)
  if (!sc || !cal) return undefined
  const rec = recommendedDtOf(card) ?? 0
  const ok = sc.perDt.map((r) => r.dtPs).filter((dt) => dt > rec && dtAdviceOf(card, dt, sc.diffusion, cal)?.outside === false)
  return ok.length ? Math.max(...ok) : undefined
}

/**
 * One sentence on a check's time calibration for the Check tab and `diffmd check`: the fitted change of
 * the kinetic time scale per ps of Δt, and how far calibrated steps are vouched for (calibratedLimitOf).
 * Undefined when the check has no fit.
 */
export function calibrationLineOf(card: unknown): string | undefined {
  const sc = selfCheckOf(card)
  const fit = fittedSlopeOf(card)
  if (!sc || !fit) return undefined
  const pct = (x: number) => (100 * x * sc.diffusion).toFixed(1).replace('-', '−')
  const change = `${pct(fit.slopePerEta)} ± ${pct(fit.slopePerEtaSe)} % per ps of Δt`
  if (!resolved(fit)) return `Calibrated time: not applied; the kinetic time scale's change, ${change}, is not resolved (longer runs would resolve it).`
  const limit = calibratedLimitOf(card)
  return `Calibrated time: the kinetic time scale changes by ${change}, so each step takes the width that relaxes like its Δt${limit !== undefined ? `; calibrated steps are vouched for up to ${limit} ps` : ''}.`
}

function calibratedAdvice(sc: SelfCheckSummary, dtPs: number, D: number, cal: TimeCalibration, rec: number | undefined): DtAdvice {
  const checkedOn = sc.createdAt.slice(0, 10)
  const base = { ...(rec !== undefined ? { recommendedDtPs: rec } : {}), diffusion: sc.diffusion, checkedOn }
  const step = calibratedStep(D * dtPs, cal)
  if (!step) {
    const top = Number((maxCalibratedEtaTime(cal) / D).toPrecision(3))
    return { ...base, outside: true, line: `the model's self-check (${cal.checkedOn}) calibrates time for steps up to ${top} ps; ${dtPs} ps is beyond it (uncalibrated steps are not vouched for there either)` }
  }
  // the equilibrium of the checked Δt on either side of the step's width (the check's Δt of the same η)
  const w = step.eta / sc.diffusion
  const rows = [...sc.perDt].sort((a, b) => a.dtPs - b.dtPs)
  const below = rows.filter((r) => r.dtPs <= w * (1 + DT_MATCH)).pop()
  const above = rows.find((r) => r.dtPs >= w * (1 - DT_MATCH))
  const says: string[] = []
  for (const r of new Set([below, above].filter((x): x is NonNullable<typeof x> => x !== undefined))) {
    if (!r.equilibriumOk && !r.equilibriumUnresolved) says.push(`the equilibrium drifts at ${r.dtPs} ps${r.jsd !== null ? ` (JSD ${Number(r.jsd.toPrecision(2))})` : ''}`)
  }
  if (SELF_CHECK_TOLERANCE.kineticsZ * step.lnTimeSe > Math.log(1 + SELF_CHECK_TOLERANCE.kineticsRelative)) says.push(`its calibrated time scale is known only to ±${calibratedTimeBandPct(step.lnTimeSe)} % (2 σ)`)
  const calibrated = { nominalDtPs: step.eta / D, lnTimeSe: step.lnTimeSe }
  if (says.length === 0) return { ...base, outside: false, calibrated }
  return { ...base, outside: true, calibrated, line: `the model's self-check (${checkedOn}) calibrates ${dtPs} ps steps, but ${says.join(' and ')}` }
}
