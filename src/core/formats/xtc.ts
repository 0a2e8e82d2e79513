/**
 * GROMACS XTC trajectories (the compressed format of GROMACS, read by MDTraj, MDAnalysis, VMD,
 * PyMOL, ChimeraX). Everything is big-endian XDR (4-byte ints and IEEE floats). Per frame:
 *
 *   int32 magic 1995 | int32 natoms | int32 step | float32 time (ps)
 *   float32 box[3][3] (nm; rows are the box vectors a, b, c; all zero for a vacuum system)
 *   int32 natoms (again)
 *   natoms ≤ 9:  float32 x[3·natoms] (nm), uncompressed
 *   otherwise:   float32 precision (1000 = 0.001 nm) | int32 minint[3] | int32 maxint[3] |
 *                int32 smallidx | int32 nbytes | nbytes of packed bits, zero-padded to 4 bytes
 *
 * The packed bits are xdr3dfcoord's ("xdrfile", Frans van Hoesel / GROMACS): coordinates are
 * rounded to integers x·precision; each atom is written either in full (minus minint, mixed-radix
 * packed into sizeofints(maxint − minint + 1) bits, or field by field when a range exceeds 2²⁴),
 * or — when it lies close to the atom before it — as a small difference inside a run of up to 8
 * atoms, packed into `smallidx` bits per atom with the `magicints` table (magicints[i]³ ≤ 2^i).
 * A 1-bit flag (+ 5 bits: run length·3 + change of smallidx + 1) before each run lets the size of
 * the small differences adapt. The first two atoms of a run are swapped (this favours water).
 * The bit stream is MSB-first. The encoder here follows the reference integer arithmetic and its
 * float32 rounding (Math.fround), so its frames are byte-identical to xdrfile's for the same
 * float32 input (the test compares against MDTraj's writer).
 *
 * Our trajectories are in Å: the writer takes Å and stores nm (÷10); the reader returns Å (×10).
 * At the default precision 1000 a coordinate is kept to ±0.0005 nm = ±0.005 Å.
 */
import { UserError } from '../errors'
import type { UnitCell } from '../topology'
import type { ByteSink } from './dcd'

export const XTC_MAGIC = 1995
export const XTC_DEFAULT_PRECISION = 1000

// prettier-ignore
const MAGICINTS = [
  0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 10, 12, 16, 20, 25, 32, 40, 50, 64,
  80, 101, 128, 161, 203, 256, 322, 406, 512, 645, 812, 1024, 1290,
  1625, 2048, 2580, 3250, 4096, 5060, 6501, 8192, 10321, 13003,
  16384, 20642, 26007, 32768, 41285, 52015, 65536, 82570, 104031,
  131072, 165140, 208063, 262144, 330280, 416127, 524287, 660561,
  832255, 1048576, 1321122, 1664510, 2097152, 2642245, 3329021,
  4194304, 5284491, 6658042, 8388607, 10568983, 13316085, 16777216,
] as const
const FIRSTIDX = 9
const LASTIDX = MAGICINTS.length // 73
const INT_MAX = 2147483647

function magic(i: number): number {
  return i >= 0 && i < LASTIDX ? MAGICINTS[i]! : 0
}

/** bits needed for an unsigned integer < size (xdrfile sizeofint) */
function sizeofint(size: number): number {
  let num = 1
  let bits = 0
  while (size >= num && bits < 32) {
    bits++
    num *= 2
  }
  return bits
}

/** bits needed for the mixed-radix product of three sizes (xdrfile sizeofints) */
function sizeofints(sizes: ArrayLike<number>): number {
  const bytes = [1]
  for (let i = 0; i < 3; i++) {
    let tmp = 0
    let b = 0
    for (; b < bytes.length; b++) {
      tmp = bytes[b]! * sizes[i]! + tmp
      bytes[b] = tmp % 256
      tmp = Math.floor(tmp / 256)
    }
    while (tmp !== 0) {
      bytes[b++] = tmp % 256
      tmp = Math.floor(tmp / 256)
    }
  }
  const top = bytes.length - 1
  let bits = 0
  let num = 1
  while (bytes[top]! >= num) {
    bits++
    num *= 2
  }
  return bits + top * 8
}

/** MSB-first bit packer into a growable byte buffer */
class BitWriter {
  bytes: Uint8Array
  length = 0
  private acc = 0
  private nacc = 0

  constructor(capacity: number) {
    this.bytes = new Uint8Array(Math.max(64, capacity))
  }

  reset(): void {
    this.length = 0
    this.acc = 0
    this.nacc = 0
  }

  private put(n: number, v: number): void {
    this.acc = (this.acc << n) | v
    this.nacc += n
    if (this.nacc >= 8) {
      this.nacc -= 8
      if (this.length >= this.bytes.length) {
        const grown = new Uint8Array(this.bytes.length * 2)
        grown.set(this.bytes)
        this.bytes = grown
      }
      this.bytes[this.length++] = (this.acc >>> this.nacc) & 0xff
      this.acc &= (1 << this.nacc) - 1
    }
  }

  /** appends the low n bits of the non-negative integer v (any n; bits above 2^32 must be zero) */
  write(n: number, v: number): void {
    while (n >= 8) {
      n -= 8
      this.put(8, n >= 32 ? 0 : Math.floor(v / 2 ** n) % 256)
    }
    if (n > 0) this.put(n, v % 2 ** n)
  }

  /** bytes written, the last partial byte zero-padded */
  finish(): number {
    if (this.nacc > 0) this.put(8 - this.nacc, 0)
    return this.length
  }
}

class Truncated extends Error {}

/** MSB-first bit reader over bytes [start, end) */
class BitReader {
  private pos: number
  private acc = 0
  private nacc = 0

  constructor(
    private readonly bytes: Uint8Array,
    start: number,
    private readonly end: number
  ) {
    this.pos = start
  }

  private get8(n: number): number {
    if (this.nacc < n) {
      if (this.pos >= this.end) throw new RangeError('the packed coordinates end early')
      this.acc = ((this.acc << 8) | this.bytes[this.pos++]!) & 0xffff
      this.nacc += 8
    }
    this.nacc -= n
    const v = (this.acc >>> this.nacc) & ((1 << n) - 1)
    this.acc &= (1 << this.nacc) - 1
    return v
  }

  /** the next n ≤ 32 bits as an unsigned integer */
  read(n: number): number {
    let v = 0
    while (n >= 8) {
      v = v * 256 + this.get8(8)
      n -= 8
    }
    if (n > 0) v = v * 2 ** n + this.get8(n)
    return v
  }
}

const encBytes = new Array<number>(32).fill(0)

/** writes three small unsigned integers mixed-radix with `sizes` into nbits bits (xdrfile encodeints) */
function encodeInts(w: BitWriter, nbits: number, sizes: ArrayLike<number>, n0: number, n1: number, n2: number): void {
  const bytes = encBytes
  let nb = 0
  let tmp = n0
  do {
    bytes[nb++] = tmp % 256
    tmp = Math.floor(tmp / 256)
  } while (tmp !== 0)
  for (let i = 1; i < 3; i++) {
    tmp = i === 1 ? n1 : n2
    let b = 0
    for (; b < nb; b++) {
      tmp = bytes[b]! * sizes[i]! + tmp
      bytes[b] = tmp % 256
      tmp = Math.floor(tmp / 256)
    }
    while (tmp !== 0) {
      bytes[b++] = tmp % 256
      tmp = Math.floor(tmp / 256)
    }
    nb = b
  }
  if (nbits >= nb * 8) {
    for (let i = 0; i < nb; i++) w.write(8, bytes[i]!)
    w.write(nbits - nb * 8, 0)
  } else {
    for (let i = 0; i < nb - 1; i++) w.write(8, bytes[i]!)
    w.write(nbits - (nb - 1) * 8, bytes[nb - 1]!)
  }
}

const decBytes = new Array<number>(32).fill(0)

/** inverse of encodeInts: three integers into out[o … o+2] (xdrfile decodeints) */
function decodeInts(r: BitReader, nbits: number, sizes: ArrayLike<number>, out: Float64Array): void {
  const bytes = decBytes
  bytes.fill(0)
  let nb = 0
  while (nbits > 8) {
    bytes[nb++] = r.read(8)
    nbits -= 8
  }
  if (nbits > 0) bytes[nb++] = r.read(nbits)
  for (let i = 2; i > 0; i--) {
    let num = 0
    for (let j = nb - 1; j >= 0; j--) {
      num = num * 256 + bytes[j]!
      const p = Math.floor(num / sizes[i]!)
      bytes[j] = p
      num -= p * sizes[i]!
    }
    out[i] = num
  }
  out[0] = bytes[0]! + bytes[1]! * 256 + bytes[2]! * 65536 + bytes[3]! * 16777216
}

// ───────────────────────────── unit cells ─────────────────────────────

/** the GROMACS box matrix (nm, rows a, b, c; a along x, b in the xy plane) of a PDB unit cell (Å, degrees) */
export function boxFromCell(cell: UnitCell): Float32Array {
  const rad = Math.PI / 180
  const cosd = (d: number): number => (Math.abs(d - 90) < 1e-9 ? 0 : Math.cos(d * rad))
  const ca = cosd(cell.alpha)
  const cb = cosd(cell.beta)
  const cg = cosd(cell.gamma)
  const sg = Math.sin(cell.gamma * rad)
  const a = cell.a / 10
  const b = cell.b / 10
  const c = cell.c / 10
  const cx = c * cb
  const cy = (c * (ca - cb * cg)) / sg
  const cz = Math.sqrt(Math.max(0, c * c - cx * cx - cy * cy))
  return Float32Array.from([a, 0, 0, b * cg, b * sg, 0, cx, cy, cz])
}

/** lengths (Å) and angles (degrees) of a box matrix (nm); undefined for an all-zero (vacuum) box */
export function cellFromBox(box: ArrayLike<number>): { a: number; b: number; c: number; alpha: number; beta: number; gamma: number } | undefined {
  const v = (i: number): [number, number, number] => [box[3 * i]!, box[3 * i + 1]!, box[3 * i + 2]!]
  const len = (x: number[]): number => Math.hypot(x[0]!, x[1]!, x[2]!)
  const A = v(0)
  const B = v(1)
  const C = v(2)
  const la = len(A)
  const lb = len(B)
  const lc = len(C)
  if (!(la > 0 && lb > 0 && lc > 0)) return undefined
  const ang = (x: number[], y: number[], lx: number, ly: number): number => (Math.acos(Math.max(-1, Math.min(1, (x[0]! * y[0]! + x[1]! * y[1]! + x[2]! * y[2]!) / (lx * ly)))) * 180) / Math.PI
  return { a: la * 10, b: lb * 10, c: lc * 10, alpha: ang(B, C, lb, lc), beta: ang(A, C, la, lc), gamma: ang(A, B, la, lb) }
}

// ───────────────────────────── writing ─────────────────────────────

export interface XtcFrameInfo {
  /** MD step number (int32) */
  step: number
  /** time in ps (stored as float32) */
  timePs: number
  /** 3×3 box in nm, rows a, b, c (default: all zero, no periodic box) */
  boxNm?: ArrayLike<number>
}

/**
 * Encodes XTC frames. Reuses its buffers: the bytes returned by encode() are valid until the next
 * call. `precision` is in 1/nm (1000 keeps 0.001 nm).
 */
export class XtcEncoder {
  private readonly ints: Int32Array
  private readonly bits: BitWriter
  private frame: Uint8Array
  readonly precision: number

  constructor(
    readonly nAtoms: number,
    precision = XTC_DEFAULT_PRECISION
  ) {
    if (!Number.isInteger(nAtoms) || nAtoms < 1 || nAtoms > 1e8) throw new RangeError(`XTC: the atom count must be a positive integer (got ${nAtoms})`)
    if (!(precision > 0) || !Number.isFinite(precision)) throw new RangeError(`XTC: the precision must be a positive number (got ${precision})`)
    this.precision = Math.fround(precision)
    this.ints = new Int32Array(3 * nAtoms)
    this.bits = new BitWriter(16 * nAtoms + 64)
    this.frame = new Uint8Array(0)
  }

  /** one frame from coordinates in nm (xnm[offset … offset + 3N)) */
  encode(xnm: ArrayLike<number>, info: XtcFrameInfo, offset = 0): Uint8Array {
    const n = this.nAtoms
    if (!Number.isInteger(info.step) || info.step < -INT_MAX - 1 || info.step > INT_MAX) throw new RangeError(`XTC: step ${info.step} is not a 32-bit integer`)
    if (!Number.isFinite(info.timePs)) throw new RangeError(`XTC: time ${info.timePs} ps is not finite`)
    const box = info.boxNm
    if (box && box.length !== 9) throw new RangeError(`XTC: the box must have 9 numbers (3×3, nm), got ${box.length}`)
    let body: number
    if (n <= 9) body = 12 * n
    else body = this.compress(xnm, offset)
    const total = n <= 9 ? 56 + body : 92 + ((body + 3) & ~3)
    if (this.frame.length < total) this.frame = new Uint8Array(total)
    const out = this.frame
    out.fill(0, 0, total)
    const dv = new DataView(out.buffer, 0, total)
    dv.setInt32(0, XTC_MAGIC)
    dv.setInt32(4, n)
    dv.setInt32(8, info.step)
    dv.setFloat32(12, info.timePs)
    for (let k = 0; k < 9; k++) dv.setFloat32(16 + 4 * k, box ? box[k]! : 0)
    dv.setInt32(52, n)
    if (n <= 9) {
      for (let k = 0; k < 3 * n; k++) {
        const v = xnm[offset + k]!
        if (!Number.isFinite(v)) throw new RangeError(`XTC: atom ${Math.floor(k / 3)} has a coordinate that is not finite (${v})`)
        dv.setFloat32(56 + 4 * k, v)
      }
    } else {
      dv.setFloat32(56, this.precision)
      for (let k = 0; k < 3; k++) {
        dv.setInt32(60 + 4 * k, this.minint[k]!)
        dv.setInt32(72 + 4 * k, this.maxint[k]!)
      }
      dv.setInt32(84, this.smallidx0)
      dv.setInt32(88, body)
      out.set(this.bits.bytes.subarray(0, body), 92)
    }
    return out.subarray(0, total)
  }

  private readonly minint = new Int32Array(3)
  private readonly maxint = new Int32Array(3)
  private smallidx0 = FIRSTIDX

  /** xdr3dfcoord compression of 3N coordinates (nm) into this.bits; returns the byte count */
  private compress(xnm: ArrayLike<number>, offset: number): number {
    const n = this.nAtoms
    const prec = this.precision
    const c = this.ints
    const minint = [INT_MAX, INT_MAX, INT_MAX]
    const maxint = [-INT_MAX - 1, -INT_MAX - 1, -INT_MAX - 1]
    let mindiff = INT_MAX
    let o1 = 0
    let o2 = 0
    let o3 = 0
    for (let a = 0; a < n; a++) {
      for (let k = 0; k < 3; k++) {
        const x = Math.fround(xnm[offset + 3 * a + k]!)
        const lf = x >= 0 ? Math.fround(Math.fround(x * prec) + 0.5) : Math.fround(Math.fround(x * prec) - 0.5)
        if (!(Math.abs(lf) < INT_MAX - 2)) {
          throw new RangeError(
            Number.isFinite(x) ? `XTC: atom ${a} coordinate ${x} nm is too large for precision ${prec} (|x·precision| must stay below 2³¹)` : `XTC: atom ${a} has a coordinate that is not finite (${x})`
          )
        }
        const li = Math.trunc(lf)
        c[3 * a + k] = li
        if (li < minint[k]!) minint[k] = li
        if (li > maxint[k]!) maxint[k] = li
      }
      const l1 = c[3 * a]!
      const l2 = c[3 * a + 1]!
      const l3 = c[3 * a + 2]!
      const diff = Math.abs(o1 - l1) + Math.abs(o2 - l2) + Math.abs(o3 - l3)
      if (a >= 1 && diff < mindiff) mindiff = diff
      o1 = l1
      o2 = l2
      o3 = l3
    }
    for (let k = 0; k < 3; k++) {
      if (maxint[k]! - minint[k]! >= INT_MAX - 2) throw new RangeError(`XTC: the coordinates span more than 2³¹ / precision (${(INT_MAX / prec).toPrecision(3)} nm) along ${'xyz'[k]}; use a lower precision`)
      this.minint[k] = minint[k]!
      this.maxint[k] = maxint[k]!
    }
    const sizeint = [maxint[0]! - minint[0]! + 1, maxint[1]! - minint[1]! + 1, maxint[2]! - minint[2]! + 1]
    let bitsize = 0
    const bitsizeint = [0, 0, 0]
    if (sizeint[0]! > 0xffffff || sizeint[1]! > 0xffffff || sizeint[2]! > 0xffffff) {
      for (let k = 0; k < 3; k++) bitsizeint[k] = sizeofint(sizeint[k]!)
    } else bitsize = sizeofints(sizeint)

    let smallidx = FIRSTIDX
    while (smallidx < LASTIDX - 1 && MAGICINTS[smallidx]! < mindiff) smallidx++
    this.smallidx0 = smallidx
    const maxidx = Math.min(LASTIDX, smallidx + 8)
    const minidx = maxidx - 8
    let smaller = Math.floor(magic(Math.max(FIRSTIDX, smallidx - 1)) / 2)
    let smallnum = Math.floor(magic(smallidx) / 2)
    let sizesmall = [magic(smallidx), magic(smallidx), magic(smallidx)]
    // the reference reads magicints[73] here (past the table) when smallidx ≥ 65; 0 keeps smallidx in range
    const larger = Math.floor(magic(maxidx) / 2)

    const w = this.bits
    w.reset()
    const tmpcoord = new Array<number>(30).fill(0)
    let p0 = 0
    let p1 = 0
    let p2 = 0
    let prevrun = -1
    let i = 0
    while (i < n) {
      let isSmall = false
      let t = 3 * i
      let isSmaller: number
      if (smallidx < maxidx && i >= 1 && Math.abs(c[t]! - p0) < larger && Math.abs(c[t + 1]! - p1) < larger && Math.abs(c[t + 2]! - p2) < larger) isSmaller = 1
      else if (smallidx > minidx) isSmaller = -1
      else isSmaller = 0
      if (i + 1 < n && Math.abs(c[t]! - c[t + 3]!) < smallnum && Math.abs(c[t + 1]! - c[t + 4]!) < smallnum && Math.abs(c[t + 2]! - c[t + 5]!) < smallnum) {
        // swap the first two atoms of a run (better compression of water)
        for (let k = 0; k < 3; k++) {
          const s = c[t + k]!
          c[t + k] = c[t + 3 + k]!
          c[t + 3 + k] = s
        }
        isSmall = true
      }
      if (bitsize === 0) {
        for (let k = 0; k < 3; k++) w.write(bitsizeint[k]!, c[t + k]! - minint[k]!)
      } else encodeInts(w, bitsize, sizeint, c[t]! - minint[0]!, c[t + 1]! - minint[1]!, c[t + 2]! - minint[2]!)
      p0 = c[t]!
      p1 = c[t + 1]!
      p2 = c[t + 2]!
      t += 3
      i++
      let run = 0
      if (!isSmall && isSmaller === -1) isSmaller = 0
      while (isSmall && run < 24) {
        // int32 arithmetic as in the reference (its squares may wrap for very large differences)
        const d0 = c[t]! - p0
        const d1 = c[t + 1]! - p1
        const d2 = c[t + 2]! - p2
        const tmpsum = (Math.imul(d0, d0) + Math.imul(d1, d1) + Math.imul(d2, d2)) | 0
        if (isSmaller === -1 && tmpsum >= Math.imul(smaller, smaller)) isSmaller = 0
        tmpcoord[run++] = d0 + smallnum
        tmpcoord[run++] = d1 + smallnum
        tmpcoord[run++] = d2 + smallnum
        p0 = c[t]!
        p1 = c[t + 1]!
        p2 = c[t + 2]!
        i++
        t += 3
        isSmall = i < n && Math.abs(c[t]! - p0) < smallnum && Math.abs(c[t + 1]! - p1) < smallnum && Math.abs(c[t + 2]! - p2) < smallnum
      }
      if (run !== prevrun || isSmaller !== 0) {
        prevrun = run
        w.write(1, 1)
        w.write(5, run + isSmaller + 1)
      } else w.write(1, 0)
      for (let k = 0; k < run; k += 3) encodeInts(w, smallidx, sizesmall, tmpcoord[k]!, tmpcoord[k + 1]!, tmpcoord[k + 2]!)
      if (isSmaller !== 0) {
        smallidx += isSmaller
        if (isSmaller < 0) {
          smallnum = smaller
          smaller = Math.floor(magic(smallidx - 1) / 2)
        } else {
          smaller = smallnum
          smallnum = Math.floor(magic(smallidx) / 2)
        }
        sizesmall = [magic(smallidx), magic(smallidx), magic(smallidx)]
      }
    }
    return w.finish()
  }
}

export interface XtcWriterOptions {
  nAtoms: number
  /** 1/nm; default 1000 (0.001 nm) */
  precision?: number
}

/** Streams XTC frames to a ByteSink; coordinates in Å (stored as nm). */
export class XtcWriter {
  private readonly enc: XtcEncoder
  private readonly nm: Float32Array
  private count = 0

  constructor(
    private readonly sink: ByteSink,
    readonly opts: XtcWriterOptions
  ) {
    this.enc = new XtcEncoder(opts.nAtoms, opts.precision ?? XTC_DEFAULT_PRECISION)
    this.nm = new Float32Array(3 * opts.nAtoms)
  }

  get framesWritten(): number {
    return this.count
  }

  /** appends coords[offset … offset + 3N) (Å, atom-major) */
  async writeFrame(coords: ArrayLike<number>, info: XtcFrameInfo, offset = 0): Promise<void> {
    const nm = this.nm
    for (let k = 0; k < nm.length; k++) nm[k] = coords[offset + k]! / 10
    await this.sink.write(this.enc.encode(nm, info))
    this.count++
  }
}

// ───────────────────────────── reading ─────────────────────────────

export interface XtcReadResult {
  nAtoms: number
  nFrames: number
  /** [nFrames, 3N] Å */
  frames: Float32Array
  steps: Int32Array
  timesPs: Float32Array
  /** [nFrames, 9] nm, rows a, b, c */
  boxesNm: Float32Array
  /** precision of the compressed frames (1/nm); 0 when every frame was stored uncompressed (≤ 9 atoms) */
  precision: number
  warnings: string[]
  /** frames in the file (nFrames counts those kept when readXtc was given `keep`) */
  framesInFile: number
}

interface FrameCursor {
  bytes: Uint8Array
  dv: DataView
  pos: number
}

function need(cur: FrameCursor, n: number): void {
  if (cur.pos + n > cur.bytes.length) throw new Truncated()
}
function int32(cur: FrameCursor): number {
  need(cur, 4)
  const v = cur.dv.getInt32(cur.pos)
  cur.pos += 4
  return v
}
function float32(cur: FrameCursor): number {
  need(cur, 4)
  const v = cur.dv.getFloat32(cur.pos)
  cur.pos += 4
  return v
}

/** decompresses one frame's coordinates (nm) into out[0 … 3N); returns the precision (0 when uncompressed) */
function readCoords(cur: FrameCursor, natoms: number, out: Float32Array, bad: (msg: string) => never): number {
  const lsize = int32(cur)
  if (lsize !== natoms) bad(`the coordinate block holds ${lsize} atoms but the frame header says ${natoms}`)
  if (natoms <= 9) {
    for (let k = 0; k < 3 * natoms; k++) out[k] = float32(cur)
    return 0
  }
  const precision = float32(cur)
  if (!(precision > 0) || !Number.isFinite(precision)) bad(`the precision ${precision} is not a positive number`)
  const minint = [int32(cur), int32(cur), int32(cur)]
  const maxint = [int32(cur), int32(cur), int32(cur)]
  const sizeint = [0, 0, 0]
  for (let k = 0; k < 3; k++) {
    sizeint[k] = maxint[k]! - minint[k]! + 1
    if (!(sizeint[k]! >= 1 && sizeint[k]! <= INT_MAX)) bad(`the coordinate range ${minint[k]}…${maxint[k]} is not valid`)
  }
  let bitsize = 0
  const bitsizeint = [0, 0, 0]
  if (sizeint[0]! > 0xffffff || sizeint[1]! > 0xffffff || sizeint[2]! > 0xffffff) {
    for (let k = 0; k < 3; k++) bitsizeint[k] = sizeofint(sizeint[k]!)
  } else bitsize = sizeofints(sizeint)
  let smallidx = int32(cur)
  if (smallidx < FIRSTIDX || smallidx >= LASTIDX) bad(`the small-difference index ${smallidx} is outside ${FIRSTIDX}…${LASTIDX - 1}`)
  let smaller = Math.floor(magic(Math.max(FIRSTIDX, smallidx - 1)) / 2)
  let smallnum = Math.floor(magic(smallidx) / 2)
  let sizesmall = [magic(smallidx), magic(smallidx), magic(smallidx)]
  const nbytes = int32(cur)
  if (nbytes < 0) bad(`the packed size ${nbytes} is negative`)
  // every atom takes at least 2 bits (a 1-bit range and the run flag)
  if (natoms > 4 * nbytes + 4) bad(`${natoms} atoms cannot fit in ${nbytes} packed bytes`)
  const padded = (nbytes + 3) & ~3
  need(cur, padded)
  const start = cur.pos
  cur.pos += padded
  const r = new BitReader(cur.bytes, start, start + nbytes)
  const inv = Math.fround(1 / precision)
  const size3 = 3 * natoms
  const thiscoord = new Float64Array(3)
  const prev = [0, 0, 0]
  let o = 0
  let run = 0
  let i = 0
  const emit = (a: number, b: number, c: number): void => {
    out[o++] = Math.fround(Math.fround(a) * inv)
    out[o++] = Math.fround(Math.fround(b) * inv)
    out[o++] = Math.fround(Math.fround(c) * inv)
  }
  try {
    while (i < natoms) {
      if (bitsize === 0) {
        for (let k = 0; k < 3; k++) thiscoord[k] = r.read(bitsizeint[k]!)
      } else decodeInts(r, bitsize, sizeint, thiscoord)
      i++
      for (let k = 0; k < 3; k++) {
        thiscoord[k] = thiscoord[k]! + minint[k]!
        prev[k] = thiscoord[k]!
      }
      let isSmaller = 0
      if (r.read(1) === 1) {
        run = r.read(5)
        isSmaller = run % 3
        run -= isSmaller
        isSmaller--
      }
      if (o + 3 + run > size3) bad(`a run of ${run / 3} atoms after atom ${i - 1} goes past the ${natoms} atoms of the frame`)
      if (run > 0) {
        for (let k = 0; k < run; k += 3) {
          decodeInts(r, smallidx, sizesmall, thiscoord)
          i++
          for (let j = 0; j < 3; j++) thiscoord[j] = thiscoord[j]! + prev[j]! - smallnum
          if (k === 0) {
            // the first two atoms of a run were swapped by the writer
            for (let j = 0; j < 3; j++) {
              const s = thiscoord[j]!
              thiscoord[j] = prev[j]!
              prev[j] = s
            }
            emit(prev[0]!, prev[1]!, prev[2]!)
          } else {
            prev[0] = thiscoord[0]!
            prev[1] = thiscoord[1]!
            prev[2] = thiscoord[2]!
          }
          emit(thiscoord[0]!, thiscoord[1]!, thiscoord[2]!)
        }
      } else emit(thiscoord[0]!, thiscoord[1]!, thiscoord[2]!)
      smallidx += isSmaller
      if (smallidx < FIRSTIDX || smallidx >= LASTIDX) bad(`the small-difference index left the table (${smallidx}) at atom ${i - 1}`)
      if (isSmaller < 0) {
        smallnum = smaller
        smaller = smallidx > FIRSTIDX ? Math.floor(magic(smallidx - 1) / 2) : 0
      } else if (isSmaller > 0) {
        smaller = smallnum
        smallnum = Math.floor(magic(smallidx) / 2)
      }
      sizesmall = [magic(smallidx), magic(smallidx), magic(smallidx)]
    }
  } catch (err) {
    if (err instanceof RangeError) bad(`${err.message} (atom ${i} of ${natoms})`)
    throw err
  }
  return precision
}

/**
 * Reads a whole XTC (all frames, coordinates in Å). A file that ends inside a frame (a run that
 * was cut off) keeps the complete frames before it, with a warning; anything else that does not
 * decode is a UserError naming the file, frame and byte.
 */
export function readXtc(bytes: Uint8Array, file: string, keep?: (index: number, timePs: number) => boolean): XtcReadResult {
  if (bytes.length === 0) throw new UserError(`${file}: the file is empty; expected an XTC trajectory`, 'parse')
  const cur: FrameCursor = { bytes, dv: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), pos: 0 }
  const frames: Float32Array[] = []
  const steps: number[] = []
  const times: number[] = []
  const boxes: number[] = []
  const warnings: string[] = []
  let nAtoms = -1
  let precision = 0
  // frames decoded so far; with `keep` only the kept ones are stored (a thinned long run never fills memory)
  let decoded = 0
  while (cur.pos < bytes.length) {
    const frameStart = cur.pos
    const f = decoded
    const bad = (msg: string): never => {
      throw new UserError(`${file}: frame ${f + 1} (byte ${frameStart}): ${msg}; the file is not a valid XTC`, 'parse')
    }
    try {
      const magicNo = int32(cur)
      if (magicNo !== XTC_MAGIC) {
        if (f === 0) throw new UserError(`${file}: expected the XTC magic number 1995 at byte 0, found ${magicNo}; not an XTC file`, 'parse')
        bad(`expected the magic number 1995, found ${magicNo}`)
      }
      const n = int32(cur)
      if (n < 1) bad(`the atom count ${n} is not positive`)
      if (nAtoms < 0) nAtoms = n
      else if (n !== nAtoms) bad(`${n} atoms, but frame 1 has ${nAtoms}; all frames must have the same atoms`)
      // a frame holds at least 56 bytes, plus 2 bits per atom when compressed
      if (n > 9 && n > 4 * (bytes.length - cur.pos) + 4) throw new Truncated()
      const step = int32(cur)
      const time = float32(cur)
      const box = new Array<number>(9)
      for (let k = 0; k < 9; k++) box[k] = float32(cur)
      const xnm = new Float32Array(3 * n)
      const p = readCoords(cur, n, xnm, bad)
      if (p > 0) precision = p
      for (let k = 0; k < xnm.length; k++) xnm[k] = Math.fround(xnm[k]! * 10)
      decoded++
      if (keep && !keep(f, time)) continue
      frames.push(xnm)
      steps.push(step)
      times.push(time)
      boxes.push(...box)
    } catch (err) {
      if (!(err instanceof Truncated)) throw err
      if (f === 0) throw new UserError(`${file}: the file ends inside frame 1 (${bytes.length} bytes); no complete XTC frame`, 'parse')
      warnings.push(`${file}: the file ends inside frame ${f + 1} (byte ${frameStart}); read the ${f} complete frames before it`)
      break
    }
  }
  const out = new Float32Array(frames.length * 3 * nAtoms)
  frames.forEach((fr, i) => out.set(fr, i * 3 * nAtoms))
  return {
    nAtoms,
    nFrames: frames.length,
    frames: out,
    steps: Int32Array.from(steps),
    timesPs: Float32Array.from(times),
    boxesNm: Float32Array.from(boxes),
    precision,
    warnings,
    framesInFile: decoded,
  }
}

/** A whole XTC in memory (tests, small files, the browser): frames [nFrames, 3N] Å, frame f at step f, time f·dt. */
export function writeXtcBytes(frames: Float32Array, nFrames: number, opts: XtcWriterOptions & { frameIntervalPs?: number; boxNm?: ArrayLike<number> }): Uint8Array {
  const chunks: Uint8Array[] = []
  const enc = new XtcEncoder(opts.nAtoms, opts.precision ?? XTC_DEFAULT_PRECISION)
  const nm = new Float32Array(3 * opts.nAtoms)
  for (let f = 0; f < nFrames; f++) {
    for (let k = 0; k < nm.length; k++) nm[k] = frames[f * nm.length + k]! / 10
    chunks.push(enc.encode(nm, { step: f, timePs: f * (opts.frameIntervalPs ?? 0), ...(opts.boxNm ? { boxNm: opts.boxNm } : {}) }).slice())
  }
  const out = new Uint8Array(chunks.reduce((s, c) => s + c.length, 0))
  let o = 0
  for (const c of chunks) {
    out.set(c, o)
    o += c.length
  }
  return out
}
