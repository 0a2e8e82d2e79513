/**
 * Per-frame observables of a trajectory (docs/science.md "Observables and autocorrelation"): backbone dihedrals found from residue and
 * atom names, any dihedral/angle/distance, RMSD to a reference after Kabsch, radius of gyration,
 * a single Cartesian coordinate. Frames: flat Float32Array [nFrames, 3·nAtoms], Å; angles in radians.
 */
import type { Topology } from '../topology'
import { KabschScratch, superpose } from '../geometry/kabsch'
import { angle, dihedral, distance, radiusOfGyration } from '../geometry/internal'

export interface DihedralDef {
  name: string
  atoms: [number, number, number, number]
}

export type Observable =
  | { kind: 'dihedral'; atoms: [number, number, number, number] }
  | { kind: 'angle'; atoms: [number, number, number] }
  | { kind: 'distance'; atoms: [number, number] }
  /** RMSD (Å) to the reference after Kabsch superposition; `atoms` restricts fit and RMSD to a subset */
  | { kind: 'rmsd'; atoms?: readonly number[] }
  /** radius of gyration (Å), equal weights unless `masses` (per atom); `atoms` restricts it to a subset */
  | { kind: 'rg'; atoms?: readonly number[]; masses?: ArrayLike<number> }
  /** one Cartesian coordinate, index into the 3N values of a frame (Å) */
  | { kind: 'coordinate'; index: number }

interface Residue {
  chainId: string
  resSeq: number
  iCode: string
  resName: string
  atoms: Map<string, number>
}

/** residues keyed by (chainId, resSeq, iCode) in order of first appearance; first atom of each name wins (altLocs) */
function residuesOf(top: Topology): Residue[] {
  const byKey = new Map<string, Residue>()
  const list: Residue[] = []
  top.atoms.forEach((a, idx) => {
    const key = `${a.chainId}\u0000${a.resSeq}\u0000${a.iCode}`
    let r = byKey.get(key)
    if (!r) {
      r = { chainId: a.chainId, resSeq: a.resSeq, iCode: a.iCode, resName: a.resName, atoms: new Map() }
      byKey.set(key, r)
      list.push(r)
    }
    if (!r.atoms.has(a.name)) r.atoms.set(a.name, idx)
  })
  return list
}

/** the longest C(i−1)–N(i) distance (Å) still read as a peptide bond (1.33 Å; across a chain break ≥ 2.5 Å) */
export const PEPTIDE_BOND_MAX = 2.0

/**
 * Backbone dihedrals from atom names and bonds (docs/peptides.md): φ_i = C(i−1)–N(i)–CA(i)–C(i),
 * ψ_i = N(i)–CA(i)–C(i)–N(i+1), where i−1, i+1 are the neighbouring residues in file order within
 * the same chain. A dihedral is defined only when all four atoms exist, so caps work: ACE (no N)
 * and NME (no CA) give none of their own but provide C(i−1) and N(i+1); ala2 (ACE-ALA-NME) gives
 * exactly one φ and one ψ. With `coords` (one frame, 3N Å) the peptide bond C(i−1)–N(i) must also
 * be there (≤ PEPTIDE_BOND_MAX): a chain break or a missing residue gives no φ/ψ across it.
 * Names: "φ ALA2" / "ψ ALA2", with the chain ("φ A:ALA2") when the topology has several chains.
 */
export function backboneDihedrals(top: Topology, coords?: ArrayLike<number>): { phi: DihedralDef[]; psi: DihedralDef[] } {
  const res = residuesOf(top)
  const chains = new Set(res.map((r) => r.chainId))
  const label = (r: Residue): string => `${chains.size > 1 ? `${r.chainId}:` : ''}${r.resName}${r.resSeq}${r.iCode}`
  const phi: DihedralDef[] = []
  const psi: DihedralDef[] = []
  for (let i = 0; i < res.length; i++) {
    const r = res[i]!
    const n = r.atoms.get('N')
    const ca = r.atoms.get('CA')
    const c = r.atoms.get('C')
    if (n === undefined || ca === undefined || c === undefined) continue
    const prev = i > 0 && res[i - 1]!.chainId === r.chainId ? res[i - 1] : undefined
    const next = i + 1 < res.length && res[i + 1]!.chainId === r.chainId ? res[i + 1] : undefined
    const bonded = (c: number | undefined, nn: number | undefined): boolean =>
      c !== undefined && nn !== undefined && (!coords || Math.hypot(coords[3 * c]! - coords[3 * nn]!, coords[3 * c + 1]! - coords[3 * nn + 1]!, coords[3 * c + 2]! - coords[3 * nn + 2]!) <= PEPTIDE_BOND_MAX)
    const cPrev = bonded(prev?.atoms.get('C'), n) ? prev!.atoms.get('C') : undefined
    const nNext = bonded(c, next?.atoms.get('N')) ? next!.atoms.get('N') : undefined
    if (cPrev !== undefined) phi.push({ name: `φ ${label(r)}`, atoms: [cPrev, n, ca, c] })
    if (nNext !== undefined) psi.push({ name: `ψ ${label(r)}`, atoms: [n, ca, c, nNext] })
  }
  return { phi, psi }
}

function checkAtoms(atoms: readonly number[], nAtoms: number): void {
  for (const a of atoms) {
    if (!Number.isInteger(a) || a < 0 || a >= nAtoms) throw new RangeError(`observable: atom index ${a} outside 0…${nAtoms - 1}`)
  }
}

/**
 * One value per frame of `obs` over frames [nFrames, 3·nAtoms]; `reference` (3·nAtoms, Å) is
 * required for 'rmsd'. Angles in radians, lengths in Å.
 */
export function seriesOf(frames: Float32Array, nAtoms: number, nFrames: number, obs: Observable, reference?: Float32Array): Float64Array {
  const d = 3 * nAtoms
  if (frames.length < nFrames * d) throw new RangeError(`seriesOf: ${frames.length} values cannot hold ${nFrames} frames of ${nAtoms} atoms`)
  const out = new Float64Array(nFrames)
  switch (obs.kind) {
    case 'dihedral': {
      checkAtoms(obs.atoms, nAtoms)
      const [i, j, k, l] = obs.atoms
      for (let f = 0; f < nFrames; f++) out[f] = dihedral(frames, i, j, k, l, f * d)
      break
    }
    case 'angle': {
      checkAtoms(obs.atoms, nAtoms)
      const [i, j, k] = obs.atoms
      for (let f = 0; f < nFrames; f++) out[f] = angle(frames, i, j, k, f * d)
      break
    }
    case 'distance': {
      checkAtoms(obs.atoms, nAtoms)
      const [i, j] = obs.atoms
      for (let f = 0; f < nFrames; f++) out[f] = distance(frames, i, j, f * d)
      break
    }
    case 'rmsd': {
      if (!reference || reference.length < d) throw new RangeError('seriesOf: an RMSD needs a reference structure with the same atoms')
      let weights: Float64Array | undefined
      if (obs.atoms) {
        checkAtoms(obs.atoms, nAtoms)
        weights = new Float64Array(nAtoms)
        for (const a of obs.atoms) weights[a] = 1
      }
      const R = new Float64Array(9)
      const scratch = new KabschScratch()
      for (let f = 0; f < nFrames; f++) out[f] = superpose(frames, f * d, reference, 0, nAtoms, weights, R, scratch)
      break
    }
    case 'rg': {
      if (obs.atoms) {
        checkAtoms(obs.atoms, nAtoms)
        const sel = obs.atoms
        const sub = new Float32Array(3 * sel.length)
        const masses = obs.masses ? sel.map((a) => obs.masses![a]!) : undefined
        for (let f = 0; f < nFrames; f++) {
          for (let s = 0; s < sel.length; s++) {
            const o = f * d + 3 * sel[s]!
            sub[3 * s] = frames[o]!
            sub[3 * s + 1] = frames[o + 1]!
            sub[3 * s + 2] = frames[o + 2]!
          }
          out[f] = radiusOfGyration(sub, sel.length, 0, masses)
        }
      } else {
        for (let f = 0; f < nFrames; f++) out[f] = radiusOfGyration(frames, nAtoms, f * d, obs.masses)
      }
      break
    }
    case 'coordinate': {
      if (!Number.isInteger(obs.index) || obs.index < 0 || obs.index >= d) throw new RangeError(`seriesOf: coordinate ${obs.index} outside 0…${d - 1}`)
      for (let f = 0; f < nFrames; f++) out[f] = frames[f * d + obs.index]!
      break
    }
  }
  return out
}
