/**
 * Per-frame observables of the trajectory on screen, for the time-series plot under the viewer:
 * φ, ψ (degrees), RMSD to the topology's coordinates and Rg (Å) — the standard observables of
 * analysis/run-analysis — plus the distances, angles and dihedrals picked in the viewer. One
 * replica at a time, every frame (no averaging); computed with src/core/analysis.
 */
import type { Topology } from '../../../core/topology'
import { seriesOf } from '../../../core/analysis'
import { standardObservables, type ObservableDef } from '../analysis/run-analysis'
import { peptideResidues } from '../../../core/analysis/residues'
import type { FrameGetter } from './viewer'

export type PickKind = 'distance' | 'angle' | 'dihedral'
export const PICK_ATOMS: Record<PickKind, number> = { distance: 2, angle: 3, dihedral: 4 }

/** an observable picked in the viewer */
export interface PickedObservable {
  /** 'pick:<kind>:<atoms>' */
  key: string
  kind: PickKind
  /** 0-based atom indices (the order of the topology PDB's atoms) */
  atoms: number[]
  /** "dihedral ACE 1 C – ALA 2 N – ALA 2 CA – ALA 2 C" */
  label: string
}

export interface TimeSeries {
  key: string
  label: string
  unit: '°' | 'Å'
  values: Float64Array
}

export function pickedKey(kind: PickKind, atoms: number[]): string {
  return `pick:${kind}:${atoms.join('-')}`
}

/**
 * The observables a topology offers: φ/ψ when it has a backbone (the first residue's as 'phi'/'psi',
 * every further residue's as 'phi:ALA3'/'psi:ALA3' — docs/peptides.md), RMSD, Rg, then the picked ones.
 */
export function timeSeriesDefs(top: Topology, picked: PickedObservable[]): ObservableDef[] {
  const defs = standardObservables(top)
  const residues = peptideResidues(top)
  const more: ObservableDef[] = []
  for (const r of residues.slice(1)) {
    more.push({ key: `phi:${r.label}`, label: r.phi.name, obs: { kind: 'dihedral', atoms: r.phi.atoms }, angle: true })
    more.push({ key: `psi:${r.label}`, label: r.psi.name, obs: { kind: 'dihedral', atoms: r.psi.atoms }, angle: true })
  }
  // after the first residue's ψ, before RMSD and Rg
  const at = defs.findIndex((d) => d.key === 'psi') + 1
  defs.splice(at > 0 ? at : defs.length, 0, ...more)
  for (const p of picked) {
    if (p.atoms.some((a) => a < 0 || a >= top.atoms.length)) continue
    const obs =
      p.kind === 'dihedral'
        ? { kind: 'dihedral' as const, atoms: p.atoms as [number, number, number, number] }
        : p.kind === 'angle'
          ? { kind: 'angle' as const, atoms: p.atoms as [number, number, number] }
          : { kind: 'distance' as const, atoms: p.atoms as [number, number] }
    defs.push({ key: p.key, label: p.label, obs, angle: p.kind !== 'distance' })
  }
  return defs
}

/**
 * Values of `defs` for frames 0 … count − 1 of `replica` (frames the getter does not have yet are
 * NaN). Angles and dihedrals in degrees (dihedrals in (−180°, 180°]), lengths in Å.
 */
export function computeTimeSeries(getFrame: FrameGetter, count: number, replica: number, nAtoms: number, defs: ObservableDef[], reference: Float32Array): TimeSeries[] {
  const d = 3 * nAtoms
  const frames = new Float32Array(Math.max(0, count) * d)
  const have = new Uint8Array(Math.max(0, count))
  for (let f = 0; f < count; f++) {
    const x = getFrame(replica, f)
    if (x && x.length === d) {
      frames.set(x, f * d)
      have[f] = 1
    } else frames.set(reference.subarray(0, d), f * d)
  }
  const out: TimeSeries[] = []
  for (const def of defs) {
    const v = count > 0 ? seriesOf(frames, nAtoms, count, def.obs, reference) : new Float64Array(0)
    const isAngle = def.obs.kind === 'dihedral' || def.obs.kind === 'angle'
    if (isAngle) for (let f = 0; f < v.length; f++) v[f] = (v[f]! * 180) / Math.PI
    for (let f = 0; f < v.length; f++) if (!have[f]) v[f] = NaN
    out.push({ key: def.key, label: def.label, unit: isAngle ? '°' : 'Å', values: v })
  }
  return out
}

/** frame nearest to x on the plot's axis (time in ps when dtPs is given, else the frame index), clamped to 0 … count − 1 */
export function frameAtX(x: number, count: number, dtPs: number | undefined): number {
  if (count <= 0 || !Number.isFinite(x)) return 0
  const f = Math.round(dtPs && dtPs > 0 ? x / dtPs : x)
  return Math.min(count - 1, Math.max(0, f))
}
