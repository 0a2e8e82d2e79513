/**
 * Atom selections of a dataset: any expression of the selection language (docs/selection.md,
 * src/core/selection), e.g. `protein and not hydrogen`, `name CA`, `resid 2 to 5 and backbone`.
 * The first versions' four selections are keywords of the language and keep their meaning:
 *   all       every atom
 *   heavy     every atom that is not hydrogen or deuterium
 *   backbone  atoms named N, CA, C, O (with the matching element) of protein residues — for capped
 *             peptides this includes the ACE carbonyl C/O and the NME N, so φ and ψ of every
 *             residue stay computable
 *   ca        alpha carbons: atoms named CA with element C (calcium ions are excluded)
 *
 * Datasets leave out water and ions unless the selection names them (`water`, `ion`, `solvent`),
 * and say so in a note: a solvated system aligned on thousands of water oxygens gives a
 * meaningless RMSD and a model of the solvent, not of the molecule.
 */
import type { Topology } from '../../core/topology'
import { UserError } from '../../core/errors'
import { LEGACY_SELECTIONS, mentionsSolvent, parseSelection, select, solventCounts } from '../../core/selection'

/** the selections offered as choices (the language accepts any expression) */
export const SELECTIONS = LEGACY_SELECTIONS
/** a selection expression (docs/selection.md) */
export type AtomSelection = string

/** indices (into topology.atoms) of the selected atoms, in file order */
export function selectAtoms(topology: Topology, selection: AtomSelection): number[] {
  return select(topology, selection)
}

/** throws the language's one-line UserError (prefixed with `where`) when `selection` does not parse */
export function checkSelection(selection: unknown, where: string): asserts selection is string {
  if (typeof selection !== 'string') throw new UserError(`${where}: the selection must be text such as 'protein and not hydrogen' (docs/selection.md)`, 'bad-selection')
  try {
    parseSelection(selection)
  } catch (err) {
    if (err instanceof UserError) throw new UserError(`${where}: ${err.message}`, err.code)
    throw err
  }
}

function plural(n: number, word: string): string {
  return `${n.toLocaleString('en-US')} ${word}${n === 1 ? '' : 's'}`
}

/**
 * The atoms a dataset keeps: `selection`, minus water and ions unless the selection names them.
 * `note` says what was left out (or kept) and how to change it; undefined when no solvent is involved.
 */
export function selectForDataset(topology: Topology, selection: AtomSelection): { indices: number[]; note?: string } {
  const picked = select(topology, selection)
  const solvent = solventCounts(topology, picked)
  if (solvent.water === 0 && solvent.ion === 0) return { indices: picked }
  const what = [solvent.water > 0 ? plural(solvent.water, 'water atom') : '', solvent.ion > 0 ? plural(solvent.ion, 'ion') : ''].filter(Boolean).join(' and ')
  if (mentionsSolvent(selection)) {
    return { indices: picked, note: `selection '${selection}' keeps ${what}, as it asks` }
  }
  const solventAtoms = new Set(select(topology, 'solvent'))
  const kept = picked.filter((i) => !solventAtoms.has(i))
  return {
    indices: kept,
    note: `left out ${what} of selection '${selection}' (datasets leave out solvent unless the selection names water, ion or solvent; docs/selection.md)`,
  }
}
