/**
 * Loads frames for training (and for a sampler's initial pool) from a file:
 *   .pdb / .pdb.gz / .ent   multi-model PDB (streamed; gzip detected by magic number)
 *   .xyz                    multi-frame XYZ
 *   .json                   the app's trajectory format: every frame of every replica is a sample
 * then selects atoms (all | heavy | backbone | ca; needs a topology) and, for molecular data,
 * centres and Kabsch-superposes every frame on a reference: the centred first frame (as dataset
 * import does) unless one is given.
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { UserError } from '../../core/errors'
import type { Topology } from '../../core/topology'
import { trajectoryFromJson } from '../../core/trajectory'
import { readXyz } from '../../core/formats/xyz'
import { maybeGunzip } from '../../core/formats/gzip'
import { Aligner, centroid } from '../../core/geometry/kabsch'
import { streamPdbFile } from '../datasets/source'
import { checkSelection, selectForDataset, type AtomSelection } from '../datasets/selection'
import { isHydrogen } from '../../core/formats/elements'

export interface LoadedFrames {
  /** [nFrames, dim] Å (selected atoms; aligned when `aligned`) */
  frames: Float32Array
  nFrames: number
  dim: number
  /** topology of the selected atoms (PDB input) */
  topology?: Topology
  /** element symbols of the selected atoms (XYZ input) */
  symbols?: string[]
  /** selection applied, with the 0-based indices into the source atoms */
  selection: AtomSelection
  indices?: number[]
  sourceAtoms?: number
  aligned: boolean
  /** the alignment reference (centred), when aligned */
  reference?: Float32Array
  /** RMSD (Å) to the reference after superposition: mean, max */
  alignRmsd?: { mean: number; max: number }
  /** temperature found in the file's metadata (JSON meta.temperature) */
  temperature?: number
  format: 'pdb' | 'xyz' | 'json'
  warnings: string[]
}

export interface LoadOptions {
  select?: AtomSelection
  /** default: true for PDB/XYZ (molecular), false for JSON */
  align?: boolean
  /** align to this (centred) reference instead of the first frame; length = selected atoms × 3 */
  reference?: Float32Array
  /** take exactly these source-atom indices (e.g. a model card's selection) instead of `select` */
  indices?: number[]
}

export function formatOf(file: string): LoadedFrames['format'] {
  const f = file.toLowerCase()
  if (f.endsWith('.json')) return 'json'
  if (f.endsWith('.xyz')) return 'xyz'
  if (f.endsWith('.pdb') || f.endsWith('.pdb.gz') || f.endsWith('.ent') || f.endsWith('.ent.gz')) return 'pdb'
  throw new UserError(`${file}: unknown data format; give a .pdb, .pdb.gz, .xyz or .json (trajectory) file`, 'bad-input')
}

function pick(frames: Float32Array, nFrames: number, nAtoms: number, idx: number[]): Float32Array {
  const d = 3 * idx.length
  const out = new Float32Array(nFrames * d)
  for (let f = 0; f < nFrames; f++) {
    const src = f * 3 * nAtoms
    for (let j = 0; j < idx.length; j++) {
      const a = src + 3 * idx[j]!
      out[f * d + 3 * j] = frames[a]!
      out[f * d + 3 * j + 1] = frames[a + 1]!
      out[f * d + 3 * j + 2] = frames[a + 2]!
    }
  }
  return out
}

/** centres and superposes every frame on `reference` (centred here when taken from frame 0) */
export function alignFrames(frames: Float32Array, nFrames: number, nAtoms: number, reference?: Float32Array): { reference: Float32Array; rmsd: { mean: number; max: number } } {
  let ref: Float32Array
  if (reference) {
    if (reference.length !== 3 * nAtoms) throw new UserError(`alignment reference has ${reference.length / 3} atoms, the frames ${nAtoms}`, 'bad-input')
    ref = reference
  } else {
    ref = frames.slice(0, 3 * nAtoms)
    const c = centroid(ref, nAtoms)
    for (let i = 0; i < nAtoms; i++) for (let k = 0; k < 3; k++) ref[3 * i + k]! -= c[k]!
  }
  const al = new Aligner(ref, nAtoms)
  let sum = 0
  let max = 0
  for (let f = 0; f < nFrames; f++) {
    const r = al.align(frames, f * 3 * nAtoms)
    sum += r
    max = Math.max(max, r)
  }
  return { reference: ref, rmsd: { mean: sum / nFrames, max } }
}

export async function loadTrainingFrames(file: string, opts: LoadOptions = {}): Promise<LoadedFrames> {
  const format = formatOf(file)
  const warnings: string[] = []
  let frames: Float32Array
  let nFrames: number
  let nAtoms: number | undefined
  let topology: Topology | undefined
  let symbols: string[] | undefined
  let temperature: number | undefined
  let dim: number
  if (format === 'pdb') {
    const chunks: Float32Array[] = []
    const res = await streamPdbFile(file, { onFrame: (c) => chunks.push(c) })
    warnings.push(...res.warnings)
    topology = res.topology
    nAtoms = topology.atoms.length
    nFrames = chunks.length
    dim = 3 * nAtoms
    frames = new Float32Array(nFrames * dim)
    chunks.forEach((c, i) => frames.set(c, i * dim))
  } else {
    let bytes: Uint8Array
    try {
      bytes = await fs.readFile(file)
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      throw new UserError(code === 'ENOENT' ? `${file}: no such file` : `${file}: cannot read (${(err as Error).message})`, code === 'ENOENT' ? 'not-found' : 'io')
    }
    const text = new TextDecoder().decode(maybeGunzip(bytes, file))
    if (format === 'xyz') {
      const x = readXyz(text, file)
      frames = x.frames
      nFrames = x.nFrames
      nAtoms = x.nAtoms
      symbols = x.symbols
      dim = 3 * nAtoms
    } else {
      const t = trajectoryFromJson(text, file)
      frames = t.data
      nFrames = t.replicas * t.frames
      dim = t.dim
      const T = t.meta.temperature
      if (typeof T === 'number' && T > 0) temperature = T
    }
  }
  if (nFrames < 2) throw new UserError(`${file}: ${nFrames} frame(s); training needs at least 2 snapshots`, 'bad-input')

  const selection: AtomSelection = opts.select ?? 'all'
  checkSelection(selection, '--select')
  let indices: number[] | undefined
  const sourceAtoms = nAtoms
  if (opts.indices) {
    if (nAtoms === undefined) throw new UserError(`${file}: has no atoms (a JSON trajectory); the model expects molecular frames`, 'bad-input')
    const bad = opts.indices.find((i) => !(i >= 0 && i < nAtoms!))
    if (bad !== undefined) throw new UserError(`${file}: has ${nAtoms} atoms but the model's atom selection uses atom ${bad + 1}`, 'bad-input')
    indices = opts.indices
  } else if (selection !== 'all' || topology) {
    // as datasets do: water and ions left out unless the selection names them, with a note (docs/selection.md)
    if (topology) {
      const r = selectForDataset(topology, selection)
      indices = r.indices
      if (r.note) warnings.push(r.note)
    } else if (symbols && selection === 'heavy') indices = symbols.flatMap((s, i) => (isHydrogen(s) ? [] : [i]))
    else throw new UserError(`--select ${selection} needs atom names; ${file} has none (use a PDB file, or --select all)`, 'bad-flag')
    if (indices.length === 0) throw new UserError(`--select ${selection} selects no atoms of ${file}`, 'bad-flag')
  }
  if (indices && nAtoms !== undefined && !(indices.length === nAtoms && indices.every((v, i) => v === i))) {
    frames = pick(frames, nFrames, nAtoms, indices)
    if (topology) topology = { ...topology, atoms: indices.map((i) => topology!.atoms[i]!) }
    if (symbols) symbols = indices.map((i) => symbols![i]!)
    nAtoms = indices.length
    dim = 3 * nAtoms
  }

  const align = opts.align ?? format !== 'json'
  let reference: Float32Array | undefined
  let alignRmsd: LoadedFrames['alignRmsd']
  if (align) {
    if (dim % 3 !== 0) throw new UserError(`${file}: d = ${dim} is not 3 × atoms, so frames cannot be aligned; use --no-align`, 'bad-flag')
    const r = alignFrames(frames, nFrames, dim / 3, opts.reference)
    reference = r.reference
    alignRmsd = r.rmsd
  }
  return {
    frames,
    nFrames,
    dim,
    topology,
    symbols,
    selection,
    indices: indices ?? (nAtoms !== undefined && format !== 'json' ? Array.from({ length: nAtoms }, (_, i) => i) : undefined),
    sourceAtoms,
    aligned: align,
    reference,
    alignRmsd,
    temperature,
    format,
    warnings,
  }
}

export function displayName(file: string): string {
  return path.basename(file).replace(/\.(pdb|ent)(\.gz)?$|\.xyz$|\.json$/i, '')
}
