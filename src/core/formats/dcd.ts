/**
 * DCD trajectories (CHARMM flavour, as written by CHARMM/NAMD/VMD and read by MDTraj, MDAnalysis
 * and VMD). Coordinates in Å, float32. Layout of a file we write (little-endian, 4-byte Fortran
 * record markers around every record):
 *
 *   offset  0  int32 84 | "CORD" | int32 ICNTRL[20] | int32 84                 (92 bytes)
 *              ICNTRL[0] NSET frames      [1] ISTART first step   [2] NSAVC steps per frame
 *                    [3] NSTEP = ISTART + NSET·NSAVC               [8] NAMNF fixed atoms (0)
 *                    [9] DELTA float32, AKMA time units per step (1 AKMA = 0.0488882129 ps)
 *                   [10] 1 when every frame has a unit-cell record [11] 4th dimension (0)
 *                   [19] CHARMM version (24; non-zero marks the CHARMM flavour)
 *   offset 92  int32 4+80·NTITLE | int32 NTITLE | NTITLE × 80-byte titles | int32 (same)
 *   then       int32 4 | int32 NATOM | int32 4
 *   per frame  [int32 48 | 6 × float64 A, cos γ, B, cos β, cos α, C | int32 48]   (only with a cell)
 *              int32 4N | N × float32 X | int32 4N, the same for Y, then Z
 *
 * The unit-cell record is written only when a cell is known (vacuum snapshots have none, and a
 * zero cell would make readers apply periodic boundaries). NSET and NSTEP are written as 0 in the
 * header and patched by DcdWriter.finish(), so a stream that was cut short still reads (the reader
 * counts frames from the file size when NSET disagrees). The reader also accepts big-endian files
 * and the X-PLOR flavour (ICNTRL[19] = 0, DELTA as float64, no cell records).
 */
import { UserError } from '../errors'
import type { UnitCell } from '../topology'

/** one AKMA time unit in ps (CHARMM's DELTA unit) */
export const AKMA_PS = 0.04888821290839616

/** where the writer's bytes go: append, and overwrite earlier bytes at an absolute position */
export interface ByteSink {
  write(bytes: Uint8Array): void | Promise<void>
  writeAt(position: number, bytes: Uint8Array): void | Promise<void>
}

/** a ByteSink that keeps everything in memory (tests, small files, the browser) */
export class MemorySink implements ByteSink {
  private chunks: Uint8Array[] = []
  private size = 0
  private merged: Uint8Array | undefined

  write(bytes: Uint8Array): void {
    this.chunks.push(bytes.slice())
    this.size += bytes.length
    this.merged = undefined
  }

  writeAt(position: number, bytes: Uint8Array): void {
    const all = this.bytes()
    if (position + bytes.length > all.length) throw new RangeError('MemorySink.writeAt beyond the end')
    all.set(bytes, position)
  }

  bytes(): Uint8Array {
    if (!this.merged) {
      const out = new Uint8Array(this.size)
      let o = 0
      for (const c of this.chunks) {
        out.set(c, o)
        o += c.length
      }
      this.merged = out
      this.chunks = [out]
    }
    return this.merged
  }
}

export interface DcdWriterOptions {
  nAtoms: number
  /** title lines (ASCII, cut to 80 characters; at least two are written) */
  titles?: string[]
  /** time between saved frames in ps; stored as DELTA in AKMA units with NSAVC = 1 (0 when unknown) */
  frameIntervalPs?: number
  istart?: number
  /** write a unit-cell record before every frame (requires a cell for each frame, or a default cell) */
  cell?: UnitCell
}

const HEADER_RECORD = 84
const NSET_POS = 8
const NSTEP_POS = 20

function ascii80(s: string): Uint8Array {
  const out = new Uint8Array(80).fill(0x20)
  for (let i = 0; i < Math.min(80, s.length); i++) {
    const c = s.charCodeAt(i)
    out[i] = c >= 32 && c < 127 ? c : 0x3f
  }
  return out
}

/** bytes of the header records for the given options (exported for layout tests) */
export function dcdHeaderBytes(opts: DcdWriterOptions, nset = 0): Uint8Array {
  const titles = [...(opts.titles ?? [])]
  while (titles.length < 2) titles.push(titles.length === 0 ? 'DCD written by DiffMD Studio' : 'REMARKS coordinates in Angstrom')
  const ntitle = titles.length
  const titleLen = 4 + 80 * ntitle
  const size = 4 + HEADER_RECORD + 4 + (4 + titleLen + 4) + 12
  const buf = new Uint8Array(size)
  const dv = new DataView(buf.buffer)
  const istart = opts.istart ?? 0
  const nsavc = 1
  dv.setInt32(0, HEADER_RECORD, true)
  buf.set([0x43, 0x4f, 0x52, 0x44], 4) // CORD
  dv.setInt32(NSET_POS, nset, true)
  dv.setInt32(12, istart, true)
  dv.setInt32(16, nsavc, true)
  dv.setInt32(NSTEP_POS, istart + nset * nsavc, true)
  const delta = opts.frameIntervalPs !== undefined && Number.isFinite(opts.frameIntervalPs) ? opts.frameIntervalPs / AKMA_PS : 0
  dv.setFloat32(8 + 4 * 9, delta, true)
  dv.setInt32(8 + 4 * 10, opts.cell ? 1 : 0, true)
  dv.setInt32(8 + 4 * 19, 24, true)
  dv.setInt32(4 + HEADER_RECORD, HEADER_RECORD, true)
  let o = 4 + HEADER_RECORD + 4
  dv.setInt32(o, titleLen, true)
  dv.setInt32(o + 4, ntitle, true)
  for (let t = 0; t < ntitle; t++) buf.set(ascii80(titles[t]!), o + 8 + 80 * t)
  dv.setInt32(o + 4 + titleLen, titleLen, true)
  o += 4 + titleLen + 4
  dv.setInt32(o, 4, true)
  dv.setInt32(o + 4, opts.nAtoms, true)
  dv.setInt32(o + 8, 4, true)
  return buf
}

/** bytes of one frame (cell record when `cell` is given, then X, Y, Z blocks) */
function frameByteLength(nAtoms: number, withCell: boolean): number {
  return (withCell ? 56 : 0) + 3 * (8 + 4 * nAtoms)
}

/**
 * Streams a DCD: the header on the first frame (or on finish() when there are none), then one frame
 * per writeFrame(), then finish() patches NSET and NSTEP. One frame buffer is reused.
 */
export class DcdWriter {
  private started = false
  private nset = 0
  private readonly frame: Uint8Array
  private readonly dv: DataView

  constructor(
    private readonly sink: ByteSink,
    readonly opts: DcdWriterOptions
  ) {
    if (!Number.isInteger(opts.nAtoms) || opts.nAtoms < 1) throw new RangeError(`DcdWriter: nAtoms must be a positive integer (got ${opts.nAtoms})`)
    this.frame = new Uint8Array(frameByteLength(opts.nAtoms, opts.cell !== undefined))
    this.dv = new DataView(this.frame.buffer)
  }

  get framesWritten(): number {
    return this.nset
  }

  private async start(): Promise<void> {
    if (this.started) return
    this.started = true
    await this.sink.write(dcdHeaderBytes(this.opts, 0))
  }

  /** appends coords[offset … offset + 3N) (Å, atom-major); `cell` overrides the default cell */
  async writeFrame(coords: Float32Array | Float64Array, offset = 0, cell?: UnitCell): Promise<void> {
    await this.start()
    const n = this.opts.nAtoms
    const dv = this.dv
    let o = 0
    if (this.opts.cell) {
      const c = cell ?? this.opts.cell
      const cosd = (deg: number): number => (Math.abs(deg - 90) < 1e-9 ? 0 : Math.cos((deg * Math.PI) / 180))
      dv.setInt32(0, 48, true)
      const vals = [c.a, cosd(c.gamma), c.b, cosd(c.beta), cosd(c.alpha), c.c]
      for (let k = 0; k < 6; k++) dv.setFloat64(4 + 8 * k, vals[k]!, true)
      dv.setInt32(52, 48, true)
      o = 56
    }
    for (let axis = 0; axis < 3; axis++) {
      dv.setInt32(o, 4 * n, true)
      o += 4
      for (let i = 0; i < n; i++) {
        const v = coords[offset + 3 * i + axis]!
        if (!Number.isFinite(v)) throw new RangeError(`frame ${this.nset + 1} atom ${i + 1} has a non-finite coordinate (${v})`)
        dv.setFloat32(o, v, true)
        o += 4
      }
      dv.setInt32(o, 4 * n, true)
      o += 4
    }
    await this.sink.write(this.frame)
    this.nset++
  }

  /** writes the header if no frame was written and patches NSET/NSTEP; returns the frame count */
  async finish(): Promise<number> {
    await this.start()
    const patch = new Uint8Array(4)
    const pv = new DataView(patch.buffer)
    pv.setInt32(0, this.nset, true)
    await this.sink.writeAt(NSET_POS, patch)
    const p2 = new Uint8Array(4)
    new DataView(p2.buffer).setInt32(0, (this.opts.istart ?? 0) + this.nset, true)
    await this.sink.writeAt(NSTEP_POS, p2)
    return this.nset
  }
}

/** A whole DCD in memory: frames is [nFrames, 3N]. */
export async function writeDcdBytes(frames: Float32Array, nFrames: number, opts: DcdWriterOptions): Promise<Uint8Array> {
  const sink = new MemorySink()
  const w = new DcdWriter(sink, opts)
  for (let f = 0; f < nFrames; f++) await w.writeFrame(frames, f * 3 * opts.nAtoms)
  await w.finish()
  return sink.bytes()
}

// ───────────────────────────── reading ─────────────────────────────

export interface DcdHeader {
  /** NSET as stored in the header (0 when a writer never patched it) */
  nsetStored: number
  /** frames actually in the file (from its size) */
  nFrames: number
  istart: number
  nsavc: number
  nstep: number
  /** DELTA in AKMA units, and the time between saved frames in ps (DELTA·NSAVC·AKMA) */
  delta: number
  frameIntervalPs: number
  charmm: boolean
  hasCell: boolean
  has4D: boolean
  nAtoms: number
  titles: string[]
  littleEndian: boolean
  /** byte offset of the first frame and bytes per frame */
  headerBytes: number
  frameBytes: number
  warnings: string[]
}

export interface DcdFrame {
  index: number
  /** [x0,y0,z0,x1,…] Å */
  coords: Float32Array
  cell?: UnitCell
}

function fail(file: string, offset: number, msg: string): never {
  throw new UserError(`${file}: byte ${offset}: ${msg}`, 'parse')
}

/** Parses and checks the header records; frames are not touched. */
export function readDcdHeader(bytes: Uint8Array, file: string): DcdHeader {
  if (bytes.length === 0) throw new UserError(`${file}: the file is empty; expected a DCD trajectory`, 'parse')
  if (bytes.length < 8) fail(file, 0, `file is ${bytes.length} bytes, too short for a DCD header (a DCD starts with the record marker 84 and "CORD")`)
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let le: boolean
  if (dv.getInt32(0, true) === HEADER_RECORD) le = true
  else if (dv.getInt32(0, false) === HEADER_RECORD) le = false
  else fail(file, 0, `expected the record marker 84 of a DCD header, found ${dv.getInt32(0, true)}; not a DCD file (or one with 64-bit record markers, which is not supported)`)
  const tag = String.fromCharCode(bytes[4]!, bytes[5]!, bytes[6]!, bytes[7]!)
  if (tag !== 'CORD') fail(file, 4, `expected "CORD", found "${tag.replace(/[^ -~]/g, '?')}" (only coordinate DCDs are supported, not velocities)`)
  if (bytes.length < 92 + 8) fail(file, bytes.length, 'file ends inside the DCD header')
  const i32 = (o: number): number => dv.getInt32(o, le)
  const ic = (k: number): number => i32(8 + 4 * k)
  if (i32(88) !== HEADER_RECORD) fail(file, 88, `expected the closing record marker 84 of the header, found ${i32(88)}`)
  const charmm = ic(19) !== 0
  const nsetStored = ic(0)
  const istart = ic(1)
  const nsavc = ic(2)
  const nstep = ic(3)
  const namnf = ic(8)
  if (namnf !== 0) fail(file, 8 + 32, `${namnf} fixed atoms (NAMNF ≠ 0) are not supported; write the DCD without fixed atoms`)
  const delta = charmm ? dv.getFloat32(8 + 36, le) : dv.getFloat64(8 + 36, le)
  const hasCell = charmm && ic(10) === 1
  const has4D = charmm && ic(11) === 1
  let o = 92
  const titleLen = i32(o)
  if (titleLen < 4 || o + 8 + titleLen > bytes.length) fail(file, o, `title record length ${titleLen} is impossible for a file of ${bytes.length} bytes`)
  const ntitle = i32(o + 4)
  if (ntitle < 0 || 4 + 80 * ntitle > titleLen) fail(file, o + 4, `NTITLE ${ntitle} does not fit a title record of ${titleLen} bytes`)
  const titles: string[] = []
  for (let t = 0; t < ntitle; t++) {
    let s = ''
    for (let k = 0; k < 80; k++) {
      const c = bytes[o + 8 + 80 * t + k]!
      if (c === 0) break
      s += String.fromCharCode(c)
    }
    titles.push(s.trimEnd())
  }
  if (i32(o + 4 + titleLen) !== titleLen) fail(file, o + 4 + titleLen, `expected the closing title record marker ${titleLen}, found ${i32(o + 4 + titleLen)}`)
  o += 4 + titleLen + 4
  if (o + 12 > bytes.length) fail(file, o, 'file ends before the atom-count record')
  if (i32(o) !== 4) fail(file, o, `expected the record marker 4 before NATOM, found ${i32(o)}`)
  const nAtoms = i32(o + 4)
  if (nAtoms < 1) fail(file, o + 4, `NATOM is ${nAtoms}; expected a positive atom count`)
  if (i32(o + 8) !== 4) fail(file, o + 8, `expected the record marker 4 after NATOM, found ${i32(o + 8)}`)
  o += 12
  const frameBytes = (hasCell ? 56 : 0) + (has4D ? 4 : 3) * (8 + 4 * nAtoms)
  const body = bytes.length - o
  const nFrames = Math.floor(body / frameBytes)
  const warnings: string[] = []
  if (body % frameBytes !== 0) {
    fail(file, o + nFrames * frameBytes, `frame ${nFrames + 1} is truncated (${body % frameBytes} of ${frameBytes} bytes); the file was cut short`)
  }
  if (nsetStored !== nFrames) warnings.push(`${file}: header says ${nsetStored} frames (NSET) but the file holds ${nFrames}; reading ${nFrames}`)
  const interval = delta * (nsavc > 0 ? nsavc : 1) * AKMA_PS
  return {
    nsetStored,
    nFrames,
    istart,
    nsavc,
    nstep,
    delta,
    frameIntervalPs: Number.isFinite(interval) ? interval : 0,
    charmm,
    hasCell,
    has4D,
    nAtoms,
    titles,
    littleEndian: le,
    headerBytes: o,
    frameBytes,
    warnings,
  }
}

function angleFrom(v: number): number {
  // cosines (CHARMM, NAMD ≥ 2.5, VMD) or degrees (NAMD 2.5)
  return v >= -1 && v <= 1 ? 90 - (Math.asin(v) * 180) / Math.PI : v
}

/** Yields the frames one by one (each a fresh Float32Array). */
export function* iterateDcdFrames(bytes: Uint8Array, file: string, header: DcdHeader = readDcdHeader(bytes, file)): Generator<DcdFrame> {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const le = header.littleEndian
  const n = header.nAtoms
  for (let f = 0; f < header.nFrames; f++) {
    let o = header.headerBytes + f * header.frameBytes
    let cell: UnitCell | undefined
    if (header.hasCell) {
      if (dv.getInt32(o, le) !== 48) fail(file, o, `frame ${f + 1}: expected the unit-cell record marker 48, found ${dv.getInt32(o, le)}`)
      const u = [0, 1, 2, 3, 4, 5].map((k) => dv.getFloat64(o + 4 + 8 * k, le))
      cell = { a: u[0]!, b: u[2]!, c: u[5]!, alpha: angleFrom(u[4]!), beta: angleFrom(u[3]!), gamma: angleFrom(u[1]!), spaceGroup: 'P 1', z: 1 }
      o += 56
    }
    const coords = new Float32Array(3 * n)
    for (let axis = 0; axis < 3; axis++) {
      if (dv.getInt32(o, le) !== 4 * n) fail(file, o, `frame ${f + 1}: expected the record marker ${4 * n} before the ${'XYZ'[axis]} block of ${n} atoms, found ${dv.getInt32(o, le)}`)
      o += 4
      for (let i = 0; i < n; i++) {
        coords[3 * i + axis] = dv.getFloat32(o, le)
        o += 4
      }
      if (dv.getInt32(o, le) !== 4 * n) fail(file, o, `frame ${f + 1}: expected the record marker ${4 * n} after the ${'XYZ'[axis]} block, found ${dv.getInt32(o, le)}`)
      o += 4
    }
    yield cell ? { index: f, coords, cell } : { index: f, coords }
  }
}

export interface DcdReadResult {
  header: DcdHeader
  nFrames: number
  nAtoms: number
  /** [nFrames, 3N] Å */
  frames: Float32Array
  /** per-frame unit cells when the file has them */
  cells?: UnitCell[]
  warnings: string[]
}

export function readDcd(bytes: Uint8Array, file: string): DcdReadResult {
  const header = readDcdHeader(bytes, file)
  const n3 = 3 * header.nAtoms
  const frames = new Float32Array(header.nFrames * n3)
  const cells: UnitCell[] = []
  for (const fr of iterateDcdFrames(bytes, file, header)) {
    frames.set(fr.coords, fr.index * n3)
    if (fr.cell) cells.push(fr.cell)
  }
  const res: DcdReadResult = { header, nFrames: header.nFrames, nAtoms: header.nAtoms, frames, warnings: header.warnings }
  if (header.hasCell) res.cells = cells
  return res
}
