/**
 * dtAdviceOf: what a model card's self-check says of one Δt per adapter step (docs/self-check.md
 * "Using the verdict"). Every case is a card written here, so each expected line is exact.
 */
import { describe, expect, it } from 'vitest'
import { calibratedLimitOf, calibrationLineOf, dtAdviceOf, timeCalibrationOf } from '../../../src/api/selfcheck'

const D = 0.0498868
/** a check like the shipped model's: 0.5–2 ps fine, 5 ps kinetics undecided at −18 ± 9 % */
function card(over: Record<string, unknown> = {}, rows?: Record<string, unknown>[]) {
  return {
    name: 'm',
    selfCheck: {
      createdAt: '2026-12-03T04:00:00.000Z',
      diffusion: D,
      mode: 'bridge',
      denoiseSteps: 10,
      sigmaMin: 0.04,
      replicas: 16,
      nsPerReplica: 5,
      perDt: rows ?? [
        { dtPs: 0.5, equilibriumOk: false, equilibriumUnresolved: true, kineticsOk: true, jsd: 0.004, timescaleError: Math.log(0.98), timescaleSe: 0.01 },
        { dtPs: 1, equilibriumOk: true, kineticsOk: true, jsd: 0.005, timescaleError: Math.log(0.96), timescaleSe: 0.02 },
        { dtPs: 2, equilibriumOk: true, kineticsOk: true, jsd: 0.004, timescaleError: Math.log(0.92), timescaleSe: 0.04 },
        { dtPs: 5, equilibriumOk: true, kineticsOk: false, jsd: 0.006, timescaleError: Math.log(0.82), timescaleSe: 0.09 },
      ],
      recommendedDtPs: 2,
      verdict: 'Recommended Δt: 2 ps',
      ...over,
    },
  }
}

describe('dtAdviceOf', () => {
  it('vouches for the recommended Δt, for a checked Δt below it and for an unchecked one below it', () => {
    for (const dt of [2, 1, 1.5, 0.5, 0.1]) {
      expect(dtAdviceOf(card(), dt, D)).toEqual({ recommendedDtPs: 2, diffusion: D, checkedOn: '2026-12-03', outside: false })
    }
    // an unresolved equilibrium (0.5 ps) is not a drift; D not given is the check's D
    expect(dtAdviceOf(card(), 0.5)?.outside).toBe(false)
  })

  it('a checked Δt whose kinetics were not shown converged: the fitted time-scale error, in the verdict\'s words', () => {
    expect(dtAdviceOf(card(), 5, D)).toEqual({
      recommendedDtPs: 2,
      diffusion: D,
      checkedOn: '2026-12-03',
      outside: true,
      line: "the model's self-check (2026-12-03) recommends Δt ≤ 2 ps per adapter step; at 5 ps it found the kinetic time scale −18 ± 9 % against Δt → 0, not shown within tolerance",
    })
  })

  it('an unchecked Δt above the recommendation; a drifting equilibrium; kinetics without a fit', () => {
    expect(dtAdviceOf(card(), 3, D)?.line).toBe("the model's self-check (2026-12-03) recommends Δt ≤ 2 ps per adapter step; 3 ps is above it")
    const rows = [
      { dtPs: 0.5, equilibriumOk: false, kineticsOk: true, jsd: 0.0331 },
      { dtPs: 2, equilibriumOk: true, kineticsOk: true, jsd: 0.004 },
      { dtPs: 5, equilibriumOk: false, kineticsOk: false, jsd: 0.02 },
    ]
    expect(dtAdviceOf(card({}, rows), 0.5, D)?.line).toBe("the model's self-check (2026-12-03) recommends Δt ≤ 2 ps per adapter step; at 0.5 ps it found the equilibrium drifts from the model's i.i.d. samples (JSD 0.033)")
    expect(dtAdviceOf(card({}, rows), 5, D)?.line).toBe(
      "the model's self-check (2026-12-03) recommends Δt ≤ 2 ps per adapter step; at 5 ps it found the kinetics change when Δt is halved and the equilibrium drifts from the model's i.i.d. samples (JSD 0.02)"
    )
  })

  it('a recommended Δt the check itself flagged: recommended only as the best it tried', () => {
    const rows = [{ dtPs: 2.5, equilibriumOk: true, kineticsOk: false, jsd: 0.01 }]
    expect(dtAdviceOf(card({ recommendedDtPs: 2.5 }, rows), 2.5, D)?.line).toBe(
      "the model's self-check (2026-12-03) recommends 2.5 ps per adapter step only as the best Δt it tried; at 2.5 ps it found the kinetics change when Δt is halved"
    )
    expect(dtAdviceOf(card({ recommendedDtPs: 2.5 }, rows), 1, D)?.outside).toBe(false)
  })

  it('a check that recommended no Δt vouches for none', () => {
    const none = card({ recommendedDtPs: undefined })
    expect(dtAdviceOf(none, 2, D)).toEqual({ diffusion: D, checkedOn: '2026-12-03', outside: true, line: "the model's self-check (2026-12-03) recommends no Δt; it could not vouch for 2 ps" })
    expect(dtAdviceOf(none, 3, D)?.line).toBe("the model's self-check (2026-12-03) recommends no Δt; 3 ps was not checked")
  })

  it('compares steps η = D·Δt: the app\'s D = 0.05 matches the check\'s 0.0498868; another D is the check\'s Δt of the same η', () => {
    expect(dtAdviceOf(card(), 2, 0.05)?.outside).toBe(false)
    expect(dtAdviceOf(card(), 5, 0.05)?.line).toMatch(/; at 5 ps it found the kinetic time scale −18 ± 9 %/)
    // 1 ps at 2D is the check's 2 ps: inside; 2.5 ps at 2D is its 5 ps: flagged; 2 ps at 2D is its 4 ps: above
    expect(dtAdviceOf(card(), 1, 2 * D)?.outside).toBe(false)
    expect(dtAdviceOf(card(), 2.5, 2 * D)?.line).toBe(
      `the model's self-check (2026-12-03) recommends Δt ≤ 2 ps per adapter step; at 2.5 ps at D = ${2 * D} Å²/ps (its 5 ps at D = ${D}) it found the kinetic time scale −18 ± 9 % against Δt → 0, not shown within tolerance`
    )
    expect(dtAdviceOf(card(), 2, 2 * D)?.line).toBe(`the model's self-check (2026-12-03) recommends Δt ≤ 2 ps per adapter step; 2 ps at D = ${2 * D} Å²/ps (its 4 ps at D = ${D}) is above it`)
    // 2.01 ps is within 1 % of 2; 2.05 is not
    expect(dtAdviceOf(card(), 2.01, D)?.outside).toBe(false)
    expect(dtAdviceOf(card(), 2.05, D)?.line).toMatch(/; 2\.05 ps is above it$/)
  })

  it('says nothing without a check, for a malformed one, or for a Δt that is not positive', () => {
    expect(dtAdviceOf({ name: 'm' }, 2, D)).toBeUndefined()
    expect(dtAdviceOf(undefined, 2, D)).toBeUndefined()
    expect(dtAdviceOf({ selfCheck: { verdict: 'x' } }, 2, D)).toBeUndefined()
    expect(dtAdviceOf(card(), 0, D)).toBeUndefined()
    expect(dtAdviceOf(card(), Number.NaN, D)).toBeUndefined()
  })
})

describe('calibrated steps (docs/self-check.md "Calibrated time")', () => {
  it('timeCalibrationOf: the widest row\'s fitted slope per step η, for the check\'s mode only', () => {
    const cal = timeCalibrationOf(card())!
    expect(cal.slopePerEta).toBeCloseTo(Math.log(0.82) / (5 * D), 12)
    expect(cal.slopePerEtaSe).toBeCloseTo(0.09 / (5 * D), 12)
    expect(cal.maxEta).toBeCloseTo(5 * D, 15)
    expect(cal.checkedOn).toBe('2026-12-03')
    expect(timeCalibrationOf(card(), 'bridge-mh')).toBeUndefined()
    expect(timeCalibrationOf(card({}, [{ dtPs: 2, equilibriumOk: true, kineticsOk: true, jsd: 0.004 }]))).toBeUndefined()
    expect(timeCalibrationOf({ name: 'm' })).toBeUndefined()
  })

  it('vouches for a calibrated 5-ps step whose time is known within the tolerance, and says how wide its step is', () => {
    const a = dtAdviceOf(card(), 5, D, timeCalibrationOf(card()))!
    expect(a.outside).toBe(false)
    expect(a.line).toBeUndefined()
    // the step's width in ps, x, relaxes as 5 ps of Brownian dynamics: x·0.82^(−x/5) = 5
    const x = a.calibrated!.nominalDtPs
    expect(x * Math.pow(0.82, -x / 5)).toBeCloseTo(5, 10)
    expect(a.calibrated!.lnTimeSe).toBeCloseTo((0.09 / 5) * x, 12)
  })

  it('calibratedLimitOf: the widest checked Δt above the recommendation that calibrated steps are vouched for at', () => {
    // 5 ps: equilibrium kept at 2 and 5 ps, calibrated band 2·(0.09/5)·x < ln 1.2
    expect(calibratedLimitOf(card())).toBe(5)
    // the same check with 5 ps drifting: no checked Δt above 2 ps is vouched for
    const rows = card().selfCheck.perDt.map((r) => (r.dtPs === 5 ? { ...r, equilibriumOk: false } : r))
    expect(calibratedLimitOf(card({}, rows))).toBeUndefined()
    expect(calibratedLimitOf({ name: 'm' })).toBeUndefined()
  })

  it('calibrationLineOf: the slope per ps of Δt (ln(0.82)/5 = −4.0 %, ± 0.09/5 = 1.8 %) and the limit, in one sentence', () => {
    expect(calibrationLineOf(card())).toBe(
      'Calibrated time: the kinetic time scale changes by −4.0 ± 1.8 % per ps of Δt, so each step takes the width that relaxes like its Δt; calibrated steps are vouched for up to 5 ps.'
    )
    expect(calibrationLineOf({ name: 'm' })).toBeUndefined()
    // a slope within 2 standard errors of zero does not calibrate, and the sentence says why
    const loose = card({}, [{ dtPs: 5, equilibriumOk: true, kineticsOk: false, jsd: 0.006, timescaleError: Math.log(0.82), timescaleSe: 0.11 }])
    expect(timeCalibrationOf(loose)).toBeUndefined()
    expect(calibrationLineOf(loose)).toBe("Calibrated time: not applied; the kinetic time scale's change, −4.0 ± 2.2 % per ps of Δt, is not resolved (longer runs would resolve it).")
  })

  it('steps are η: at twice the check\'s D, half the Δt gets the same calibrated width', () => {
    const cal = timeCalibrationOf(card())!
    const a = dtAdviceOf(card(), 5, D, cal)!.calibrated!
    const b = dtAdviceOf(card(), 2.5, 2 * D, cal)!.calibrated!
    expect(b.nominalDtPs * 2 * D).toBeCloseTo(a.nominalDtPs * D, 12)
    expect(b.lnTimeSe).toBeCloseTo(a.lnTimeSe, 12)
  })

  it('a step beyond the widest checked one, a time scale too uncertain, and a drifting equilibrium are not vouched for', () => {
    const cal = timeCalibrationOf(card())!
    expect(dtAdviceOf(card(), 7, D, cal)!.line).toBe("the model's self-check (2026-12-03) calibrates time for steps up to 6.1 ps; 7 ps is beyond it (uncalibrated steps are not vouched for there either)")
    const wide = card({}, [
      { dtPs: 2, equilibriumOk: true, kineticsOk: true, jsd: 0.004, timescaleError: 2 * Math.log(0.93), timescaleSe: 0.06 },
      { dtPs: 5, equilibriumOk: false, kineticsOk: false, jsd: 0.02, timescaleError: 5 * Math.log(0.93), timescaleSe: 0.15 },
    ])
    const wcal = timeCalibrationOf(wide)!
    // slope 5·ln 0.93 over 5 ps, ± 0.15: 2.4 standard errors, resolved
    // 1 ps: its width lies below 2 ps, the only row at or below it is none, the row above (2 ps) is fine; 2σ = 2·0.03·x < ln 1.2
    expect(dtAdviceOf(wide, 1, D, wcal)!.outside).toBe(false)
    // 4.5 ps: width between 2 and 5 ps; 5 ps drifts and 2·0.03·x > ln 1.2
    const x = timeCalibrationOf(wide) && dtAdviceOf(wide, 4.5, D, wcal)!.calibrated!.nominalDtPs
    expect(x).toBeGreaterThan(2)
    expect(dtAdviceOf(wide, 4.5, D, wcal)!.line).toBe(
      `the model's self-check (2026-12-03) calibrates 4.5 ps steps, but the equilibrium drifts at 5 ps (JSD 0.02) and its calibrated time scale is known only to ±${(100 * (Math.exp(2 * 0.03 * x!) - 1)).toFixed(0)} % (2 σ)`
    )
  })
})
