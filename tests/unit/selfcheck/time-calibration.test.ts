/**
 * Calibrated time for adapter steps (src/core/selfcheck/time-calibration.ts; docs/self-check.md
 * "Calibrated time"): the root of η·e^{−b′η} = D·Δt, its range, and — on the exact Gaussian, whose
 * bridge-step ACF is known in closed form — that the calibration turns the step's O(η²) time error
 * into O(η³) with the coefficient worked out by hand.
 */
import { describe, expect, it } from 'vitest'
import { calibratedEtaTime, calibratedStep, maxCalibratedEtaTime, type TimeCalibration } from '../../../src/core/selfcheck/time-calibration'

const cal = (slopePerEta: number, maxEta = 10, slopePerEtaSe = 0): TimeCalibration => ({ slopePerEta, slopePerEtaSe, maxEta, checkedOn: '2026-12-03' })

describe('calibratedStep', () => {
  it('inverts η·exp(−b′η) for steps too fast, exact and too slow', () => {
    for (const b of [-1.1, -0.3, 0, 0.05, 0.4]) {
      for (const x of [1e-4, 0.01, 0.25, 1, 2]) {
        const t = x * Math.exp(-b * x)
        const s = calibratedStep(t, cal(b, 5))!
        expect(s, `b′ ${b}, η ${x}`).toBeDefined()
        expect(Math.abs(s.eta - x) / x).toBeLessThan(1e-12)
        expect(s.etaTime).toBe(t)
      }
    }
  })

  it('is the identity with a flat time scale, and its error is the slope error times η', () => {
    const s = calibratedStep(0.25, cal(0, 1, 0.3))!
    expect(s.eta).toBe(0.25)
    expect(s.lnTimeSe).toBeCloseTo(0.075, 15)
  })

  it('never extrapolates beyond the widest checked step, nor past the turning point 1/b′', () => {
    const fast = cal(-0.5, 0.2)
    expect(maxCalibratedEtaTime(fast)).toBeCloseTo(0.2 * Math.exp(0.1), 15)
    expect(calibratedStep(maxCalibratedEtaTime(fast) * 0.999, fast)).toBeDefined()
    expect(calibratedStep(maxCalibratedEtaTime(fast) * 1.001, fast)).toBeUndefined()
    const slow = cal(2, 10) // η·e^{−2η} peaks at η = 0.5 with 0.5/e
    expect(maxCalibratedEtaTime(slow)).toBeCloseTo(0.5 / Math.E, 15)
    expect(calibratedStep(0.18, slow)!.eta).toBeLessThan(0.5)
    expect(calibratedStep(0.19, slow)).toBeUndefined()
    expect(calibratedStep(0, fast)).toBeUndefined()
    expect(calibratedStep(-1, fast)).toBeUndefined()
    expect(calibratedStep(Number.NaN, fast)).toBeUndefined()
  })
})

describe('calibrated time on the exact Gaussian', () => {
  // p_σmin = N(0, V); a bridge step of η with the exact score has lag-1 ACF V/(V + η) (docs/science.md
  // "Exact check"); Brownian dynamics over D·Δt = t has e^{−t/V}. The step's ln time scale is
  // ln(η / ln(1 + η/V)) = ln V + η/(2V) + O(η²): the slope b′ = 1/(2V) a self-check would fit at
  // small η. Calibrated, x = t·e^{x/(2V)} = t + t²/(2V) + 3t³/(8V²) + …, and
  // ln(1 + x/V) = t/V + (5/24)(t/V)³ + O(t⁴): the time error is third order, −5/24 (t/V)³,
  // where the uncalibrated step's is second order, (t/V)²/2.
  const V = 0.7
  const lnAcfError = (eta: number, t: number) => -Math.log(1 + eta / V) + t / V
  it('has the hand-derived third-order error, against the uncalibrated step’s second-order one', () => {
    for (const a of [0.02, 0.01]) {
      const t = a * V
      const s = calibratedStep(t, cal(1 / (2 * V), 1))!
      expect(lnAcfError(s.eta, t) / a ** 3).toBeCloseTo(-5 / 24, 2)
      expect(lnAcfError(t, t) / a ** 2).toBeCloseTo(0.5, 1)
    }
    // and at a step as wide as the well the calibrated error is a quarter of the uncalibrated one or less
    const t = 0.4 * V
    const s = calibratedStep(t, cal(1 / (2 * V), 1))!
    expect(Math.abs(lnAcfError(s.eta, t))).toBeLessThan(0.3 * Math.abs(lnAcfError(t, t)))
  })

  it('relates η-time to the step: calibratedEtaTime is η·e^{−b′η}', () => {
    expect(calibratedEtaTime(0.2, -0.5)).toBeCloseTo(0.2 * Math.exp(0.1), 15)
  })
})
