/**
 * Per-residue decisions of the PDB reader (pdb.ts), as pure functions over the raw atom lines of a
 * model (docs/formats.md):
 *  - chooseAltLocs: one alternate location per residue (chain, number, insertion code): the label
 *    with the highest mean occupancy over the residue's atoms, the first label on ties (as MDTraj);
 *    atoms without a label are kept as they are; of the chosen label, the first line of each name.
 *  - numberOverflowedResidues: residue fields `****` (VMD past 9999) numbered on from the previous
 *    residue; a new residue starts when the residue name or chain changes or an atom name repeats.
 */
import { decodeHybrid36 } from './hybrid36'
import type { RawAtom } from './pdb'

export interface DroppedAltLoc {
  atom: RawAtom
  /** the label kept for the atom's residue, and its mean occupancy */
  kept: string
  keptMean: number
  /** the same label listed twice for one atom */
  repeat: boolean
}

export function chooseAltLocs(atoms: RawAtom[]): { kept: RawAtom[]; dropped: DroppedAltLoc[] } {
  if (!atoms.some((a) => a.altLoc !== '')) return { kept: atoms, dropped: [] }
  const byResidue = new Map<string, Map<string, { occ: number; n: number }>>()
  for (const a of atoms) {
    if (a.altLoc === '') continue
    const k = a.text.slice(21, 27)
    let m = byResidue.get(k)
    if (!m) byResidue.set(k, (m = new Map()))
    const st = m.get(a.altLoc)
    if (st) {
      st.occ += a.occupancy
      st.n++
    } else m.set(a.altLoc, { occ: a.occupancy, n: 1 })
  }
  const chosen = new Map<string, { label: string; mean: number }>()
  for (const [k, m] of byResidue) {
    let best = { label: '', mean: -Infinity }
    // labels are visited in order of first appearance, so a tie keeps the first
    for (const [label, st] of m) if (st.occ / st.n > best.mean + 1e-9) best = { label, mean: st.occ / st.n }
    chosen.set(k, best)
  }
  const kept: RawAtom[] = []
  const dropped: DroppedAltLoc[] = []
  const names = new Set<string>()
  for (const a of atoms) {
    const res = a.text.slice(21, 27)
    const key = a.text.slice(12, 16).trim() + '|' + res
    const c = chosen.get(res)
    if (a.altLoc === '' || (c!.label === a.altLoc && !names.has(key))) {
      if (a.altLoc !== '') names.add(key)
      kept.push(a)
    } else dropped.push({ atom: a, kept: c!.label, keptMean: c!.mean, repeat: c!.label === a.altLoc })
  }
  return { kept, dropped }
}

export function numberOverflowedResidues(atoms: RawAtom[]): Map<RawAtom, number> {
  const out = new Map<RawAtom, number>()
  let last = 0
  let prevRes = ''
  let names = new Set<string>()
  let run = 0
  for (const a of atoms) {
    const field = a.text.slice(22, 26)
    const res = a.text.slice(17, 22)
    const name = a.text.slice(12, 16)
    if (/^\*+$/.test(field.trim())) {
      if (res !== prevRes || names.has(name) || run === 0) {
        last++
        names = new Set()
      }
      out.set(a, last)
      run++
    } else {
      const v = decodeHybrid36(field, 4)
      if (Number.isFinite(v)) {
        if (res !== prevRes || v !== last) names = new Set()
        last = v
      }
      run = 0
    }
    names.add(name)
    prevRes = res
  }
  return out
}
