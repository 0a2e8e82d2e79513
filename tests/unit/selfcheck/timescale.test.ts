/**
 * The self-check's kinetic time scale and its rounds (docs/self-check.md "Kinetic time scale",
 * "Rounds"): the log time scale of a run's figures, the delete-one-group jackknife, the weighted
 * straight-line fit against Δt with its errors, the bands that make a Δt converged / not converged /
 * undecided, the verdict built on them, and a check that adds replicas in rounds equalling a check
 * that starts with them.
 */
import { describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { jackknifeOverReplicas, logTimescale, type KineticFigures } from '../../../src/core/analysis/kinetics'
import { fitTimescales, SELF_CHECK_TOLERANCE, timescaleErrorAt, timescaleErrorText, verdictOf, type DtResult, type EquilibriumComparison, type TimescalePoint } from '../../../src/core/selfcheck/compare'
import { commonFramePs, runSelfCheck, undecided } from '../../../src/core/selfcheck/self-check'
import { HarmonicModel } from '../../../src/core/score/analytic/harmonic'
import { NormalStream } from '../../../src/core/rng/normals'
import type { Topology } from '../../../src/core/topology'

const L = Math.log(1 + SELF_CHECK_TOLERANCE.kineticsRelative)

function figures(tauPhi: number, tauPsi: number, kf: number, kb: number): KineticFigures {
  const v = (value: number) => ({ value, stderr: 0 })
  return {
    spacingPs: 10,
    framesPerReplica: 501,
    replicas: 16,
    acfPhi: {},
    acfPsi: {},
    tauPhi: { ...v(tauPhi), converged: true },
    tauPsi: { ...v(tauPsi), converged: true },
    rateForward: { ...v(kf), count: 100 },
    rateBackward: { ...v(kb), count: 100 },
    lengthOverTau: 12,
  }
}

describe('logTimescale', () => {
  it('is the mean of ln τ_φ, ln τ_ψ, −ln k_f, −ln k_b, and moves by ln 2 when every time doubles', () => {
    const a = logTimescale(figures(300, 400, 1.2, 0.8))
    expect(a).toBeCloseTo((Math.log(300) + Math.log(400) - Math.log(1.2) - Math.log(0.8)) / 4, 14)
    expect(logTimescale(figures(600, 800, 0.6, 0.4)) - a).toBeCloseTo(Math.LN2, 14)
  })
  it('is NaN without transitions', () => {
    expect(logTimescale(figures(300, 400, 0, 0.8))).toBeNaN()
    expect(logTimescale(figures(NaN, 400, 1, 0.8))).toBeNaN()
  })
})

describe('jackknifeOverReplicas', () => {
  it('for the mean over equal groups, equals the standard error of the group means', () => {
    // the jackknife of a linear statistic is exact: se² = Σ(ḡ − m)²/(G(G − 1)) over the group means ḡ
    const z = new Float32Array(64)
    new NormalStream(3, 0).fill(z)
    const x = Array.from(z, (v) => 2 + v)
    const mean = (s: readonly number[]) => s.reduce((a, b) => a + b, 0) / s.length
    const j = jackknifeOverReplicas(x, mean, 8)
    const g = Array.from({ length: 8 }, (_, i) => mean(x.slice(8 * i, 8 * i + 8)))
    const m = mean(g)
    expect(j.value).toBeCloseTo(mean(x), 12)
    expect(j.stderr).toBeCloseTo(Math.sqrt(g.reduce((a, b) => a + (b - m) ** 2, 0) / (8 * 7)), 12)
  })
  it('gives no error below two groups or when a delete-one value is not finite', () => {
    expect(jackknifeOverReplicas([1], (s) => s.length).stderr).toBeNaN()
    expect(jackknifeOverReplicas([1, 2, 3, 4], (s) => (s.includes(1) ? 1 : NaN)).stderr).toBeNaN()
  })
})

describe('fitTimescales', () => {
  it('recovers a straight line exactly, with χ² 0 and unscaled errors', () => {
    const pts: TimescalePoint[] = [0.25, 0.5, 1, 2, 2.5, 5].map((dt, i) => ({ dtPs: dt, value: 3 - 0.04 * dt, stderr: 0.05 + 0.01 * i }))
    const f = fitTimescales(pts)!
    expect(f.slope).toBeCloseTo(-0.04, 12)
    expect(f.intercept).toBeCloseTo(3, 12)
    expect(f.chi2).toBeCloseTo(0, 20)
    expect(f.dof).toBe(4)
    expect(f.scale).toBe(1)
  })
  it('two points: the line through them, slope error √(se₁² + se₂²)/|Δt₂ − Δt₁|', () => {
    const f = fitTimescales([
      { dtPs: 1, value: 2.9, stderr: 0.03 },
      { dtPs: 5, value: 2.7, stderr: 0.04 },
    ])!
    expect(f.slope).toBeCloseTo(-0.05, 12)
    expect(f.slopeSe).toBeCloseTo(0.05 / 4, 12)
    expect(f.dof).toBe(0)
  })
  it('its slope error matches the spread of slopes over 4000 noisy realisations (fixed seed)', () => {
    // y = 3 − 0.04 Δt + se·z at the self-check's six Δt; the spread's own relative error is 1/√(2·4000) ≈ 1.1 %,
    // so the ratio of the mean reported error (unscaled) to the spread must lie within 1 ± 0.05 (4.5 σ)
    const dts = [0.25, 0.5, 1, 2, 2.5, 5]
    const se = [0.06, 0.05, 0.05, 0.04, 0.05, 0.03]
    const z = new Float32Array(6 * 4000)
    new NormalStream(11, 0).fill(z)
    const slopes: number[] = []
    let reported = 0
    for (let r = 0; r < 4000; r++) {
      const f = fitTimescales(dts.map((dt, i) => ({ dtPs: dt, value: 3 - 0.04 * dt + se[i]! * z[6 * r + i]!, stderr: se[i]! })))!
      slopes.push(f.slope)
      reported += f.slopeSe / f.scale
    }
    const m = slopes.reduce((a, b) => a + b, 0) / slopes.length
    const sd = Math.sqrt(slopes.reduce((a, b) => a + (b - m) ** 2, 0) / (slopes.length - 1))
    expect(Math.abs(m + 0.04)).toBeLessThan((5 * sd) / Math.sqrt(4000))
    expect(reported / 4000 / sd).toBeGreaterThan(0.95)
    expect(reported / 4000 / sd).toBeLessThan(1.05)
  })
  it('scales the errors by √(χ²/dof) when the points scatter more than their errors say (Birge)', () => {
    const pts: TimescalePoint[] = [
      { dtPs: 1, value: 3.0, stderr: 0.01 },
      { dtPs: 2, value: 2.8, stderr: 0.01 },
      { dtPs: 3, value: 2.9, stderr: 0.01 },
      { dtPs: 4, value: 2.6, stderr: 0.01 },
    ]
    const f = fitTimescales(pts)!
    expect(f.chi2 / f.dof).toBeGreaterThan(1)
    expect(f.scale).toBeCloseTo(Math.sqrt(f.chi2 / f.dof), 12)
    // unscaled: 0.01/√Σ(Δt − 2.5)² = 0.01/√5
    expect(f.slopeSe).toBeCloseTo((f.scale * 0.01) / Math.sqrt(5), 12)
  })
  it('needs two usable points at two Δt', () => {
    expect(fitTimescales([{ dtPs: 1, value: 3, stderr: 0.1 }])).toBeUndefined()
    expect(fitTimescales([{ dtPs: 1, value: 3, stderr: 0.1 }, { dtPs: 1, value: 3.1, stderr: 0.1 }])).toBeUndefined()
    expect(fitTimescales([{ dtPs: 1, value: 3, stderr: 0.1 }, { dtPs: 2, value: NaN, stderr: 0.1 }])).toBeUndefined()
  })
})

describe('timescaleErrorAt', () => {
  const fit = (slope: number, slopeSe: number) => ({ intercept: 3, slope, interceptSe: 0, slopeSe, chi2: 0, dof: 4, scale: 1, points: [] })
  it('converged where the whole band is inside the tolerance, not converged where it is wholly outside, else undecided', () => {
    // slope −0.04 ± 0.01 per ps: at 2 ps −0.08 ± 0.02 (band up to 0.12 < ln 1.2 = 0.182); at 5 ps
    // −0.20 ± 0.05 (band 0.10 … 0.30: undecided); slope −0.08 ± 0.005 at 5 ps: −0.40 ± 0.025 (outside)
    const a = timescaleErrorAt(fit(-0.04, 0.01), 2)
    expect(a).toEqual({ error: -0.08, se: 0.02, ok: true, changes: false })
    const b = timescaleErrorAt(fit(-0.04, 0.01), 5)
    expect(b.ok).toBe(false)
    expect(b.changes).toBe(false)
    const c = timescaleErrorAt(fit(-0.08, 0.005), 5)
    expect(c.changes).toBe(true)
    expect(Math.abs(c.error) - 2 * c.se).toBeGreaterThan(L)
  })
})

describe('verdictOf with a time-scale fit', () => {
  const eq: EquilibriumComparison = { residue: 'ALA2', jsd: 0, jsdSplitHalves: 0, jsdNoise: 0, populations: [], differs: false, reasons: [], conclusive: true, unresolved: [] }
  const r = (dtPs: number, ts: { error: number; se: number; ok: boolean; changes: boolean }): DtResult => ({
    dtPs,
    equilibrium: [eq],
    versusSnapshots: [],
    kinetics: { items: [], differs: false, conclusive: true, reasons: [] },
    timescale: ts,
    lengthOverTau: 25,
  })
  const band = (dt: number, slope: number, se: number) => timescaleErrorAt({ intercept: 3, slope, interceptSe: 0, slopeSe: se, chi2: 0, dof: 4, scale: 1, points: [] }, dt)
  it('recommends the largest Δt whose kinetics are shown converged, not a larger undecided one', () => {
    // the shipped ala2 model's shape: −4 % per ps, known to ±1 % per ps
    const res = [0.5, 1, 2, 5].map((dt) => r(dt, band(dt, -0.04, 0.01)))
    const v = verdictOf(res, () => true)
    expect(v.kineticsOk).toEqual([0.5, 1, 2])
    expect(v.recommendedDtPs).toBe(2)
    expect(v.text).toMatch(/self-consistent at Δt = 0\.5 ps, 1 ps, 2 ps/)
    expect(v.text).toMatch(/−18 ± 5 % at 5 ps/)
    expect(v.text).toMatch(/At Δt = 5 ps the kinetics are not shown to be within the tolerance/)
    // 5 ps lies above the recommended 2 ps and is undecided: another round could change the verdict
    expect(undecided(res, v)).toBe(true)
  })
  it('names a Δt whose kinetics are shown not converged, and then nothing is left undecided', () => {
    const res = [1, 2, 5].map((dt) => r(dt, band(dt, -0.08, 0.005)))
    const v = verdictOf(res, () => true)
    expect(v.recommendedDtPs).toBe(2)
    expect(v.text).toMatch(/Kinetics are not converged at Δt = 5 ps/)
    expect(undecided(res, v)).toBe(false)
  })
  it('with no equilibrium resolved, still prefers the largest Δt whose kinetics are shown converged', () => {
    // the shipped ala2 model's default check (bench/RESULTS.md): C5/C7eq known to ±3 % where a 1.2×
    // odds change needs ±1.7 % at every Δt; time scale −2/−4/−8 % converged at 0.5/1/2 ps, −18 ± 9 % at 5 ps
    const unres: EquilibriumComparison = { ...eq, conclusive: false, unresolved: ['C5_beta 45.89 % vs 50.11 % ± 2.77 %'] }
    const res = [0.5, 1, 2, 5].map((dt) => ({ ...r(dt, band(dt, -0.04, 0.018)), equilibrium: [unres] }))
    const v = verdictOf(res, () => true)
    expect(v.equilibriumUnresolved).toEqual([0.5, 1, 2, 5])
    expect(v.kineticsOk).toEqual([0.5, 1, 2])
    expect(v.recommendedDtPs).toBe(2)
    expect(v.text).toMatch(/Recommended Δt: 2 ps \(equilibrium not resolved; kinetics converged\)/)
  })
  it('a figure that changes beyond 3 σ counts as a change even when the time scale agrees', () => {
    const res = [1, 2].map((dt) => r(dt, band(dt, 0, 0.001)))
    res[1] = { ...res[1]!, kinetics: { items: [], differs: true, conclusive: true, reasons: ['k C7eq→C5 1.66 vs 1.10'] } }
    const v = verdictOf(res, () => true)
    expect(v.kineticsOk).toEqual([1])
    expect(v.recommendedDtPs).toBe(1)
  })
})

describe('rounds of replicas', () => {
  const card = JSON.parse(readFileSync(path.resolve(__dirname, '../../../resources/models/ala2-default.card.json'), 'utf8')) as { mean: number[]; atoms: { records: Topology['atoms'] } }
  async function check(replicas: number, maxReplicas: number) {
    // a harmonic score about the mean structure: φ/ψ never change basin, so there are no rates and no
    // time scale, and the kinetics stay undecided: the check adds every round it may
    const model = new HarmonicModel({ kappa: 10, beta: 0.4, dim: 66 })
    const mean = Float32Array.from(card.mean)
    const snapshots = new Float32Array(10 * 66)
    for (let f = 0; f < 10; f++) for (let i = 0; i < 66; i++) snapshots[f * 66 + i] = mean[i]! + 0.01 * Math.sin(7 * f + i)
    const framePs = commonFramePs([2])
    return runSelfCheck(
      { model, topology: { atoms: card.atoms.records }, snapshots, mean },
      { dtPs: [2], nsPerReplica: 0.05, replicas, maxReplicas, mode: 'bridge', denoiseSteps: 3, iidSamples: 100, iidSteps: 5, diffusion: 0.05, framePs, countingPs: framePs, sigmaMin: 0.025, seed: 3, sigmaMax: 2 }
    )
  }
  it('4 replicas doubled to 8 give the report of a check that starts with 8', async () => {
    const a = await check(4, 8)
    const b = await check(8, 8)
    expect(a.rounds).toBe(2)
    expect(b.rounds).toBe(1)
    expect(a.replicasUsed).toBe(8)
    const strip = (r: typeof a) => JSON.stringify({ perDt: r.perDt, kinetics: r.kinetics, verdict: r.verdict })
    expect(strip(a)).toBe(strip(b))
    // and one round more would have changed the figures (the test can fail)
    const c = await check(4, 4)
    expect(strip(c)).not.toBe(strip(b))
  })
})

describe('timescaleErrorText', () => {
  it('prints the relative change e^error − 1 with its sign (a true minus) and the standard error in %', () => {
    expect(timescaleErrorText(Math.log(1.12), 0.05)).toBe('+12 ± 5 %')
    // ln 0.82: 18 % too fast, not the 20 % the ln value alone would print
    expect(timescaleErrorText(Math.log(0.82), 0.0949)).toBe('−18 ± 9 %')
    expect(timescaleErrorText(0, 0)).toBe('+0 ± 0 %')
    expect(timescaleErrorText(-0.2, 0.1)).toBe(`−${(100 * -Math.expm1(-0.2)).toFixed(0)} ± 10 %`)
  })
})
