/**
 * Reading snapshot files from disk. streamPdbFile streams one PDB file (plain or gzip) through
 * PdbStreamParser: 1 MiB reads, so memory holds one chunk, one model and whatever the frame callback
 * keeps, whatever the file size. Other formats (mmCIF, GRO, PQR, XYZ, bzip2, and DCD/XTC/TRR
 * trajectories read with their topology) are read whole: planImport and readSnapshotFile, see
 * docs/formats.md. Hashes the bytes on disk (sha256), reports progress, honours an AbortSignal and
 * a size limit.
 */
import { createReadStream, promises as fs } from 'node:fs'
import { createHash } from 'node:crypto'
import { UserError } from '../../core/errors'
import { PdbStreamParser, type PdbFrameCallback, type PdbParseResult } from '../../core/formats/pdb'
import { GunzipStream, isGzip } from '../../core/formats/gzip'
import { describeSniff, expectFormat, sniffBytes, type SniffedFormat } from '../../core/formats/detect'
import { contentKind, isModelMismatch, readStructure, readTrajectory, TRAJECTORY_FORMATS, unwrap, type StructureResult } from '../../core/formats/snapshots'
import type { Topology } from '../../core/topology'
import type { AtomPicker } from '../../core/formats/ensemble'
import path from 'node:path'

/** files (and their decompressed content) larger than this are refused: 4 GiB */
export const DEFAULT_MAX_FILE_BYTES = 4 * 1024 ** 3

export const READ_CHUNK_BYTES = 1 << 20

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`
  const units = ['KiB', 'MiB', 'GiB', 'TiB']
  let v = n
  let u = -1
  do {
    v /= 1024
    u++
  } while (v >= 1024 && u < units.length - 1)
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[u]}`
}

/** size of a file, or a one-line UserError when it is missing, not a file, or too large */
export async function checkInputFile(file: string, maxBytes: number): Promise<number> {
  let st
  try {
    st = await fs.stat(file)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') throw new UserError(`${file}: no such file`, 'not-found')
    if (code === 'EACCES') throw new UserError(`${file}: permission denied`, 'io')
    throw new UserError(`${file}: cannot read (${(err as Error).message})`, 'io')
  }
  if (!st.isFile()) throw new UserError(`${file}: not a regular file (a directory?); give PDB files`, 'bad-input')
  if (st.size > maxBytes) {
    throw new UserError(
      `${file}: ${formatBytes(st.size)} is over the ${formatBytes(maxBytes)} import limit per file; split it (e.g. gmx trjconv -b/-e, or by MODEL) and import the parts together`,
      'too-large'
    )
  }
  return st.size
}

export interface StreamPdbOptions {
  maxBytes?: number
  signal?: AbortSignal
  /** called after every chunk with the bytes of this file read so far (on disk, i.e. compressed) */
  onBytes?: (bytesDone: number) => void
  onFrame: PdbFrameCallback
}

export interface StreamPdbResult extends PdbParseResult {
  bytes: number
  sha256: string
  gzip: boolean
}

export function cancelledError(file: string): UserError {
  return new UserError(`${file}: import cancelled; nothing was written`, 'cancelled')
}

export async function streamPdbFile(file: string, opts: StreamPdbOptions): Promise<StreamPdbResult> {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_FILE_BYTES
  const size = await checkInputFile(file, maxBytes)
  if (opts.signal?.aborted) throw cancelledError(file)
  const parser = new PdbStreamParser(file, opts.onFrame)
  const hash = createHash('sha256')
  let bytesRead = 0
  let textBytes = 0
  let sniffed = false
  let gunzip: GunzipStream | undefined
  let gzip = false

  const feedText = (u8: Uint8Array): void => {
    if (!sniffed) {
      sniffed = true
      expectFormat(sniffBytes(u8.subarray(0, 4096)), 'pdb', file)
    }
    textBytes += u8.length
    if (textBytes > maxBytes) {
      throw new UserError(`${file}: decompresses to more than the ${formatBytes(maxBytes)} import limit per file; split it and import the parts together`, 'too-large')
    }
    parser.push(Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength).toString('latin1'))
  }

  const stream = createReadStream(file, { highWaterMark: READ_CHUNK_BYTES })
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (opts.signal?.aborted) throw cancelledError(file)
      if (bytesRead === 0) {
        gzip = isGzip(chunk)
        if (gzip) gunzip = new GunzipStream(file, feedText)
      }
      bytesRead += chunk.length
      hash.update(chunk)
      if (gunzip) gunzip.push(chunk)
      else feedText(chunk)
      opts.onBytes?.(bytesRead)
    }
  } catch (err) {
    if (err instanceof UserError) throw err
    throw new UserError(`${file}: read failed after ${bytesRead} bytes (${(err as Error).message})`, 'io')
  } finally {
    stream.destroy()
  }
  if (bytesRead === 0) throw new UserError(`${file}: the file is empty; expected PDB text with ATOM/HETATM records`, 'parse')
  if (gunzip) gunzip.end()
  if (!sniffed) throw new UserError(`${file}: gzip data decompresses to nothing; expected PDB text`, 'parse')
  const res = parser.end()
  if (bytesRead !== size) {
    // the file changed while it was read; the hash would not describe the file on disk
    throw new UserError(`${file}: the file changed size while it was read (${size} → ${bytesRead} bytes); import it again when it is complete`, 'io')
  }
  return { ...res, bytes: bytesRead, sha256: hash.digest('hex'), gzip }
}

// ───────────── every snapshot format: structures, trajectories with a topology (docs/formats.md) ─────────────

/** how trajectory frames are thinned: every `stride`-th frame of those with beginPs ≤ t ≤ endPs */
export interface FrameSampling {
  stride?: number
  beginPs?: number
  endPs?: number
}

export interface ImportPlan {
  /** the files whose frames become snapshots, in order (a trajectory's topology is not one of them) */
  files: string[]
  /** content format of each file in `files` (after decompression) */
  kinds: Map<string, SniffedFormat>
  /** the topology that trajectories are read with */
  topology?: { file: string; structure: StructureResult; bytes: number; sha256: string; compression: 'gzip' | 'bzip2' | null }
  sampling: { stride: number; beginPs: number | undefined; endPs: number | undefined }
}

/** content format of a file from its first bytes (gzip: of its decompressed head; bzip2: of the whole) */
export async function sniffFile(file: string, maxBytes = DEFAULT_MAX_FILE_BYTES): Promise<SniffedFormat> {
  const h = await fs.open(file, 'r')
  let head: Uint8Array
  try {
    const buf = Buffer.alloc(65536)
    const { bytesRead } = await h.read(buf, 0, buf.length, 0)
    head = new Uint8Array(buf.buffer, buf.byteOffset, bytesRead)
  } finally {
    await h.close()
  }
  const outer = sniffBytes(head.subarray(0, 8192))
  if (outer === 'gzip') {
    const parts: Uint8Array[] = []
    const g = new GunzipStream(file, (c) => parts.push(c))
    try {
      g.push(head)
    } catch {
      return 'gzip' // corrupt: reading it says so
    }
    return contentKind(Buffer.concat(parts), file.replace(/\.gz$/i, ''))
  }
  if (outer === 'bzip2') return unwrap(new Uint8Array(await fs.readFile(file)), file, maxBytes).kind
  return contentKind(head, file)
}

function checkSampling(s: FrameSampling): ImportPlan['sampling'] {
  const stride = s.stride ?? 1
  if (!Number.isInteger(stride) || stride < 1) throw new UserError(`dataset import: --stride ${stride} must be a whole number ≥ 1`, 'bad-input')
  for (const [k, v] of [['--begin', s.beginPs], ['--end', s.endPs]] as const) {
    if (v !== undefined && !Number.isFinite(v)) throw new UserError(`dataset import: ${k} ${v} must be a time in ps`, 'bad-input')
  }
  if (s.beginPs !== undefined && s.endPs !== undefined && s.endPs < s.beginPs) throw new UserError(`dataset import: --end ${s.endPs} ps is before --begin ${s.beginPs} ps`, 'bad-input')
  return { stride, beginPs: s.beginPs, endPs: s.endPs }
}

/**
 * Which files are snapshots and which is the topology of the trajectories (DCD, XTC, TRR): `top`
 * when given, else the one structure file among the inputs. Reads the topology.
 */
export async function planImport(resolved: string[], opts: FrameSampling & { top?: string; maxBytes?: number }): Promise<ImportPlan> {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_FILE_BYTES
  const sampling = checkSampling(opts)
  const kinds = new Map<string, SniffedFormat>()
  for (const f of resolved) kinds.set(f, await sniffFile(f, maxBytes))
  const isTraj = (f: string): boolean => TRAJECTORY_FORMATS.includes(kinds.get(f)!)
  const trajs = resolved.filter(isTraj)
  let topFile = opts.top === undefined ? undefined : path.resolve(opts.top)
  let files = resolved
  if (topFile === undefined && trajs.length > 0) {
    const structs = resolved.filter((f) => !isTraj(f))
    const t = trajs[0]!
    if (structs.length === 0) {
      throw new UserError(`${t}: is ${describeSniff(kinds.get(t)!)}, coordinates only; give its topology too (a PDB or GRO of the same atoms: drop both files together, or --top FILE)`, 'bad-input')
    }
    if (structs.length > 1) {
      throw new UserError(`dataset import: ${trajs.length} trajectory file(s) and ${structs.length} structure files (${structs.map((s) => path.basename(s)).join(', ')}); say which is the topology with --top FILE`, 'bad-input')
    }
    topFile = structs[0]
  }
  let topology: ImportPlan['topology']
  if (topFile !== undefined) {
    files = resolved.filter((f) => f !== topFile)
    if (files.length === 0) throw new UserError(`${topFile}: is the topology; give the trajectory (DCD, XTC, TRR) or snapshot files to import with it`, 'bad-input')
    const size = await checkInputFile(topFile, maxBytes)
    void size
    const raw = new Uint8Array(await fs.readFile(topFile))
    const u = unwrap(raw, topFile, maxBytes)
    if (TRAJECTORY_FORMATS.includes(u.kind)) throw new UserError(`${topFile}: the topology (--top) is ${describeSniff(u.kind)}; give a PDB or GRO (or mmCIF, PQR) of the same atoms`, 'bad-input')
    const structure = readStructure(u, topFile)
    topology = { file: topFile, structure, bytes: raw.length, sha256: createHash('sha256').update(raw).digest('hex'), compression: u.compression }
  }
  return { files, kinds, ...(topology ? { topology } : {}), sampling }
}

/** indices of the frames kept: time window first (when times are known), then every stride-th */
export function sampleFrames(n: number, timesPs: number[] | undefined, s: ImportPlan['sampling'], file: string): number[] {
  const windowed = s.beginPs !== undefined || s.endPs !== undefined
  if (windowed && !timesPs) throw new UserError(`${file}: has no frame times, so --begin/--end cannot apply; use them with DCD, XTC, TRR or GRO (t=) files, or use --stride`, 'bad-input')
  const inWindow: number[] = []
  for (let f = 0; f < n; f++) {
    const t = timesPs?.[f]
    if (windowed && !((s.beginPs === undefined || t! >= s.beginPs - 1e-6) && (s.endPs === undefined || t! <= s.endPs + 1e-6))) continue
    inWindow.push(f)
  }
  return inWindow.filter((_, k) => k % s.stride === 0)
}

/**
 * the same choice as sampleFrames, one frame at a time (for readers that skip storing frames):
 * keep(index, timePs) in file order; timePs NaN when the file has no times
 */
export function frameKeeper(s: ImportPlan['sampling'], file: string): (index: number, timePs: number) => boolean {
  const windowed = s.beginPs !== undefined || s.endPs !== undefined
  let inWindow = 0
  return (_index, t) => {
    if (windowed) {
      if (!Number.isFinite(t)) throw new UserError(`${file}: has no frame times, so --begin/--end cannot apply; use them with DCD, XTC, TRR or GRO (t=) files, or use --stride`, 'bad-input')
      if (!((s.beginPs === undefined || t >= s.beginPs - 1e-6) && (s.endPs === undefined || t <= s.endPs + 1e-6))) return false
    }
    return inWindow++ % s.stride === 0
  }
}

/** the time between kept frames in ps (median of the differences), or null when unknown */
export function spacingPs(kept: number[], timesPs: number[] | undefined): number | null {
  if (!timesPs || kept.length < 2) return null
  const d = kept.slice(1).map((f, k) => timesPs[f]! - timesPs[kept[k]!]!).sort((a, b) => a - b)
  const m = d[Math.floor(d.length / 2)]!
  return Number.isFinite(m) ? Math.round(m * 1e6) / 1e6 : null
}

/** datasets store a PDB topology (8-column coordinates): |x| must stay below 1e7 Å (no molecule comes near) */
const MAX_ABS_COORD = 9_999_999

function checkCoordinateRange(frames: Float32Array, width: number, file: string): void {
  for (let k = 0; k < frames.length; k++) {
    const v = frames[k]!
    if (!(Math.abs(v) < MAX_ABS_COORD)) {
      throw new UserError(`${file}: frame ${Math.floor(k / width) + 1}, atom ${Math.floor((k % width) / 3) + 1}: coordinate ${v} Å is out of range (|x| < 1e7 Å); is the file damaged, or in other units?`, 'parse')
    }
  }
}

export interface SnapshotFileResult {
  bytes: number
  sha256: string
  gzip: boolean
  compression: 'gzip' | 'bzip2' | null
  format: SniffedFormat
  /** frames in the file, and kept after --stride/--begin/--end */
  framesInFile: number
  framesKept: number
  spacingPs: number | null
  warnings: string[]
}

/**
 * Reads one snapshot file of any format and passes each kept frame to onFrame (with the file's
 * topology, or the plan's for trajectories). PDB streams; a PDB whose models list different atoms
 * is read again whole (onRestart first) and matched by atoms common to all models.
 */
export async function readSnapshotFile(file: string, plan: ImportPlan, opts: StreamPdbOptions & { onRestart: () => void; select?: AtomPicker }): Promise<SnapshotFileResult> {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_FILE_BYTES
  const kind = plan.kinds.get(file) ?? (await sniffFile(file, maxBytes))
  const s = plan.sampling
  const windowed = s.beginPs !== undefined || s.endPs !== undefined
  if (kind === 'pdb' && !windowed) {
    let kept = 0
    try {
      const res = await streamPdbFile(file, {
        ...opts,
        onFrame: (c, i, top) => {
          if (i % s.stride !== 0) return
          kept++
          opts.onFrame(c, i, top)
        },
      })
      return { bytes: res.bytes, sha256: res.sha256, gzip: res.gzip, compression: res.gzip ? 'gzip' : null, format: 'pdb', framesInFile: res.nFrames, framesKept: kept, spacingPs: null, warnings: res.warnings }
    } catch (err) {
      if (!(err instanceof UserError && isModelMismatch(err))) throw err
      opts.onRestart()
    }
  }
  await checkInputFile(file, maxBytes)
  if (opts.signal?.aborted) throw cancelledError(file)
  const raw = new Uint8Array(await fs.readFile(file))
  opts.onBytes?.(raw.length)
  const u = unwrap(raw, file, maxBytes)
  let top: Topology
  let n: number
  let frames: Float32Array
  let times: number[] | undefined
  let kept: number[]
  let inFile: number
  const warnings: string[] = []
  if (TRAJECTORY_FORMATS.includes(u.kind)) {
    if (!plan.topology) throw new UserError(`${file}: is ${describeSniff(u.kind)}, coordinates only; give its topology too (a PDB or GRO: drop both files together, or --top FILE)`, 'bad-input')
    // thinned while reading: only the kept frames are stored
    const t = readTrajectory(u, file, frameKeeper(s, file))
    top = plan.topology.structure.topology
    if (t.nAtoms !== top.atoms.length) {
      throw new UserError(`${file}: ${t.nAtoms.toLocaleString('en-US')} atoms per frame but its topology ${path.basename(plan.topology.file)} has ${top.atoms.length.toLocaleString('en-US')}; the topology must list the same atoms in the same order`, 'topology-mismatch')
    }
    ;({ nFrames: n, frames, timesPs: times, framesInFile: inFile } = t)
    warnings.push(...t.warnings)
    kept = Array.from({ length: n }, (_, f) => f)
  } else {
    const r = readStructure(u, file, { select: opts.select })
    ;({ topology: top, nFrames: n, frames, timesPs: times } = r)
    warnings.push(...r.warnings)
    kept = sampleFrames(n, times, s, file)
    inFile = n
  }
  const w = frames.length / Math.max(1, n)
  checkCoordinateRange(frames, w, file)
  for (const f of kept) {
    if (opts.signal?.aborted) throw cancelledError(file)
    opts.onFrame(frames.slice(f * w, (f + 1) * w), f, top)
  }
  return {
    bytes: raw.length,
    sha256: createHash('sha256').update(raw).digest('hex'),
    gzip: u.compression === 'gzip',
    compression: u.compression,
    format: u.kind,
    framesInFile: inFile,
    framesKept: kept.length,
    spacingPs: spacingPs(kept, times),
    warnings,
  }
}
