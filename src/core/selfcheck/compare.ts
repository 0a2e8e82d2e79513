/**
 * The statistics of the self-check (docs/self-check.md): equilibrium of a simulated run against
 * i.i.d. samples of the model's full reverse diffusion (and the training snapshots), and kinetics
 * at Δt against Δt/2, each with error bars, and the plain verdict built from them.
 * Angles in radians, times in ps, rates per ns.
 */
import { histogram2d } from '../analysis/histogram'
import { jsd } from '../analysis/jsd'
import { basinPopulations, BASINS_4 } from '../analysis/basins'
import type { KineticFigures, ValueWithError } from '../analysis/kinetics'

/** φ/ψ of one residue over a set of frames, grouped by replica (i.i.d. samples: one group each or one group) */
export interface ResidueSamples {
  residue: string
  /** per replica (or per block) φ and ψ series */
  groups: { phi: ArrayLike<number>; psi: ArrayLike<number> }[]
}

export interface PopulationComparison {
  basin: string
  sim: ValueWithError
  other: ValueWithError
  /** sim / other (NaN when other = 0) */
  ratio: number
  /** (sim − other) / √(se_sim² + se_other²) */
  z: number
  /** the factor by which this basin's odds p/(1 − p) may change (populationTolerance) */
  tolerance: number
  /**
   * whether these samples could have seen a change of the tolerated size: the combined standard
   * error is at most other·(1 − other)·(tolerance − 1)/z (a change of the odds by the tolerated
   * factor would reach z σ). Basins below the population floor are not judged and count as resolved.
   */
  resolved: boolean
}

export interface EquilibriumComparison {
  residue: string
  /** Ramachandran JSD (SELF_CHECK_RAMA_BINS² bins, nats) between the simulated frames and the other sample */
  jsd: number
  /** the JSD two halves of the simulated replicas show against each other: the sampling-noise scale */
  jsdSplitHalves: number
  /** the JSD expected from sampling noise alone for this comparison (docs/self-check.md) */
  jsdNoise: number
  populations: PopulationComparison[]
  /** true when the difference exceeds both the noise and the practical tolerance */
  differs: boolean
  reasons: string[]
  /**
   * false when a judged basin's error bar is too wide to see a change of the tolerated size: then
   * "does not differ" says nothing, and the verdict calls this Δt unresolved, not right
   */
  conclusive: boolean
  /** the basins that were too noisy to judge, one phrase each */
  unresolved: string[]
}

/**
 * Ramachandran bins per axis for the self-check's JSD: 20 (18°). The display's 60×60 grid has
 * ~600 occupied bins, so 2,000 i.i.d. samples alone give a JSD noise of ≈ 0.04 — larger than the
 * drifts the check must see (≈ 0.01–0.02 against GROMACS at 60×60); 20×20 keeps the basins'
 * shapes (each basin spans several bins) at a ninth of the noise (docs/self-check.md).
 */
export const SELF_CHECK_RAMA_BINS = 20

function rama(phi: ArrayLike<number>, psi: ArrayLike<number>): Float64Array {
  return histogram2d(phi, psi, [[-Math.PI, Math.PI], [-Math.PI, Math.PI]], SELF_CHECK_RAMA_BINS, true)
}

/** tolerances of the verdict (docs/self-check.md explains each) */
export const SELF_CHECK_TOLERANCE = {
  /** JSD in excess of the sampling noise that counts as a different equilibrium */
  jsdExcess: 0.008,
  /** a rare (or near-certain) basin's odds p/(1 − p) off by more than this factor (either way) … */
  populationRatio: 2,
  /**
   * … a major basin's (share between majorBasinShare and 1 − majorBasinShare) by more than this one:
   * between two major basins the rates obey k_AB/k_BA = p_B/p_A, so a 20 % error in their odds is a
   * 20 % error in a rate ratio — the kinetics tolerance (docs/self-check.md "Basin populations")
   */
  majorOddsRatio: 1.2,
  majorBasinShare: 0.1,
  /** … counted only for basins holding at least this share in the i.i.d. sample */
  populationFloor: 0.002,
  /** significance (standard errors) a difference must also reach */
  z: 3,
  /** kinetics: relative difference of a rate or τ_int that counts as not converged */
  kineticsRelative: 0.2,
  /** kinetics: absolute difference of an ACF value that counts as not converged */
  acfAbsolute: 0.05,
  /** kinetics significance (standard errors): the width of the bands the time-scale error must clear */
  kineticsZ: 2,
  /**
   * one figure's Δt-vs-Δt/2 difference counts as a change only beyond this many standard errors:
   * about ten figures are compared per Δt, so 3 σ keeps the chance of a false alarm per Δt near
   * 10·0.003 (docs/self-check.md "Kinetic time scale")
   */
  kineticsItemZ: 3,
} as const

function meanSe(values: number[]): ValueWithError {
  const v = values.filter((x) => Number.isFinite(x))
  if (v.length === 0) return { value: NaN, stderr: NaN }
  const m = v.reduce((a, b) => a + b, 0) / v.length
  if (v.length < 2) return { value: m, stderr: NaN }
  const s2 = v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1)
  return { value: m, stderr: Math.sqrt(s2 / v.length) }
}

function pooled(groups: ResidueSamples['groups']): { phi: number[]; psi: number[] } {
  const phi: number[] = []
  const psi: number[] = []
  for (const g of groups) {
    for (let i = 0; i < g.phi.length; i++) {
      phi.push(g.phi[i]!)
      psi.push(g.psi[i]!)
    }
  }
  return { phi, psi }
}

/** number of histogram bins with any probability in either distribution */
function occupied(p: Float64Array, q: Float64Array): number {
  let k = 0
  for (let i = 0; i < p.length; i++) if (p[i]! > 0 || q[i]! > 0) k++
  return k
}

/** the factor a basin of share o may change its odds by: majorOddsRatio for major basins, else populationRatio */
export function populationTolerance(o: number, tol: { populationRatio: number; majorOddsRatio: number; majorBasinShare: number } = SELF_CHECK_TOLERANCE): number {
  return o >= tol.majorBasinShare && o <= 1 - tol.majorBasinShare ? tol.majorOddsRatio : tol.populationRatio
}

/** (p/(1 − p)) / (q/(1 − q)); Infinity when q is 0 or p is 1, 0 when p is 0 */
export function oddsRatio(p: number, q: number): number {
  if (p === q) return 1
  return (p * (1 - q)) / (q * (1 - p))
}

/**
 * How much more simulation would resolve a basin: the run's error shrinks as 1/√(replicas × ns), the
 * i.i.d. side's does not, so the factor is (se_run / √(needed² − se_iid²))²; when the i.i.d. error
 * alone is too wide, more i.i.d. samples are needed first.
 */
export function moreNeeded(seRun: number, seIid: number, needed: number): string {
  if (!(needed > seIid)) return '; first more i.i.d. samples (--iid)'
  if (!Number.isFinite(seRun)) return ''
  const f = (seRun * seRun) / (needed * needed - seIid * seIid)
  return f > 1 ? `; ≈ ${f < 10 ? f.toFixed(1) : Math.ceil(f)}× more replicas × ns` : ''
}

/**
 * Simulated replicas (correlated frames, independent replicas) against an i.i.d. sample.
 * Noise model (docs/self-check.md): for two samples of one distribution with K occupied bins and
 * effective sizes n₁, n₂, E[JSD] ≈ (K − 1)(1/n₁ + 1/n₂)/8 nats. Two halves of the simulated
 * replicas give E[JSD_halves] ≈ (K − 1)·4/(8 n_sim), so the expected noise of sim vs i.i.d. is
 * JSD_halves/4 + (K − 1)/(8 n_iid). Population errors: replica spread for the simulation (it
 * includes the time correlation), binomial for the i.i.d. sample.
 */
export function compareEquilibrium(sim: ResidueSamples, iid: { phi: ArrayLike<number>; psi: ArrayLike<number> }, tol = SELF_CHECK_TOLERANCE): EquilibriumComparison {
  const all = pooled(sim.groups)
  const pSim = rama(all.phi, all.psi)
  const pOther = rama(iid.phi, iid.psi)
  const d = jsd(pSim, pOther)
  const half = Math.floor(sim.groups.length / 2)
  let split = NaN
  if (half >= 1) {
    const a = pooled(sim.groups.slice(0, half))
    const b = pooled(sim.groups.slice(half))
    split = jsd(rama(a.phi, a.psi), rama(b.phi, b.psi))
  }
  const K = occupied(pSim, pOther)
  const nIid = iid.phi.length
  // one group: the simulated side is itself i.i.d. (n values), so its noise follows the same formula
  const simNoise = Number.isFinite(split) ? split / 4 : (K - 1) / (8 * Math.max(1, all.phi.length))
  const noise = simNoise + (K - 1) / (8 * Math.max(1, nIid))
  const popIid = basinPopulations(iid.phi, iid.psi)
  const perGroup = sim.groups.map((g) => basinPopulations(g.phi, g.psi))
  const pctOf = (v: number): string => `${(100 * v).toFixed(2)} %`
  /** one phrase per judged basin too noisy to see a change of the tolerated size */
  const unresolved: string[] = []
  /** basins off by more than their tolerance and by more than z standard errors */
  const basinReasons: string[] = []
  const populations: PopulationComparison[] = BASINS_4.map((b) => {
    const s = meanSe(perGroup.map((p) => p[b] ?? 0))
    const o = popIid[b] ?? 0
    const other = { value: o, stderr: Math.sqrt(Math.max(o * (1 - o), 1 / nIid) / nIid) }
    const se = Math.hypot(Number.isFinite(s.stderr) ? s.stderr : 0, other.stderr)
    const judged = o >= tol.populationFloor
    const f = populationTolerance(o, tol)
    // a change of the odds by the factor f moves p by ≈ p(1 − p)(f − 1) (first order in f − 1)
    const needed = (o * (1 - o) * (f - 1)) / tol.z
    const z = se > 0 ? (s.value - o) / se : 0
    const r = oddsRatio(s.value, o)
    // a change beyond the tolerance that is also significant has been seen, however wide the error bar
    const seen = (r > f || r < 1 / f) && Math.abs(z) > tol.z
    const resolved = !judged || seen || (Number.isFinite(s.stderr) && se <= needed)
    if (seen && (o >= tol.populationFloor || s.value >= tol.populationFloor)) {
      basinReasons.push(`${b} ${pctOf(s.value)} vs ${pctOf(o)} (odds ×${r.toFixed(2)}, ${Math.abs(z).toFixed(1)} σ)`)
    }
    if (!resolved) unresolved.push(`${b} ${pctOf(s.value)} vs ${pctOf(o)} ± ${Number.isFinite(s.stderr) ? pctOf(se) : '?'} (a ${f}× change of its odds needs ± ${pctOf(needed)}${moreNeeded(s.stderr, other.stderr, needed)})`)
    return { basin: b, sim: s, other, ratio: o > 0 ? s.value / o : NaN, z, tolerance: f, resolved }
  })
  const reasons: string[] = []
  if (d - noise > tol.jsdExcess && d > 3 * noise) reasons.push(`Ramachandran JSD ${d.toFixed(4)} (noise ≈ ${noise.toFixed(4)})`)
  reasons.push(...basinReasons)
  return { residue: sim.residue, jsd: d, jsdSplitHalves: split, jsdNoise: noise, populations, differs: reasons.length > 0, reasons, conclusive: unresolved.length === 0, unresolved }
}

export interface KineticsComparison {
  /** figure name → value at Δt, at Δt/2, relative (rates, τ) or absolute (ACF) difference, significance */
  items: { name: string; at: ValueWithError; half: ValueWithError; difference: number; relative: boolean; se: number; z: number; differs: boolean }[]
  differs: boolean
  /** false when the error bars are wider than the tolerance (the runs are too short to tell) */
  conclusive: boolean
  reasons: string[]
}

/** kinetics at Δt against Δt/2 (both computed at the same frame spacing and length) */
export function compareKinetics(at: KineticFigures, half: KineticFigures, tol = SELF_CHECK_TOLERANCE): KineticsComparison {
  const items: KineticsComparison['items'] = []
  const add = (name: string, a: ValueWithError, b: ValueWithError, relative: boolean): void => {
    const diff = relative ? a.value / b.value - 1 : a.value - b.value
    const se = relative ? Math.hypot(a.stderr / a.value, b.stderr / b.value) : Math.hypot(a.stderr, b.stderr)
    const z = se > 0 ? diff / se : NaN
    const limit = relative ? tol.kineticsRelative : tol.acfAbsolute
    const differs = Number.isFinite(diff) && Math.abs(diff) > limit && Number.isFinite(z) && Math.abs(z) > tol.kineticsItemZ
    items.push({ name, at: a, half: b, difference: diff, relative, se, z, differs })
  }
  add('k C5→C7eq', at.rateForward, half.rateForward, true)
  add('k C7eq→C5', at.rateBackward, half.rateBackward, true)
  add('τ_int φ', at.tauPhi, half.tauPhi, true)
  add('τ_int ψ', at.tauPsi, half.tauPsi, true)
  for (const lag of Object.keys(at.acfPhi)) add(`ACF φ ${lag} ps`, at.acfPhi[lag]!, half.acfPhi[lag]!, false)
  for (const lag of Object.keys(at.acfPsi)) add(`ACF ψ ${lag} ps`, at.acfPsi[lag]!, half.acfPsi[lag]!, false)
  const usable = items.filter((i) => Number.isFinite(i.difference))
  // conclusive: the typical error of a difference is below its tolerance
  const wide = usable.filter((i) => !(i.se * tol.kineticsZ <= (i.relative ? tol.kineticsRelative : tol.acfAbsolute)))
  const reasons = items.filter((i) => i.differs).map((i) => `${i.name} ${fmt(i.at.value)} vs ${fmt(i.half.value)} at Δt/2 (${i.relative ? `${(100 * i.difference).toFixed(0)} %` : i.difference.toFixed(3)})`)
  return { items, differs: reasons.length > 0, conclusive: usable.length > 0 && wide.length <= usable.length / 2, reasons }
}

function fmt(v: number): string {
  return Math.abs(v) >= 10 ? v.toFixed(0) : v.toPrecision(3)
}

export interface DtResult {
  dtPs: number
  equilibrium: EquilibriumComparison[]
  /** against the training snapshots (context: how well the model learned the data) */
  versusSnapshots: EquilibriumComparison[]
  kinetics?: KineticsComparison
  /** the kinetic time scale's estimated error at this Δt, from the fit over every run (timescaleError) */
  timescale?: TimescaleError
  /** run-length check: replica length / τ_int (below 20 the kinetic figures are unreliable) */
  lengthOverTau: number
  acceptance?: number
}

export interface TimescalePoint {
  dtPs: number
  /** logTimescale of the run (src/core/analysis/kinetics.ts) with its jackknife error */
  value: number
  stderr: number
}

export interface TimescaleFit {
  /** ln time scale extrapolated to Δt → 0, and its slope per ps, with standard errors */
  intercept: number
  slope: number
  interceptSe: number
  slopeSe: number
  /** χ² of the points about the line, its degrees of freedom, and the factor √max(1, χ²/dof) the errors were scaled by */
  chi2: number
  dof: number
  scale: number
  points: TimescalePoint[]
}

/**
 * Weighted least squares of y = a + b·Δt through the runs' log time scales (weights 1/se²). A step's
 * own kinetic error vanishes as Δt → 0 (docs/sampler-integrators.md "The step's own kinetics") and
 * grows about linearly with Δt over the range a self-check tests, so b·Δt estimates how far the run at
 * Δt is from the converged kinetics — using every run, not only the pair Δt, Δt/2 (Richardson's idea
 * by regression). When the points scatter more than their errors (χ²/dof > 1) the errors are scaled
 * by √(χ²/dof) (Birge). Undefined with fewer than two usable points or a single Δt.
 */
export function fitTimescales(points: readonly TimescalePoint[]): TimescaleFit | undefined {
  const p = points.filter((q) => Number.isFinite(q.value) && Number.isFinite(q.stderr) && q.stderr > 0)
  if (p.length < 2 || new Set(p.map((q) => q.dtPs)).size < 2) return undefined
  let S = 0
  let Sx = 0
  let Sy = 0
  let Sxx = 0
  let Sxy = 0
  for (const q of p) {
    const w = 1 / (q.stderr * q.stderr)
    S += w
    Sx += w * q.dtPs
    Sy += w * q.value
    Sxx += w * q.dtPs * q.dtPs
    Sxy += w * q.dtPs * q.value
  }
  const D = S * Sxx - Sx * Sx
  const b = (S * Sxy - Sx * Sy) / D
  const a = (Sy - b * Sx) / S
  let chi2 = 0
  for (const q of p) chi2 += ((q.value - a - b * q.dtPs) / q.stderr) ** 2
  const dof = p.length - 2
  const scale = dof > 0 ? Math.sqrt(Math.max(1, chi2 / dof)) : 1
  return { intercept: a, slope: b, interceptSe: scale * Math.sqrt(Sxx / D), slopeSe: scale * Math.sqrt(S / D), chi2, dof, scale, points: p }
}

export interface TimescaleError {
  /** estimated error of the ln time scale at this Δt (slope·Δt: negative = dynamics too fast) and its standard error */
  error: number
  se: number
  /** the band error ± kineticsZ·se lies inside ±ln(1 + kineticsRelative): kinetics converged here */
  ok: boolean
  /** the band lies wholly outside it: kinetics not converged here */
  changes: boolean
}

/** the fit's estimate of the kinetic error at Δt and its verdict against the kinetics tolerance */
export function timescaleErrorAt(fit: TimescaleFit, dtPs: number, tol = SELF_CHECK_TOLERANCE): TimescaleError {
  const error = fit.slope * dtPs
  const se = fit.slopeSe * dtPs
  const L = Math.log(1 + tol.kineticsRelative)
  return { error, se, ok: Math.abs(error) + tol.kineticsZ * se <= L, changes: Math.abs(error) - tol.kineticsZ * se > L }
}

export interface Verdict {
  /** Δt values whose equilibrium matches the i.i.d. samples, with error bars that could have seen a change */
  equilibriumOk: number[]
  /** Δt values whose equilibrium does not differ but whose error bars are too wide to say it is right */
  equilibriumUnresolved: number[]
  /** Δt values whose kinetics agree with Δt/2 */
  kineticsOk: number[]
  /** the recommended Δt (ps): the largest self-consistent one; undefined when none is */
  recommendedDtPs?: number
  /**
   * reverse steps per adapter step the integrator-resolution run recommends (withResolution), when
   * more steps removed the drift or a clear part of it
   */
  recommendedDenoiseSteps?: number
  /** what the integrator-resolution run found: the drift went away, shrank, or stayed */
  integrator?: 'fixed' | 'partly' | 'model'
  /** one plain sentence (or two) a chemist can act on */
  text: string
}

/**
 * The verdict: a Δt is self-consistent when its equilibrium matches the model's i.i.d. samples
 * with error bars narrow enough to have seen a change (otherwise it is "unresolved", never "right")
 * and its kinetics match Δt/2 conclusively (error bars narrower than the tolerance), and Δt/2's
 * equilibrium matches too. The recommended Δt is the largest self-consistent one (cheapest per ns);
 * when none is, the largest Δt with the right (else unresolved) equilibrium whose kinetics did not
 * change when halved (else the largest of them) is recommended, and the text says which it is.
 */
export function verdictOf(results: DtResult[], halfEquilibriumOk: (dt: number) => boolean): Verdict {
  const sorted = [...results].sort((a, b) => a.dtPs - b.dtPs)
  const notDiffering = sorted.filter((r) => !r.equilibrium.some((e) => e.differs))
  const eqOk = notDiffering.filter((r) => r.equilibrium.every((e) => e.conclusive !== false)).map((r) => r.dtPs)
  const eqUnresolved = notDiffering.filter((r) => !eqOk.includes(r.dtPs)).map((r) => r.dtPs)
  // with a time-scale fit (timescale set), kinetics are judged by it and by any figure that changes
  // beyond kineticsItemZ; without one, by the figures' Δt-vs-Δt/2 comparison alone
  const kinChanges = (r: DtResult): boolean => Boolean(r.kinetics?.differs || r.timescale?.changes)
  const kinVerified = (r: DtResult): boolean => (r.timescale ? r.timescale.ok : Boolean(r.kinetics?.conclusive))
  const kinOk = sorted.filter((r) => r.kinetics && !kinChanges(r) && kinVerified(r) && halfEquilibriumOk(r.dtPs)).map((r) => r.dtPs)
  const consistent = eqOk.filter((dt) => kinOk.includes(dt))
  const drift = sorted.filter((r) => !eqOk.includes(r.dtPs) && !eqUnresolved.includes(r.dtPs)).map((r) => r.dtPs)
  const changes = sorted.filter((r) => (eqOk.includes(r.dtPs) || eqUnresolved.includes(r.dtPs)) && kinChanges(r)).map((r) => r.dtPs)
  /**
   * the largest Δt of a set, preferring those whose kinetics were shown converged, then those whose
   * kinetics were not shown to change
   */
  const pick = (v: number[]): number => {
    const verified = v.filter((dt) => kinOk.includes(dt))
    if (verified.length > 0) return Math.max(...verified)
    const steady = v.filter((dt) => !changes.includes(dt))
    return Math.max(...(steady.length > 0 ? steady : v))
  }
  const unverified = eqOk.filter((dt) => !consistent.includes(dt) && !changes.includes(dt))
  const unresolvedWhy = sorted
    .filter((r) => eqUnresolved.includes(r.dtPs))
    .flatMap((r) => r.equilibrium.flatMap((e) => (e.unresolved ?? []).map((u) => `${u} at ${r.dtPs} ps`)))
  const list = (v: number[]): string => v.map((x) => `${x} ps`).join(', ')
  const parts: string[] = []
  let rec: number | undefined
  if (consistent.length > 0) {
    rec = Math.max(...consistent)
    parts.push(`Dynamics self-consistent at Δt = ${list(consistent)}.`)
  } else if (eqOk.length > 0) {
    rec = pick(eqOk)
    parts.push(`No Δt is shown self-consistent: the equilibrium is right at Δt = ${list(eqOk)}, but no Δt's kinetics were shown to agree with Δt/2.`)
  } else if (eqUnresolved.length > 0) {
    rec = pick(eqUnresolved)
    parts.push(`No Δt is shown self-consistent: no tested Δt's equilibrium was measured precisely enough to confirm it.`)
  } else parts.push('At no tested Δt does the equilibrium match the model’s own i.i.d. samples: retrain (more steps or data) before trusting its dynamics.')
  if (drift.length > 0) parts.push(`The equilibrium drifts at Δt = ${list(drift)}.`)
  if (eqUnresolved.length > 0) {
    parts.push(`At Δt = ${list(eqUnresolved)} the equilibrium is not resolved — the runs are too short to see a change of the tolerated size (${unresolvedWhy.slice(0, 2).join('; ')}): run longer (--ns) or more replicas before trusting it.`)
  }
  const fitted = sorted.filter((r) => r.timescale)
  if (fitted.length > 0) {
    parts.push(
      `Kinetic time scale against Δt → 0: ${fitted.map((r) => `${timescaleErrorText(r.timescale!.error, r.timescale!.se)} at ${r.dtPs} ps`).join(', ')} (tolerance ±${(100 * SELF_CHECK_TOLERANCE.kineticsRelative).toFixed(0)} %; negative = too fast).`
    )
  }
  if (changes.length > 0) parts.push(`Kinetics ${fitted.length > 0 ? 'are not converged' : 'change when Δt is halved'} at Δt = ${list(changes)}.`)
  if (unverified.length > 0) {
    parts.push(
      fitted.length > 0
        ? `At Δt = ${list(unverified)} the kinetics are not shown to be within the tolerance (their error band reaches it, or Δt/2 drifts): more replicas (--replicas, --max-replicas) or longer runs (--ns) may decide.`
        : `At Δt = ${list(unverified)} the kinetics could not be compared with Δt/2 (error bars wider than the tolerance, or Δt/2 drifts): run longer (--ns) or more replicas.`
    )
  }
  if (rec !== undefined) {
    const kinetics = kinOk.includes(rec) ? (fitted.length > 0 ? 'kinetics converged' : 'kinetics agree with Δt/2') : changes.includes(rec) ? 'kinetics change with Δt' : 'kinetics unverified'
    parts.push(`Recommended Δt: ${rec} ps${consistent.includes(rec) ? '' : eqOk.includes(rec) ? ` (equilibrium only; ${kinetics})` : ` (equilibrium not resolved; ${kinetics})`}.`)
  }
  return { equilibriumOk: eqOk, equilibriumUnresolved: eqUnresolved, kineticsOk: kinOk, recommendedDtPs: rec, text: parts.join(' ') }
}

/**
 * A kinetic time-scale error for people: ln-scale error e and its standard error se as
 * "+12 ± 5 %" (the relative change e^e − 1, signed with a true minus; se as a percentage of ln).
 * The verdict, `diffmd check` and the Check panel all print it so.
 */
export function timescaleErrorText(error: number, se: number): string {
  const v = 100 * Math.expm1(error)
  return `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(0)} ± ${(100 * se).toFixed(0)} %`
}

/** the parts of an integrator-resolution run (self-check.ts ResolutionResult) the verdict reads */
export interface ResolutionFigures {
  dtPs: number
  baseDenoiseSteps: number
  denoiseSteps: number
  equilibrium: EquilibriumComparison[]
  base: EquilibriumComparison[]
}

/** the largest JSD of a comparison over residues, with that residue's noise scale */
export function worstJsd(eq: readonly EquilibriumComparison[]): { jsd: number; noise: number } {
  let best = { jsd: -Infinity, noise: NaN }
  for (const e of eq) if (e.jsd > best.jsd) best = { jsd: e.jsd, noise: e.jsdNoise }
  return best
}

/**
 * The verdict with the integrator-resolution run (docs/self-check.md "Integrator resolution"): when
 * the drifting Δt no longer drifts with more reverse steps, the drift is the integrator's, not the
 * model's — no retraining, but M is raised (recommendedDenoiseSteps); when its JSD against the i.i.d.
 * samples at least halves but it still drifts, part is; otherwise it is the model's.
 */
export function withResolution(v: Verdict, r: ResolutionFigures): Verdict {
  const base = worstJsd(r.base)
  const fine = worstJsd(r.equilibrium)
  const fineDrifts = r.equilibrium.some((e) => e.differs)
  const f = (x: number): string => x.toFixed(3)
  const cost = `${(r.denoiseSteps / r.baseDenoiseSteps).toFixed(0)}× the network evaluations per step`
  let text = v.text
  if (!fineDrifts) {
    const resolved = r.equilibrium.every((e) => e.conclusive !== false)
    text = text.replace(': retrain (more steps or data) before trusting its dynamics.', ` with M = ${r.baseDenoiseSteps} reverse steps per adapter step.`)
    text +=
      (resolved ? ` The drift is the reverse integrator's, not the model's:` : ` The drift may be the reverse integrator's rather than the model's:`) +
      ` at Δt = ${r.dtPs} ps with M = ${r.denoiseSteps} (${cost}) the equilibrium ` +
      (resolved ? 'matches' : 'no longer differs from') +
      ` the model's i.i.d. samples (Ramachandran JSD ${f(fine.jsd)}, noise ${f(fine.noise)}; ${f(base.jsd)} at M = ${r.baseDenoiseSteps})` +
      (resolved ? '' : ', though the runs are too short to confirm it') +
      `. Sample with --denoise-steps ${r.denoiseSteps}, and run the check again with it to judge every Δt.`
    return { ...v, text, recommendedDenoiseSteps: r.denoiseSteps, integrator: 'fixed' }
  }
  if (fine.jsd <= 0.5 * base.jsd) {
    text += ` Part of the drift is the reverse integrator's: at Δt = ${r.dtPs} ps with M = ${r.denoiseSteps} (${cost}) the Ramachandran JSD against the i.i.d. samples falls from ${f(base.jsd)} to ${f(fine.jsd)} (noise ${f(fine.noise)}), but the equilibrium still drifts: sample with at least --denoise-steps ${r.denoiseSteps}, and retrain for the rest.`
    return { ...v, text, recommendedDenoiseSteps: r.denoiseSteps, integrator: 'partly' }
  }
  text += ` More reverse steps do not remove it (Δt = ${r.dtPs} ps, M = ${r.denoiseSteps}: JSD ${f(fine.jsd)} against ${f(base.jsd)} at M = ${r.baseDenoiseSteps}): the drift is the model's, not the integrator's.`
  return { ...v, text, integrator: 'model' }
}

/**
 * The verdict with the model's own i.i.d. samples against the training snapshots: when they differ,
 * the check's runs can at best reproduce the model's equilibrium, not the data's, and the verdict
 * says so (with the first reason of each differing residue). Recommendations are unchanged.
 */
export function withSnapshots(v: Verdict, iidVersusSnapshots: readonly EquilibriumComparison[]): Verdict {
  const off = iidVersusSnapshots.filter((e) => e.differs)
  if (off.length === 0) return v
  const why = off.map((e) => `${e.residue}: ${e.reasons[0] ?? `JSD ${e.jsd.toFixed(4)}`}`).join('; ')
  return { ...v, text: `${v.text} The model's own i.i.d. samples differ from the training snapshots (${why}): its dynamics can at best reproduce its own equilibrium, not quite the data's; more training steps or data would close that gap.` }
}
