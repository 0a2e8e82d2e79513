/**
 * Atom selections of a dataset, by name and element of the source topology:
 *   all       every atom
 *   heavy     every atom that is not hydrogen or deuterium
 *   backbone  atoms named N, CA, C, O (with the matching element) outside water/ion residues —
 *             for capped peptides this includes the ACE carbonyl C/O and the NME N, so φ and ψ
 *             of every residue stay computable
 *   ca        alpha carbons: atoms named CA with element C (calcium ions are excluded)
 */
import type { Topology } from '../../core/topology'
import { isHydrogen } from '../../core/formats/elements'

export const SELECTIONS = ['all', 'heavy', 'backbone', 'ca'] as const
export type AtomSelection = (typeof SELECTIONS)[number]

const WATER_OR_ION = new Set(['HOH', 'WAT', 'SOL', 'H2O', 'DOD', 'TIP', 'TIP3', 'TIP4', 'TIP5', 'T3P', 'T4P', 'SPC', 'NA', 'CL', 'K', 'MG', 'CA', 'ZN', 'NA+', 'CL-', 'SOD', 'CLA', 'POT'])
const BACKBONE: Record<string, string> = { N: 'N', CA: 'C', C: 'C', O: 'O' }

/** indices (into topology.atoms) of the selected atoms, in file order */
export function selectAtoms(topology: Topology, selection: AtomSelection): number[] {
  const out: number[] = []
  topology.atoms.forEach((a, i) => {
    let keep: boolean
    switch (selection) {
      case 'all':
        keep = true
        break
      case 'heavy':
        keep = !isHydrogen(a.element)
        break
      case 'backbone':
        keep = BACKBONE[a.name] !== undefined && BACKBONE[a.name] === a.element && !WATER_OR_ION.has(a.resName.toUpperCase())
        break
      case 'ca':
        keep = a.name === 'CA' && a.element === 'C' && !WATER_OR_ION.has(a.resName.toUpperCase())
        break
    }
    if (keep) out.push(i)
  })
  return out
}
