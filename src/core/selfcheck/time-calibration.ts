/**
 * Calibrated time for adapter steps (docs/self-check.md "Calibrated time").
 *
 * A step of η = D·Δt is one Euler–Maruyama step only to first order: at σ_K comparable with the
 * width of a free-energy well the step relaxes the slow coordinates faster than Brownian dynamics
 * (docs/sampler-integrators.md "The step's own kinetics"). The self-check measures this without
 * reference MD: it fits the log kinetic time scale of runs at several η as ln T = a + b′·η
 * (fitTimescales; b′ = slope per ps / D of the check). A step of η then relaxes the system as
 * Brownian dynamics does in η·e^{−b′η}/D ps, not η/D. To make one step last a chosen Δt, the
 * sampler takes the η that solves
 *
 *     η·exp(−b′·η) = D·Δt.
 *
 * The step's equilibrium is not touched (any η leaves p_σmin invariant with an exact score); only
 * its width, and so its cost per ps, changes. For an exact Gaussian (time scale known in closed form)
 * this turns the step's time error from O(η²) into O(η³) (tests/unit/selfcheck/time-calibration.test.ts).
 */

/** a self-check's fitted time-scale slope, in units of the step η (what a run records) */
export interface TimeCalibration {
  /** b′ (Å⁻²): d ln T / dη, from the check's fit (negative = large steps relax too fast) */
  slopePerEta: number
  /** its standard error (Å⁻²) */
  slopePerEtaSe: number
  /** the largest η (Å²) the check ran: calibration is an interpolation, never extrapolated beyond it */
  maxEta: number
  /** the day of the check (YYYY-MM-DD) */
  checkedOn: string
}

/** the 2-σ band of a calibrated step's time, in per cent (exp(2·lnTimeSe) − 1), as every message writes it */
export function calibratedTimeBandPct(lnTimeSe: number): string {
  return (100 * (Math.exp(2 * lnTimeSe) - 1)).toFixed(0)
}

/** the η-time a step of η covers: η·exp(−b′η) (Å², i.e. D·ps) */
export function calibratedEtaTime(eta: number, slopePerEta: number): number {
  return eta * Math.exp(-slopePerEta * eta)
}

/**
 * The largest physical η-time (D·Δt, Å²) a calibration can make a step cover: the η-time of its
 * largest checked η, or of η = 1/b′ where η·e^{−b′η} stops growing (b′ > 0: steps too slow).
 */
export function maxCalibratedEtaTime(cal: Pick<TimeCalibration, 'slopePerEta' | 'maxEta'>): number {
  const top = cal.slopePerEta > 0 ? Math.min(cal.maxEta, 1 / cal.slopePerEta) : cal.maxEta
  return calibratedEtaTime(top, cal.slopePerEta)
}

export interface CalibratedStep {
  /** the step width η (Å²) the sampler runs */
  eta: number
  /** the physical η-time D·Δt (Å²) it covers */
  etaTime: number
  /** the standard error of the step's ln time scale after calibration: slope error × η */
  lnTimeSe: number
}

/**
 * The step width η whose calibrated time is `etaTime` = D·Δt (Å²): the root of η·e^{−b′η} = etaTime
 * in (0, min(maxEta, 1/b′)], where the left side rises monotonically. Undefined when etaTime is not
 * positive or lies beyond maxCalibratedEtaTime (the check did not run steps that wide).
 */
export function calibratedStep(etaTime: number, cal: TimeCalibration): CalibratedStep | undefined {
  const b = cal.slopePerEta
  if (!(etaTime > 0) || !Number.isFinite(etaTime) || !Number.isFinite(b) || !(cal.maxEta > 0)) return undefined
  const top = b > 0 ? Math.min(cal.maxEta, 1 / b) : cal.maxEta
  const f = (x: number) => calibratedEtaTime(x, b) - etaTime
  if (f(top) < -1e-12 * etaTime) return undefined
  // f rises monotonically on (0, top]: bisection for a bracket, Newton to finish
  let lo = 0
  let hi = top
  let x = Math.min(etaTime, top)
  for (let i = 0; i < 200; i++) {
    const fx = f(x)
    if (Math.abs(fx) <= 1e-15 * etaTime) break
    if (fx > 0) hi = x
    else lo = x
    const d = Math.exp(-b * x) * (1 - b * x)
    let next = x - fx / d
    if (!(next > lo && next < hi)) next = 0.5 * (lo + hi)
    if (Math.abs(next - x) <= 1e-15 * x) {
      x = next
      break
    }
    x = next
  }
  return { eta: x, etaTime, lnTimeSe: Math.abs(cal.slopePerEtaSe) * x }
}
