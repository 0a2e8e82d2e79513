/**
 * Observables of a generated run for the plots (docs/science.md "Observables and autocorrelation"), computed with src/core/analysis:
 * ACFs of φ, ψ (unit-vector form), RMSD (heavy atoms, Kabsch on the reference), Rg and a
 * user-picked dihedral/angle/distance — averaged over replicas with a standard-error band and
 * τ_int (Sokal window) — plus the Ramachandran histogram with JSD against the training data and
 * basin populations. Frames arrive time-major ([F, R·d], as the sampler makes them).
 */
import type { Topology } from '../../../core/topology'
import { backboneDihedrals, basinPopulations, jsd, ramachandran, replicaAcf, seriesOf, tauInt, type Observable } from '../../../core/analysis'
import { peptideResidues } from '../../../core/analysis/residues'
import { transitionRates } from '../../../core/analysis/basins'
import { referenceLikeWithLike, tauReliability, type LikeWithLike } from '../../../core/analysis/like-with-like'
import type { PhiPsiSeriesFile } from '../../../core/analysis/kinetics'
import { isHydrogen } from '../../../core/formats/elements'
import type { AcfSeries } from '../plots/options'

export interface CustomObservable {
  kind: 'dihedral' | 'angle' | 'distance'
  /** 0-based atom indices (4, 3 or 2) */
  atoms: number[]
}

export interface ObservableDef {
  key: string
  label: string
  obs: Observable
  angle: boolean
  /** key of the same observable in a reference JSON's `acf` / `tau_int` (gromacs_bd_reference.json) */
  referenceKey?: string
}

/** the residues with both φ and ψ (docs/peptides.md), by label ("ALA2"); `coords` (one frame) checks the peptide bonds */
export function residueLabels(top: Topology, coords?: ArrayLike<number>): string[] {
  return peptideResidues(top, coords).map((r) => r.label)
}

/**
 * The standard observables of a topology: φ/ψ of residue `residue` (an index into residueLabels;
 * the first residue by default) when it has a backbone, RMSD (heavy atoms), Rg. A topology with
 * one φ and one ψ (ala2) keeps the reference keys of the GROMACS reference file.
 */
export function standardObservables(top: Topology, coords?: ArrayLike<number>, residue = 0): ObservableDef[] {
  const out: ObservableDef[] = []
  const { phi: allPhi, psi: allPsi } = backboneDihedrals(top, coords)
  const residues = peptideResidues(top, coords)
  const picked = residues[residue] ?? residues[0]
  const phi = picked ? [picked.phi] : allPhi
  const psi = picked ? [picked.psi] : allPsi
  const single = allPhi.length === 1 && allPsi.length === 1
  if (phi[0]) out.push({ key: 'phi', label: phi[0].name, obs: { kind: 'dihedral', atoms: phi[0].atoms }, angle: true, ...(single ? { referenceKey: 'phi_unitvector' } : {}) })
  if (psi[0]) out.push({ key: 'psi', label: psi[0].name, obs: { kind: 'dihedral', atoms: psi[0].atoms }, angle: true, ...(single ? { referenceKey: 'psi_unitvector' } : {}) })
  const heavy = top.atoms.map((a, i) => (isHydrogen(a.element) ? -1 : i)).filter((i) => i >= 0)
  const allHeavy = heavy.length === top.atoms.length
  out.push({
    key: 'rmsd',
    label: allHeavy ? 'RMSD' : 'RMSD (heavy atoms)',
    obs: heavy.length >= 3 && !allHeavy ? { kind: 'rmsd', atoms: heavy } : { kind: 'rmsd' },
    angle: false,
    referenceKey: 'rmsd_heavy_nm',
  })
  out.push({ key: 'rg', label: 'Rg', obs: { kind: 'rg' }, angle: false, referenceKey: allHeavy ? 'rg_heavy_nm' : 'rg_all_nm' })
  return out
}

/** Checks a user-picked observable; a one-line message or null. */
export function checkCustom(c: CustomObservable, nAtoms: number): string | null {
  const need = c.kind === 'dihedral' ? 4 : c.kind === 'angle' ? 3 : 2
  if (c.atoms.length !== need) return `a ${c.kind} needs ${need} atom indices (got ${c.atoms.length})`
  for (const a of c.atoms) if (!Number.isInteger(a) || a < 0 || a >= nAtoms) return `atom index ${a} is outside 0…${nAtoms - 1}`
  if (new Set(c.atoms).size !== c.atoms.length) return 'the atoms must be different'
  return null
}

export function customObservable(c: CustomObservable, top: Topology): ObservableDef {
  const names = c.atoms.map((i) => `${top.atoms[i]?.name ?? '?'}${i}`).join('–')
  const obs: Observable =
    c.kind === 'dihedral'
      ? { kind: 'dihedral', atoms: c.atoms as [number, number, number, number] }
      : c.kind === 'angle'
        ? { kind: 'angle', atoms: c.atoms as [number, number, number] }
        : { kind: 'distance', atoms: c.atoms as [number, number] }
  return { key: 'custom', label: `${c.kind} ${names}`, obs, angle: c.kind === 'dihedral' }
}

/** replica r's frames [F, d] out of time-major rows [F, R·d] */
export function replicaFrames(rows: Float32Array, frames: number, replicas: number, dim: number, r: number): Float32Array {
  const out = new Float32Array(frames * dim)
  for (let t = 0; t < frames; t++) out.set(rows.subarray((t * replicas + r) * dim, (t * replicas + r + 1) * dim), t * dim)
  return out
}

export interface RunSeries {
  /** per observable key: one series per replica */
  series: Record<string, Float64Array[]>
}

export function computeSeries(rows: Float32Array, frames: number, replicas: number, dim: number, defs: ObservableDef[], reference: Float32Array): RunSeries {
  const nAtoms = dim / 3
  const series: Record<string, Float64Array[]> = {}
  for (const d of defs) series[d.key] = []
  for (let r = 0; r < replicas; r++) {
    const fr = replicaFrames(rows, frames, replicas, dim, r)
    for (const d of defs) series[d.key]!.push(seriesOf(fr, nAtoms, frames, d.obs, reference))
  }
  return { series }
}

/** lags analysed: half the trajectory (beyond that an ACF estimate rests on too few pairs) */
export function maxLagOf(frames: number): number {
  return Math.max(1, Math.floor((frames - 1) / 2))
}

/**
 * The run's ACF of one observable: replica mean ± standard error, τ_int of the mean. Angles use the
 * unit-vector ACF with the mean unit vector pooled over the replicas (the estimator the like-with-like
 * reference goes through too).
 */
export function acfSeries(def: ObservableDef, perReplica: Float64Array[], dtPs: number, maxLag: number): AcfSeries {
  const { mean, stderr } = replicaAcf(perReplica, maxLag, def.angle ? 'angle' : 'scalar', 'pooled')
  const lagPs: number[] = []
  for (let k = 0; k <= maxLag; k++) lagPs.push(k * dtPs)
  const tau = tauInt(mean, dtPs)
  const hasErr = perReplica.length > 1
  return {
    label: def.label,
    lagPs,
    mean: Array.from(mean),
    ...(hasErr ? { stderr: Array.from(stderr, (v) => (Number.isFinite(v) ? v : 0)) } : {}),
    tauIntPs: tau.tau,
    tauConverged: tau.converged,
  }
}

/** τ_int (ps) of an observable in a reference JSON of the full-length reference runs, if it has one */
export function referenceTau(reference: Record<string, unknown> | null, def: ObservableDef): number | undefined {
  if (!reference || !def.referenceKey) return undefined
  const tau = (reference.tau_int as Record<string, { tau_int_ps?: number }> | undefined)?.[def.referenceKey]?.tau_int_ps
  return typeof tau === 'number' && Number.isFinite(tau) ? tau : undefined
}

/**
 * Marks the run's τ_int unreliable (series.unreliable, and a one-line warning) when its Sokal window
 * did not close or the run is shorter than 20 τ, τ being the larger of the run's own and the
 * reference's (a short run underestimates its own τ).
 */
export function judgeTau(s: AcfSeries, runPs: number, independentTauPs: number | undefined): string | null {
  if (s.tauIntPs === undefined || !Number.isFinite(s.tauIntPs)) return null
  const r = tauReliability({ runPs, tauPs: s.tauIntPs, converged: s.tauConverged !== false, ...(independentTauPs !== undefined ? { independentTauPs } : {}) })
  s.unreliable = !r.reliable
  return r.reliable ? null : `τ_int unreliable: ${r.reason}${independentTauPs !== undefined ? ` (τ from the ${independentTauPs >= s.tauIntPs ? 'full reference' : 'run'})` : ''}; run longer for a correlation time`
}

/** the φ/ψ time series of a reference JSON (`timeseries`, the gromacs_bd_phipsi.json layout), if it carries them */
export function referenceSeries(reference: Record<string, unknown> | null): PhiPsiSeriesFile | null {
  const ts = reference?.timeseries as PhiPsiSeriesFile | undefined
  if (!ts || !Array.isArray(ts.replicas) || ts.replicas.length === 0) return null
  for (const r of ts.replicas) if (!(r.frame_interval_ps > 0) || !Array.isArray(r.phi_deg) || !Array.isArray(r.psi_deg)) return null
  return ts
}

let likeCache: { key: string; value: LikeWithLike | null } | null = null

/** the reference cut like the run (cached for the same series, frames, spacing and replicas) */
export function likeWithLike(series: PhiPsiSeriesFile, frames: number, spacingPs: number, replicas: number, maxLag: number): LikeWithLike | null {
  const key = `${frames}|${spacingPs}|${replicas}|${maxLag}`
  if (likeCache?.key === key && likeCacheSource === series) return likeCache.value
  let value: LikeWithLike | null = null
  try {
    value = frames >= 2 ? referenceLikeWithLike(series, { segmentFrames: frames, spacingPs, replicas, maxLag }) : null
  } catch {
    value = null
  }
  likeCache = { key, value }
  likeCacheSource = series
  return value
}
let likeCacheSource: PhiPsiSeriesFile | null = null

/** the like-with-like reference curve of φ or ψ as a plot series, and the one-line note that says how it was made */
export function likeWithLikeAcf(like: LikeWithLike, which: 'phi' | 'psi', def: ObservableDef, source: string): { series: AcfSeries; note: string } {
  const c = like[which]
  const sd = Number.isFinite(c.tauSpreadPs) ? ` ± ${fmt(c.tauSpreadPs)}` : ''
  return {
    series: {
      label: `${def.label} · ${source}, same length`,
      lagPs: c.lagPs,
      mean: Array.from(c.mean),
      ...(like.runs > 1 ? { stderr: Array.from(c.spread, (v) => (Number.isFinite(v) ? v : 0)) } : {}),
      tauIntPs: c.tauIntPs,
      reference: true,
    },
    note: `${source} cut like this run: ${like.segments} segments of ${like.segmentFrames} frames at ${fmt(like.spacingPs)} ps, ${like.runs} pseudo-run${like.runs === 1 ? '' : 's'} of ${like.replicasPerRun} (band: their spread); τ_int ${fmt(c.tauIntPs)}${sd} ps`,
  }
}

function fmt(x: number): string {
  return Number.isFinite(x) ? String(Number(x.toPrecision(3))) : '–'
}

/** the reference ACF of an observable from a reference JSON (gromacs_bd_reference.json layout), clipped to maxPs */
export function referenceAcf(reference: Record<string, unknown> | null, def: ObservableDef, maxPs: number): AcfSeries | null {
  if (!reference || !def.referenceKey) return null
  const acf = reference.acf as Record<string, unknown> | undefined
  const lag = acf?.lag_ps as number[] | undefined
  const values = acf?.[def.referenceKey] as number[] | undefined
  if (!Array.isArray(lag) || !Array.isArray(values) || lag.length !== values.length) return null
  const errs = (reference.acf_replica_stderr as Record<string, number[]> | undefined)?.[def.referenceKey]
  let n = lag.findIndex((t) => t > maxPs)
  if (n < 0) n = lag.length
  n = Math.max(2, n)
  const tau = (reference.tau_int as Record<string, { tau_int_ps?: number }> | undefined)?.[def.referenceKey]?.tau_int_ps
  const source = typeof reference.run === 'string' && reference.run === 'bd' ? 'GROMACS BD' : 'reference'
  return {
    label: `${def.label} · ${source}`,
    lagPs: lag.slice(0, n),
    mean: values.slice(0, n),
    ...(Array.isArray(errs) && errs.length === lag.length ? { stderr: errs.slice(0, n) } : {}),
    ...(typeof tau === 'number' ? { tauIntPs: tau } : {}),
    reference: true,
  }
}

/** 60×60 Ramachandran probabilities of pooled φ/ψ series */
export function ramaOf(phi: Float64Array[], psi: Float64Array[]): Float64Array {
  return ramachandran(concat(phi), concat(psi))
}

export function concat(parts: Float64Array[]): Float64Array {
  const n = parts.reduce((s, p) => s + p.length, 0)
  const out = new Float64Array(n)
  let o = 0
  for (const p of parts) {
    out.set(p, o)
    o += p.length
  }
  return out
}

/** JSD of two histograms, or undefined when either is empty */
export function safeJsd(p: ArrayLike<number>, q: ArrayLike<number>): number | undefined {
  try {
    return jsd(p, q)
  } catch {
    return undefined
  }
}

/** reference Ramachandran probabilities (60×60, [φ][ψ]) flattened, or null */
export function referenceRama(reference: Record<string, unknown> | null): Float64Array | null {
  const p = (reference?.ramachandran as { probability?: number[][] } | undefined)?.probability
  if (!Array.isArray(p) || p.length !== 60 || !p.every((row) => Array.isArray(row) && row.length === 60)) return null
  const out = new Float64Array(3600)
  p.forEach((row, i) => row.forEach((v, j) => (out[i * 60 + j] = Number.isFinite(v) ? v : 0)))
  return out
}

export function populations(phi: Float64Array[], psi: Float64Array[]): Record<string, number> {
  return basinPopulations(concat(phi), concat(psi), 4)
}

/** core-to-core rates (per ns) of the run's φ/ψ, both directions between C5/β and C7eq, with their counts */
export function coreRates(phi: Float64Array[], psi: Float64Array[], spacingPs: number): { key: string; ratePerNs: number | null; count: number }[] {
  const t = transitionRates(
    phi.map((p, r) => ({ phi: p, psi: psi[r]! })),
    spacingPs
  )
  return ['C5_beta->C7eq', 'C7eq->C5_beta'].map((key) => ({ key, ratePerNs: t.pairs[key]!.ratePerNs, count: t.pairs[key]!.count }))
}
