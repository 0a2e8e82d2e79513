/**
 * The self-check's statistics (src/core/selfcheck/compare.ts) on samples with known answers: two
 * samples of one distribution must not differ and their JSD must match the noise model; a shifted
 * population must be flagged; the kinetics comparison and the verdict follow their definitions.
 */
import { describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { NormalStream } from '../../../src/core/rng/normals'
import { compareEquilibrium, compareKinetics, moreNeeded, oddsRatio, populationTolerance, verdictOf, type DtResult, type EquilibriumComparison } from '../../../src/core/selfcheck/compare'
import { commonFramePs, residuesWithPhiPsi, runFramePs } from '../../../src/core/selfcheck/self-check'
import type { KineticFigures } from '../../../src/core/analysis/kinetics'
import { readPdb } from '../../../src/core/formats/pdb'

const deg = Math.PI / 180
/** φ/ψ draws from a two-basin mixture: C5 (−150°, 160°) with weight w, C7eq (−80°, 75°) otherwise; σ 12° */
function draw(n: number, w: number, seed: number, stream = 0): { phi: Float64Array; psi: Float64Array } {
  const z = new Float32Array(3 * n)
  new NormalStream(seed, stream).fill(z)
  const phi = new Float64Array(n)
  const psi = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    const c5 = z[3 * i + 2]! < inverseNormal(w)
    phi[i] = ((c5 ? -150 : -80) + 12 * z[3 * i]!) * deg
    psi[i] = ((c5 ? 160 : 75) + 12 * z[3 * i + 1]!) * deg
  }
  return { phi, psi }
}
/** Φ⁻¹(w) by bisection (only for picking a basin with probability w from a normal draw) */
function inverseNormal(w: number): number {
  const cdf = (x: number) => 0.5 * (1 + erf(x / Math.SQRT2))
  let lo = -10
  let hi = 10
  for (let i = 0; i < 100; i++) {
    const m = (lo + hi) / 2
    if (cdf(m) < w) lo = m
    else hi = m
  }
  return (lo + hi) / 2
}
function erf(x: number): number {
  // Abramowitz–Stegun 7.1.26 (|error| < 1.5e-7), enough to pick basins
  const t = 1 / (1 + 0.3275911 * Math.abs(x))
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496735) * t + 0.254829592) * t * Math.exp(-x * x)
  return x >= 0 ? y : -y
}

describe('compareEquilibrium', () => {
  it('samples of one distribution do not differ, and the JSD matches the noise model on average', () => {
    // 16 "replicas" of 500 independent frames against 4000 i.i.d. samples, 12 repetitions.
    // The noise model E[JSD] ≈ (K−1)(1/n₁+1/n₂)/8 is asymptotic; its relative spread per draw is
    // about √(2/(K−1)) ≈ 0.1 for K ≈ 200 occupied bins, so the mean of 12 ratios has a standard error
    // ≈ 0.03; with the split-half estimate's own noise we allow the mean ratio within [0.7, 1.3].
    const ratios: number[] = []
    for (let rep = 0; rep < 12; rep++) {
      const groups = Array.from({ length: 16 }, (_, g) => draw(500, 0.5, 100 + rep, g))
      const iid = draw(4000, 0.5, 200 + rep, 99)
      const c = compareEquilibrium({ residue: 'ALA2', groups }, iid)
      expect(c.differs).toBe(false)
      ratios.push(c.jsd / c.jsdNoise)
    }
    const mean = ratios.reduce((a, b) => a + b, 0) / ratios.length
    expect(mean).toBeGreaterThan(0.7)
    expect(mean).toBeLessThan(1.3)
  })
  it('flags a population shifted by more than the tolerance, with the basin named', () => {
    const groups = Array.from({ length: 16 }, (_, g) => draw(500, 0.8, 7, g))
    const iid = draw(4000, 0.4, 8, 99)
    const c = compareEquilibrium({ residue: 'ALA2', groups }, iid)
    expect(c.differs).toBe(true)
    expect(c.reasons.join(' ')).toMatch(/JSD/)
    const c5 = c.populations.find((p) => p.basin === 'C5_beta')!
    // populations: 0.8 and 0.4 up to binomial noise (≤ 0.02 at 5σ for n = 4000, replica spread for the run)
    expect(Math.abs(c5.sim.value - 0.8)).toBeLessThan(0.03)
    expect(Math.abs(c5.other.value - 0.4)).toBeLessThan(0.04)
    expect(c5.z).toBeGreaterThan(10)
  })
})

function figures(rate: number, rateSe: number, tau: number, tauSe: number, acf: number, acfSe: number): KineticFigures {
  const v = (value: number, stderr: number) => ({ value, stderr })
  return {
    spacingPs: 10,
    framesPerReplica: 501,
    replicas: 16,
    acfPhi: { '50': v(acf, acfSe) },
    acfPsi: { '50': v(acf, acfSe) },
    tauPhi: { ...v(tau, tauSe), converged: true },
    tauPsi: { ...v(tau, tauSe), converged: true },
    rateForward: { ...v(rate, rateSe), count: 100 },
    rateBackward: { ...v(rate, rateSe), count: 100 },
    lengthOverTau: 12,
  }
}

/** φ/ψ draws with an α_R share: α_R (−65°, −40°) with weight a, else C5 (−150°, 160°); σ 8° */
function drawAlpha(n: number, a: number, seed: number, stream: number): { phi: Float64Array; psi: Float64Array } {
  const z = new Float32Array(3 * n)
  new NormalStream(seed, stream).fill(z)
  const cut = inverseNormal(a)
  const phi = new Float64Array(n)
  const psi = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    const alpha = z[3 * i + 2]! < cut
    phi[i] = ((alpha ? -65 : -150) + 8 * z[3 * i]!) * deg
    psi[i] = ((alpha ? -40 : 160) + 8 * z[3 * i + 1]!) * deg
  }
  return { phi, psi }
}

describe('compareEquilibrium: power to see a rare basin change', () => {
  // α_R at 1 %: a 2× change reaches 3 σ only when the combined standard error is ≤ 0.01·(2 − 1)/3 =
  // 0.0033. 4000 i.i.d. samples give √(0.01·0.99/4000) = 0.0016; 16 replicas of n independent frames
  // give √(0.0099/n)/4: 0.0011 at n = 500 (combined 0.0019: resolved), 0.0045 at n = 30 (combined
  // ≥ 0.0045: not resolved, whatever the draw).
  const iid = drawAlpha(4000, 0.01, 31, 99)
  it('long runs resolve it', () => {
    const c = compareEquilibrium({ residue: 'ALA2', groups: Array.from({ length: 16 }, (_, g) => drawAlpha(500, 0.01, 32, g)) }, iid)
    expect(c.populations.find((p) => p.basin === 'alpha_R')!.resolved).toBe(true)
    expect(c.conclusive).toBe(true)
    expect(c.unresolved).toEqual([])
  })
  it('short runs do not, and say what precision a 2× change needs', () => {
    const c = compareEquilibrium({ residue: 'ALA2', groups: Array.from({ length: 16 }, (_, g) => drawAlpha(30, 0.01, 33, g)) }, iid)
    expect(c.differs).toBe(false)
    expect(c.conclusive).toBe(false)
    const o = c.populations.find((p) => p.basin === 'alpha_R')!.other.value
    expect(c.unresolved.join(' ')).toContain(`a 2× change of its odds needs ± ${((100 * o * (1 - o)) / 3).toFixed(2)} %`)
    // C5 holds the other 99 %: its odds are α_R's inverted, judged with the same factor 2 and the
    // same error, so it is no better resolved
    const c5 = c.populations.find((p) => p.basin === 'C5_beta')!
    expect(c5.tolerance).toBe(2)
    expect(c5.resolved).toBe(false)
  })
})

describe('compareEquilibrium: two major basins are held to the rate tolerance', () => {
  it('tolerance factors and odds ratios', () => {
    expect(populationTolerance(0.005)).toBe(2)
    expect(populationTolerance(0.1)).toBe(1.2)
    expect(populationTolerance(0.5)).toBe(1.2)
    expect(populationTolerance(0.95)).toBe(2)
    expect(oddsRatio(0.6, 0.5)).toBeCloseTo(1.5, 12)
    expect(oddsRatio(0.5, 0.6)).toBeCloseTo(2 / 3, 12)
    expect(oddsRatio(0.01, 0.005)).toBeCloseTo((0.01 * 0.995) / (0.005 * 0.99), 12)
    expect(oddsRatio(0.3, 0)).toBe(Infinity)
  })
  // C5 57 % against 49 % (odds ×1.38, the shift behind a 40 % rate error between C5 and C7eq): far
  // inside a 2× population ratio, so the old rule passed it; the odds rule flags it once the error
  // bars are narrow. 16 replicas × n independent frames: replica se ≈ √(0.245/n)/4 — 0.0055 at
  // n = 500 (z ≈ 14 with the i.i.d. error 0.008 → resolved and differs); 0.045 at n = 8 (needed
  // 0.25·0.2/3 = 0.017: not resolved).
  const iid = draw(4000, 0.49, 41, 99)
  it('a 0.49 → 0.57 shift with long runs: flagged, basin and odds named', () => {
    const c = compareEquilibrium({ residue: 'ALA2', groups: Array.from({ length: 16 }, (_, g) => drawAlpha0(500, 0.57, 42, g)) }, iid)
    expect(c.differs).toBe(true)
    expect(c.reasons.join(' ')).toMatch(/C5_beta .* \(odds ×1\.[2-5]\d/)
    expect(c.conclusive).toBe(true)
  })
  it('the same shift with short runs: not flagged, not resolved, and says what precision is needed', () => {
    const c = compareEquilibrium({ residue: 'ALA2', groups: Array.from({ length: 16 }, (_, g) => drawAlpha0(8, 0.57, 43, g)) }, iid)
    expect(c.conclusive).toBe(false)
    expect(c.unresolved.join(' ')).toMatch(/C5_beta .*\(a 1\.2× change of its odds needs ± 1\.\d\d %/)
  })
  it('a shift seen beyond the tolerance at 3σ is a difference, not "not resolved", even with wide error bars', () => {
    // C5 0.49 → 0.65 with 16 × 40 frames: replica se ≈ √(0.23/40)/4 ≈ 0.019 (> the 0.017 needed), z ≈ 8
    const c = compareEquilibrium({ residue: 'ALA2', groups: Array.from({ length: 16 }, (_, g) => drawAlpha0(40, 0.65, 45, g)) }, iid)
    const c5 = c.populations.find((p) => p.basin === 'C5_beta')!
    expect(c5.sim.stderr).toBeGreaterThan((0.49 * 0.51 * 0.2) / 3)
    expect(c.differs).toBe(true)
    expect(c5.resolved).toBe(true)
    expect(c.unresolved.join(' ')).not.toMatch(/C5_beta/)
  })
  it('says how much more simulation would resolve it', () => {
    // run error 0.04, i.i.d. 0.008, needed 0.0167: (0.04² / (0.0167² − 0.008²)) = 7.44
    expect(moreNeeded(0.04, 0.008, 0.0167)).toBe('; ≈ 7.4× more replicas × ns')
    expect(moreNeeded(0.1, 0.008, 0.0167)).toBe('; ≈ 47× more replicas × ns')
    expect(moreNeeded(0.01, 0.02, 0.0167)).toBe('; first more i.i.d. samples (--iid)')
    expect(moreNeeded(0.005, 0.008, 0.0167)).toBe('')
  })
  it('no shift with long runs: resolved and right', () => {
    const c = compareEquilibrium({ residue: 'ALA2', groups: Array.from({ length: 16 }, (_, g) => drawAlpha0(500, 0.49, 44, g)) }, iid)
    expect(c.differs).toBe(false)
    expect(c.conclusive).toBe(true)
  })
})
/** the two-basin draw without its JSD-noise role: C5 share w (alias kept apart for readability) */
function drawAlpha0(n: number, w: number, seed: number, stream: number): { phi: Float64Array; psi: Float64Array } {
  return draw(n, w, seed, stream)
}

describe('compareKinetics', () => {
  it('equal figures agree and are conclusive when their errors are small', () => {
    const k = compareKinetics(figures(1.1, 0.05, 300, 10, 0.7, 0.01), figures(1.1, 0.05, 300, 10, 0.7, 0.01))
    expect(k.differs).toBe(false)
    expect(k.conclusive).toBe(true)
  })
  it('a 50 % faster rate with 5 % errors differs (7 σ), and is named', () => {
    const k = compareKinetics(figures(1.65, 0.08, 300, 10, 0.7, 0.01), figures(1.1, 0.055, 300, 10, 0.7, 0.01))
    expect(k.differs).toBe(true)
    expect(k.reasons.join(' ')).toMatch(/k C5→C7eq 1\.65 vs 1\.10/)
  })
  it('a large difference within huge error bars is neither flagged nor conclusive', () => {
    const k = compareKinetics(figures(1.65, 0.8, 300, 200, 0.7, 0.3), figures(1.1, 0.6, 300, 200, 0.7, 0.3))
    expect(k.differs).toBe(false)
    expect(k.conclusive).toBe(false)
  })
})

describe('verdictOf', () => {
  const eq = (differs: boolean, conclusive = true): EquilibriumComparison => ({
    residue: 'ALA2',
    jsd: 0,
    jsdSplitHalves: 0,
    jsdNoise: 0,
    populations: [],
    differs,
    reasons: [],
    conclusive,
    unresolved: conclusive ? [] : ['alpha_R 0.70 % vs 0.30 % ± 0.25 % (a 2× change needs ± 0.10 %)'],
  })
  const kin = (differs: boolean) => ({ items: [], differs, conclusive: true, reasons: [] })
  const r = (dtPs: number, eqDiffers: boolean, kinDiffers: boolean): DtResult => ({ dtPs, equilibrium: [eq(eqDiffers)], versusSnapshots: [], kinetics: kin(kinDiffers), lengthOverTau: 25 })
  it('recommends the largest self-consistent Δt and names the drifting and changing ones', () => {
    // 0.5: equilibrium drifts; 1, 2: consistent; 5: kinetics change when halved
    const v = verdictOf([r(0.5, true, false), r(1, false, false), r(2, false, false), r(5, false, true)], (dt) => dt / 2 >= 1)
    expect(v.equilibriumOk).toEqual([1, 2, 5])
    // Δt = 1 needs Δt/2 = 0.5 to have the right equilibrium too: it does not, so only 2 is self-consistent
    expect(v.kineticsOk).toEqual([2])
    expect(v.recommendedDtPs).toBe(2)
    expect(v.text).toMatch(/self-consistent at Δt = 2 ps/)
    expect(v.text).toMatch(/drifts at Δt = 0\.5 ps/)
    expect(v.text).toMatch(/halved at Δt = 5 ps/)
  })
  it('inconclusive kinetics never count as self-consistent', () => {
    const wide = (dtPs: number): DtResult => ({ ...r(dtPs, false, false), kinetics: { items: [], differs: false, conclusive: false, reasons: [] } })
    const v = verdictOf([wide(1), wide(2), wide(5)], () => true)
    expect(v.kineticsOk).toEqual([])
    expect(v.text).not.toMatch(/self-consistent at/)
    expect(v.text).toMatch(/could not be compared/)
    expect(v.recommendedDtPs).toBe(5)
    expect(v.text).toMatch(/Recommended Δt: 5 ps \(equilibrium only; kinetics unverified\)/)
  })
  it('an equilibrium too noisy to judge is "not resolved", never "right", and is recommended only when nothing is resolved', () => {
    const unresolved = (dtPs: number): DtResult => ({ ...r(dtPs, false, false), equilibrium: [eq(false, false)] })
    // 0.5 and 1 unresolved; 2 resolved and consistent; 5 resolved, kinetics change when halved
    const v = verdictOf([unresolved(0.5), unresolved(1), r(2, false, false), r(5, false, true)], () => true)
    expect(v.equilibriumOk).toEqual([2, 5])
    expect(v.equilibriumUnresolved).toEqual([0.5, 1])
    expect(v.recommendedDtPs).toBe(2)
    expect(v.text).toMatch(/At Δt = 0\.5 ps, 1 ps the equilibrium is not resolved/)
    expect(v.text).toMatch(/alpha_R 0\.70 % vs 0\.30 %/)
    expect(v.text).not.toMatch(/drifts/)
    // nothing resolved: the largest unresolved Δt is offered, and the text says what it is
    const w = verdictOf([unresolved(1), unresolved(5)], () => true)
    expect(w.equilibriumOk).toEqual([])
    expect(w.recommendedDtPs).toBe(5)
    expect(w.text).toMatch(/Recommended Δt: 5 ps \(equilibrium not resolved; kinetics agree with Δt\/2\)/)
  })
  it('with nothing resolved, prefers the largest Δt whose kinetics did not change when halved', () => {
    // the shipped ala2 model's long check: 1 and 2 ps agree with Δt/2, 5 ps changes; none resolved
    const u = (dtPs: number, kinDiffers: boolean): DtResult => ({ ...r(dtPs, false, kinDiffers), equilibrium: [eq(false, false)] })
    const v = verdictOf([u(1, false), u(2, false), u(5, true)], () => true)
    expect(v.recommendedDtPs).toBe(2)
    expect(v.text).toMatch(/Kinetics change when Δt is halved at Δt = 5 ps/)
    expect(v.text).toMatch(/Recommended Δt: 2 ps \(equilibrium not resolved; kinetics agree with Δt\/2\)/)
    // every Δt changes: the largest is still offered, and said to change
    const w = verdictOf([u(1, true), u(5, true)], () => true)
    expect(w.recommendedDtPs).toBe(5)
    expect(w.text).toMatch(/Recommended Δt: 5 ps \(equilibrium not resolved; kinetics change with Δt\)/)
  })
  it('recommends nothing when the equilibrium is wrong everywhere', () => {
    const v = verdictOf([r(1, true, false), r(2, true, false)], () => false)
    expect(v.recommendedDtPs).toBeUndefined()
    expect(v.text).toMatch(/retrain/)
  })
})

describe('helpers', () => {
  it('runFramePs: the densest spacing ≤ 5 ps that is a multiple of Δt and divides the counting spacing', () => {
    const o = { framePs: 10, countingPs: 10 }
    expect([0.25, 0.5, 1, 2, 2.5, 5].map((dt) => runFramePs(dt, o))).toEqual([5, 5, 5, 2, 5, 5])
    // Δt = 3 ps: no multiple ≤ 5 divides 10 → the common spacing
    expect(runFramePs(3, { framePs: 30, countingPs: 30 })).toBe(3)
    expect(runFramePs(4, { framePs: 20, countingPs: 20 })).toBe(4)
    expect(runFramePs(7, { framePs: 14, countingPs: 14 })).toBe(14)
  })
  it('commonFramePs is the least common multiple of every Δt and Δt/2', () => {
    expect(commonFramePs([0.5, 1, 2, 5])).toBe(10) // 0.25, 0.5, 1, 2, 2.5, 5 → 10
    expect(commonFramePs([2])).toBe(2)
    expect(commonFramePs([0.3])).toBeCloseTo(0.3, 12)
    expect(() => commonFramePs([0.0001])).toThrow(/fs/)
  })
  it('finds φ/ψ of alanine dipeptide’s one residue from the PDB names', () => {
    const text = readFileSync(path.resolve(__dirname, '../../../resources/examples/ala2/ala2_reference.pdb'), 'latin1')
    const res = residuesWithPhiPsi(readPdb(text, 'ala2_reference.pdb').topology)
    expect(res.map((r) => r.name)).toEqual(['ALA2'])
    expect(res[0]!.phi.slice(1)).toEqual(res[0]!.psi.slice(0, 3))
  })
})
