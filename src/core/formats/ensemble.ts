/**
 * From the atoms of one or more models (as read by the mmCIF, GRO, PQR, XYZ readers or per model
 * from a PDB) to one topology and a frame per model:
 *  1. alternate locations: one location per residue, consistently (the label with the highest mean
 *     occupancy over the residue's atoms, ties → the first label in the file, as MDTraj does), so a
 *     residue never mixes atoms of two conformers (or of ILE and LEU in a microheterogeneous site);
 *  2. models are matched atom by atom on (chain, residue number, insertion code, residue name, atom
 *     name). When every model lists the same atoms the order is model 1's. When they differ (an OXT
 *     or a water in one model only, as in NMR ensembles) the atoms common to all models are kept, in
 *     model 1's order, with a one-line note of what was dropped; when more than a tenth of model 1's
 *     atoms are missing elsewhere the models are refused instead. See docs/formats.md.
 */
import { UserError } from '../errors'
import type { AtomRecord, Topology, UnitCell } from '../topology'
import { describeAtom } from './pdb'

export interface RawAtom extends AtomRecord {
  x: number
  y: number
  z: number
}

/** the atoms a dataset will keep of a model (the import's selection), by index */
export type AtomPicker = (topology: Topology) => number[]

export interface EnsembleOptions {
  /**
   * the import's selection: models are compared on the selected atoms only, so a difference the
   * selection leaves out (a hydrogen with --select heavy, a water) is neither reported nor refused
   */
  select?: AtomPicker
}

export interface EnsembleResult {
  topology: Topology
  nFrames: number
  /** [nFrames, 3N] Å */
  frames: Float32Array
  warnings: string[]
}

/** models whose atoms differ by more than this fraction of model 1's are refused, not matched */
export const MAX_DROPPED_FRACTION = 0.1

const residueKey = (a: AtomRecord): string => `${a.chainId}|${a.resSeq}|${a.iCode}`
const atomKey = (a: AtomRecord): string => `${a.chainId}|${a.resSeq}|${a.iCode}|${a.resName}|${a.name}`

/** keeps one alternate location per residue; returns the kept atoms and how many residues had a choice */
export function pickAltLocs(atoms: RawAtom[]): { atoms: RawAtom[]; residues: number; dropped: number } {
  if (!atoms.some((a) => a.altLoc !== '')) return { atoms, residues: 0, dropped: 0 }
  // per residue: label → [sum of occupancy, count, first position]
  const stats = new Map<string, Map<string, { occ: number; n: number; first: number }>>()
  atoms.forEach((a, i) => {
    if (a.altLoc === '') return
    const k = residueKey(a)
    let m = stats.get(k)
    if (!m) stats.set(k, (m = new Map()))
    const s = m.get(a.altLoc)
    if (s) {
      s.occ += a.occupancy
      s.n++
    } else m.set(a.altLoc, { occ: a.occupancy, n: 1, first: i })
  })
  const chosen = new Map<string, string>()
  let residues = 0
  for (const [k, m] of stats) {
    let best = ''
    let bestOcc = -Infinity
    let bestFirst = Infinity
    for (const [label, s] of m) {
      const mean = s.occ / s.n
      if (mean > bestOcc + 1e-9 || (Math.abs(mean - bestOcc) <= 1e-9 && s.first < bestFirst)) {
        best = label
        bestOcc = mean
        bestFirst = s.first
      }
    }
    chosen.set(k, best)
    if (m.size > 1) residues++
  }
  const kept = atoms.filter((a) => a.altLoc === '' || chosen.get(residueKey(a)) === a.altLoc)
  // the chosen label listed twice for one atom: keep the first (unlabelled atoms are left as they are)
  const seen = new Set<string>()
  const out = kept.filter((a) => {
    if (a.altLoc === '') return true
    const k = atomKey(a)
    if (seen.has(k)) return false
    seen.add(k)
    return true
  })
  return { atoms: out, residues, dropped: atoms.length - out.length }
}

function plural(n: number, word: string): string {
  return `${n.toLocaleString('en-US')} ${word}${n === 1 ? '' : 's'}`
}

/** "model 3", "models 2–4", "models 1, 5" */
function modelList(models: number[]): string {
  if (models.length === 1) return `model ${models[0]}`
  const contiguous = models.every((m, i) => i === 0 || m === models[i - 1]! + 1)
  return contiguous ? `models ${models[0]}–${models[models.length - 1]}` : `models ${models.slice(0, 4).join(', ')}${models.length > 4 ? ', …' : ''}`
}

/**
 * One topology and a frame per model; `models[m]` are model m's atoms in file order.
 * `cell` (if any) is attached to the topology.
 */
export function buildEnsemble(models: RawAtom[][], file: string, cell?: UnitCell, opts: EnsembleOptions = {}): EnsembleResult {
  if (models.length === 0 || models.every((m) => m.length === 0)) throw new UserError(`${file}: no atoms found`, 'parse')
  const warnings: string[] = []
  let altResidues = 0
  let altDropped = 0
  const picked = models.map((m) => {
    const r = pickAltLocs(m)
    altResidues = Math.max(altResidues, r.residues)
    altDropped += r.dropped
    return r.atoms
  })
  if (altDropped > 0) {
    warnings.push(`${file}: alternate locations: one per residue kept (the highest mean occupancy, ties → the first label) in ${plural(altResidues, 'residue')}; ${plural(altDropped, 'atom record')} dropped`)
  }
  const first = picked[0]!
  const keys0 = first.map(atomKey)
  const dupes = new Set<string>()
  {
    const seen = new Set<string>()
    keys0.forEach((k, i) => {
      if (seen.has(k)) dupes.add(`${describeAtom(first[i]!)}`)
      seen.add(k)
    })
  }
  if (dupes.size > 0) {
    throw new UserError(`${file}: atom '${[...dupes][0]}' is listed twice in model 1 (same chain, residue and name); atoms must be unique to be matched across models`, 'parse')
  }
  const same = picked.every((m) => m.length === first.length && m.every((a, i) => atomKey(a) === keys0[i]))
  let order: number[][] // per model, the index of each kept atom
  let keptIdx: number[]
  if (same) {
    keptIdx = first.map((_, i) => i)
    order = picked.map(() => keptIdx)
  } else {
    const maps = picked.map((m) => {
      const map = new Map<string, number>()
      m.forEach((a, i) => {
        const k = atomKey(a)
        if (!map.has(k)) map.set(k, i)
      })
      return map
    })
    keptIdx = []
    keys0.forEach((k, i) => {
      if (maps.every((mp) => mp.has(k))) keptIdx.push(i)
    })
    const keptKeys = keptIdx.map((i) => keys0[i]!)
    order = maps.map((mp) => keptKeys.map((k) => mp.get(k)!))
    // what was dropped, and from which models — of the atoms the selection keeps
    const droppedFrom = new Map<string, { atom: RawAtom; models: number[] }>()
    const keptSet = new Set(keptKeys)
    const selected = picked.map((m) => (opts.select ? new Set(opts.select({ atoms: m })) : undefined))
    picked.forEach((m, mi) => {
      for (const [ai, a] of m.entries()) {
        const k = atomKey(a)
        if (keptSet.has(k) || (selected[mi] && !selected[mi].has(ai))) continue
        const d = droppedFrom.get(k)
        if (d) {
          if (d.models[d.models.length - 1] !== mi + 1) d.models.push(mi + 1)
        } else droppedFrom.set(k, { atom: a, models: [mi + 1] })
      }
    })
    const list = [...droppedFrom.values()]
    const shown = list.slice(0, 3).map((d) => `${describeAtom(d.atom)} (only in ${modelList(d.models)})`)
    const missingFromFirst = first.filter((a, i) => !keptSet.has(keys0[i]!) && (!selected[0] || selected[0].has(i))).length
    const firstCount = selected[0] ? selected[0].size : first.length
    if (missingFromFirst > MAX_DROPPED_FRACTION * firstCount) {
      const d = list[0]!
      throw new UserError(
        `${file}: the ${models.length} models list different atoms: ${missingFromFirst} of the ${firstCount}${selected[0] ? ' selected' : ''} atoms of model 1 are not in every model (first: ${describeAtom(d.atom)}, only in ${modelList(d.models)}); more than ${100 * MAX_DROPPED_FRACTION}% differ, so these are not models of one molecule — import them as separate datasets`,
        'topology-mismatch'
      )
    }
    if (list.length > 0) {
      warnings.push(
        `${file}: the ${models.length} models list different atoms; kept the ${plural(keptIdx.length, 'atom')} common to all models, dropped ${plural(list.length, opts.select ? 'selected atom' : 'atom')}: ${shown.join(', ')}${list.length > 3 ? `, … ${list.length - 3} more` : ''}`
      )
    }
  }
  const N = keptIdx.length
  const frames = new Float32Array(models.length * 3 * N)
  picked.forEach((m, f) => {
    const idx = order[f]!
    for (let j = 0; j < N; j++) {
      const a = m[idx[j]!]!
      const o = f * 3 * N + 3 * j
      frames[o] = a.x
      frames[o + 1] = a.y
      frames[o + 2] = a.z
    }
  })
  const atoms: AtomRecord[] = keptIdx.map((i) => {
    const { x: _x, y: _y, z: _z, ...rec } = first[i]!
    return rec
  })
  const topology: Topology = cell ? { atoms, cell } : { atoms }
  return { topology, nFrames: models.length, frames, warnings }
}
