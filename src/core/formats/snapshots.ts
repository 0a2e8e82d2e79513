/**
 * Whole-file reading of every snapshot format by content (docs/formats.md): unwraps gzip / bzip2,
 * refuses archives and other compressors by name, then reads structures (PDB, mmCIF, GRO, PQR, XYZ,
 * extended XYZ, Tinker XYZ: topology + frames) or trajectories (DCD, XTC, TRR: frames only, read
 * with a topology). A decompressed file's own problem is reported as that file's problem.
 */
import { UserError } from '../errors'
import type { Topology } from '../topology'
import { adviceFor, describeSniff, sniffBytes, type SniffedFormat } from './detect'
import { gunzipBytes } from './gzip'
import { bunzip2Bytes } from './bzip2'
import { readPdb } from './pdb'
import { readCif } from './cif'
import { readGro } from './gro'
import { readPqr } from './pqr'
import { readTinkerXyz, readXyz, type XyzReadResult } from './xyz'
import { AKMA_PS, iterateDcdFrames, readDcdHeader } from './dcd'
import { readXtc } from './xtc'
import { readTrr } from './trr'
import { buildEnsemble, type EnsembleOptions, type RawAtom } from './ensemble'
import { inferElement, normalizeElement } from './elements'

export type StructureFormat = 'pdb' | 'cif' | 'gro' | 'pqr' | 'xyz' | 'tinker'
export type TrajectoryFormat = 'dcd' | 'xtc' | 'trr'
export const STRUCTURE_FORMATS: readonly SniffedFormat[] = ['pdb', 'cif', 'gro', 'pqr', 'xyz', 'tinker']
export const TRAJECTORY_FORMATS: readonly SniffedFormat[] = ['dcd', 'xtc', 'trr']

export interface Unwrapped {
  bytes: Uint8Array
  compression: 'gzip' | 'bzip2' | null
  /** the content's format (after decompression); .pqr names win over a PDB-looking content */
  kind: SniffedFormat
}

/** the content format of (already decompressed) bytes, using the name only to tell PQR from PDB */
export function contentKind(bytes: Uint8Array, file: string): SniffedFormat {
  const kind = sniffBytes(bytes.subarray(0, 8192))
  if (kind === 'pdb' && /\.pqr(\.(gz|bz2))?$/i.test(file)) return 'pqr'
  return kind
}

/** refuses archives, other compressors and unsupported binaries with what to do; `outer` describes a wrapper */
export function refuseKind(kind: SniffedFormat, file: string, outer?: string): void {
  const refused: SniffedFormat[] = ['tar', 'zip', 'xz', 'zstd', 'mmtf', 'bcif', 'json', 'binary', 'empty', 'gzip', 'bzip2']
  if (!refused.includes(kind)) return
  const what = `${outer ? `${outer} that holds ` : ''}${describeSniff(kind)}`
  if (kind === 'empty') throw new UserError(`${file}: ${outer ? `${outer} that decompresses to nothing` : 'the file is empty'}; expected a structure or trajectory file`, 'parse')
  if (kind === 'gzip' || kind === 'bzip2') throw new UserError(`${file}: is ${what}; compressed twice — decompress it once and import the result`, 'format')
  if (kind === 'json') throw new UserError(`${file}: is ${what}, not a structure; ${adviceFor('json')}`, 'format')
  if (kind === 'binary') throw new UserError(`${file}: is ${what} in no format this app reads (PDB, mmCIF, GRO, PQR, XYZ; DCD, XTC, TRR with a topology); is it corrupted?`, 'format')
  throw new UserError(`${file}: is ${what}; ${adviceFor(kind)}`, 'format')
}

/** decompresses gzip / bzip2 (one level) and identifies the content; refuses what cannot be read */
export function unwrap(bytes: Uint8Array, file: string, maxBytes?: number): Unwrapped {
  const outer = sniffBytes(bytes.subarray(0, 8192))
  if (outer === 'gzip' || outer === 'bzip2') {
    const inner = outer === 'gzip' ? gunzipBytes(bytes, file, maxBytes) : bunzip2Bytes(bytes, file, maxBytes)
    const kind = contentKind(inner, file)
    refuseKind(kind, file, describeSniff(outer))
    return { bytes: inner, compression: outer, kind }
  }
  const kind = contentKind(bytes, file)
  refuseKind(kind, file)
  return { bytes, compression: null, kind }
}

export interface StructureResult {
  format: StructureFormat
  topology: Topology
  nFrames: number
  /** [nFrames, 3N] Å */
  frames: Float32Array
  warnings: string[]
  /** per-frame times in ps when the file has them (GRO "t="), else undefined */
  timesPs?: number[]
}

function latin1(bytes: Uint8Array): string {
  let s = ''
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  return s
}

/** a PDB's models, each read on its own, matched by ensemble.ts (models that list different atoms) */
export function readPdbEnsemble(text: string, file: string, opts: EnsembleOptions = {}): StructureResult {
  const parts = text.split(/^ENDMDL.*$/m).filter((p) => /^(ATOM|HETATM)/m.test(p))
  const models: RawAtom[][] = parts.map((p, m) => {
    const r = readPdb(p.replace(/^MODEL.*$/m, ''), `${file} (model ${m + 1})`)
    return r.topology.atoms.map((a, i) => ({ ...a, x: r.frames[3 * i]!, y: r.frames[3 * i + 1]!, z: r.frames[3 * i + 2]! }))
  })
  const res = buildEnsemble(models, file, undefined, opts)
  return { format: 'pdb', ...res }
}

/**
 * the atoms of an XYZ as a topology, one residue. The first column is an element symbol in most
 * files, but some writers (MDTraj, Tinker) put atom names there: when any entry is not an element,
 * all are names and the element is their first letter ("CA" is then an alpha carbon, not calcium).
 */
function xyzTopology(r: XyzReadResult): Topology {
  const names = r.symbols.some((s) => !normalizeElement(s))
  return {
    atoms: r.symbols.map((s, i) => ({
      record: 'HETATM' as const,
      serial: i + 1,
      name: s.slice(0, 4),
      altLoc: '',
      resName: 'UNL',
      chainId: '',
      resSeq: 1,
      iCode: '',
      occupancy: 1,
      bFactor: 0,
      element: names ? inferElement(s.length < 4 ? ` ${s}` : s, 'UNL') : normalizeElement(s),
    })),
  }
}

/** reads a structure (topology + frames) from unwrapped bytes; `opts.select`: models that differ are compared on the selected atoms */
export function readStructure(u: Unwrapped, file: string, opts: EnsembleOptions = {}): StructureResult {
  const text = latin1(u.bytes)
  switch (u.kind) {
    case 'pdb': {
      try {
        const r = readPdb(text, file)
        return { format: 'pdb', topology: r.topology, nFrames: r.nFrames, frames: r.frames, warnings: r.warnings }
      } catch (err) {
        if (err instanceof UserError && isModelMismatch(err)) return readPdbEnsemble(text, file, opts)
        throw err
      }
    }
    case 'cif':
      return { format: 'cif', ...readCif(text, file, opts) }
    case 'gro': {
      const r = readGro(text, file, opts)
      return { format: 'gro', topology: r.topology, nFrames: r.nFrames, frames: r.frames, warnings: r.warnings, ...(r.timesPs.every((t) => Number.isFinite(t)) ? { timesPs: r.timesPs } : {}) }
    }
    case 'pqr':
      return { format: 'pqr', ...readPqr(text, file, opts) }
    case 'xyz':
    case 'tinker': {
      const r = u.kind === 'xyz' ? readXyz(text, file) : readTinkerXyz(text, file)
      return { format: u.kind, topology: xyzTopology(r), nFrames: r.nFrames, frames: r.frames, warnings: [] }
    }
    default:
      if (TRAJECTORY_FORMATS.includes(u.kind)) {
        throw new UserError(`${file}: is ${describeSniff(u.kind)}, coordinates only; import it together with its topology (a PDB or GRO of the same atoms: both files at once, or --top FILE)`, 'format')
      }
      throw new UserError(`${file}: looks like ${describeSniff(u.kind)}; expected a structure (PDB, mmCIF, GRO, PQR, XYZ) or a trajectory (DCD, XTC, TRR) with its topology`, 'format')
  }
}

/** a PDB whose models list different atoms (PdbStreamParser's model-mismatch errors) */
export function isModelMismatch(err: UserError): boolean {
  return /model \d+ .*model 1 has|all models must list the same atoms/.test(err.message)
}

export interface TrajectoryResult {
  format: TrajectoryFormat
  nAtoms: number
  /** frames kept (all of them without `keep`), and frames in the file */
  nFrames: number
  framesInFile: number
  /** [nFrames, 3N] Å */
  frames: Float32Array
  /**
   * per-frame time in ps (DCD: (ISTART + frame·NSAVC)·DELTA); undefined for a DCD whose header has no
   * time step (DELTA ≤ 0) or MDTraj's placeholder (DELTA = 1 AKMA, NSAVC = 1)
   */
  timesPs: number[] | undefined
  warnings: string[]
}

/**
 * reads a trajectory (frames only) from unwrapped bytes; with `keep(index, timePs)` (time NaN when
 * unknown) only the kept frames are stored, so a long run thinned by a stride never fills memory
 */
export function readTrajectory(u: Unwrapped, file: string, keep?: (index: number, timePs: number) => boolean): TrajectoryResult {
  switch (u.kind) {
    case 'dcd': {
      const h = readDcdHeader(u.bytes, file)
      const dt = h.frameIntervalPs
      const t0 = h.istart * h.delta * AKMA_PS
      const known = dt > 0 && Number.isFinite(t0) && !(h.delta === 1 && h.nsavc <= 1)
      const n3 = 3 * h.nAtoms
      const kept: number[] = []
      for (let f = 0; f < h.nFrames; f++) if (!keep || keep(f, known ? t0 + f * dt : NaN)) kept.push(f)
      const frames = new Float32Array(kept.length * n3)
      let k = 0
      for (const fr of iterateDcdFrames(u.bytes, file, h)) {
        if (fr.index === kept[k]) frames.set(fr.coords, n3 * k++)
        if (k === kept.length) break
      }
      return { format: 'dcd', nAtoms: h.nAtoms, nFrames: kept.length, framesInFile: h.nFrames, frames, timesPs: known ? kept.map((f) => t0 + f * dt) : undefined, warnings: h.warnings }
    }
    case 'xtc': {
      const r = readXtc(u.bytes, file, keep)
      return { format: 'xtc', nAtoms: r.nAtoms, nFrames: r.nFrames, framesInFile: r.framesInFile, frames: r.frames, timesPs: Array.from(r.timesPs), warnings: r.warnings }
    }
    case 'trr': {
      const r = readTrr(u.bytes, file, keep)
      return { format: 'trr', nAtoms: r.nAtoms, nFrames: r.nFrames, framesInFile: r.framesInFile, frames: r.frames, timesPs: Array.from(r.timesPs), warnings: r.warnings }
    }
    default:
      throw new UserError(`${file}: looks like ${describeSniff(u.kind)}, not a trajectory (DCD, XTC, TRR)`, 'format')
  }
}
