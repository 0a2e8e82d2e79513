/**
 * GROMACS TRR trajectories (XDR, big-endian; single or double precision): per frame the magic 1993,
 * the version string "GMX_trn_file", the block sizes (ir, e, box, vir, pres, top, sym, x, v, f),
 * natoms, step, nre, time and lambda, then the blocks. Positions (nm) are converted to Å; velocities
 * and forces are skipped; frames that hold no positions are skipped with a warning. A file cut off
 * inside a frame keeps the complete frames before it, with a warning. See docs/formats.md.
 */
import { UserError } from '../errors'

export const TRR_MAGIC = 1993

export interface TrrReadResult {
  nAtoms: number
  nFrames: number
  /** [nFrames, 3N] Å */
  frames: Float32Array
  steps: Int32Array
  timesPs: Float64Array
  /** [nFrames, 9] nm (zeros when the frame has no box) */
  boxesNm: Float32Array
  doublePrecision: boolean
  warnings: string[]
  /** frames with positions in the file (nFrames counts those kept when readTrr was given `keep`) */
  framesInFile: number
}

class Truncated extends Error {}

export function readTrr(bytes: Uint8Array, file: string, keep?: (index: number, timePs: number) => boolean): TrrReadResult {
  if (bytes.length === 0) throw new UserError(`${file}: the file is empty; expected a TRR trajectory`, 'parse')
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let pos = 0
  const int = (): number => {
    if (pos + 4 > bytes.length) throw new Truncated()
    const v = dv.getInt32(pos)
    pos += 4
    return v
  }
  const frames: Float32Array[] = []
  const steps: number[] = []
  const times: number[] = []
  const boxes: number[] = []
  const warnings: string[] = []
  let nAtoms = -1
  let dbl = false
  let skipped = 0
  let index = 0
  // frames with positions decoded so far; with `keep` only the kept ones are stored
  let decoded = 0
  while (pos < bytes.length) {
    const start = pos
    index++
    const bad = (msg: string): never => {
      throw new UserError(`${file}: frame ${index} (byte ${start}): ${msg}; the file is not a valid TRR`, 'parse')
    }
    try {
      const magic = int()
      if (magic !== TRR_MAGIC) {
        if (index === 1) throw new UserError(`${file}: expected the TRR magic number 1993 at byte 0, found ${magic}; not a TRR file`, 'parse')
        bad(`expected the magic number 1993, found ${magic}`)
      }
      const slen = int()
      const len = int()
      if (slen !== len + 1 || len < 0 || len > 128) bad(`the version string lengths ${slen}/${len} are not those of "GMX_trn_file"`)
      pos += (len + 3) & ~3
      const sizes = Array.from({ length: 10 }, int)
      const [irSize, eSize, boxSize, virSize, presSize, topSize, symSize, xSize, vSize, fSize] = sizes as [number, number, number, number, number, number, number, number, number, number]
      if (sizes.some((s) => s < 0)) bad('a negative block size')
      const natoms = int()
      const step = int()
      int() // nre
      if (natoms < 1) bad(`the atom count ${natoms} is not positive`)
      let real = 0
      if (boxSize) real = boxSize / 9
      else if (xSize) real = xSize / (3 * natoms)
      else if (vSize) real = vSize / (3 * natoms)
      else if (fSize) real = fSize / (3 * natoms)
      if (real !== 4 && real !== 8) bad(`block sizes (box ${boxSize}, x ${xSize}) fit neither single nor double precision for ${natoms} atoms`)
      for (const [name, s] of [['x', xSize], ['v', vSize], ['f', fSize]] as const) if (s !== 0 && s !== 3 * natoms * real) bad(`the ${name} block is ${s} bytes, expected ${3 * natoms * real}`)
      dbl = real === 8
      const readReal = (): number => {
        if (pos + real > bytes.length) throw new Truncated()
        const v = real === 8 ? dv.getFloat64(pos) : dv.getFloat32(pos)
        pos += real
        return v
      }
      const time = readReal()
      readReal() // lambda
      const box = new Array<number>(9).fill(0)
      if (boxSize) for (let k = 0; k < 9; k++) box[k] = readReal()
      pos += irSize + eSize + virSize + presSize + topSize + symSize
      if (xSize === 0) {
        pos += vSize + fSize
        if (pos > bytes.length) throw new Truncated()
        skipped++
        continue
      }
      if (nAtoms < 0) nAtoms = natoms
      else if (natoms !== nAtoms) bad(`${natoms} atoms, but the first frame has ${nAtoms}; all frames must have the same atoms`)
      if (pos + xSize + vSize + fSize > bytes.length) throw new Truncated()
      const x = new Float32Array(3 * natoms)
      for (let k = 0; k < 3 * natoms; k++) {
        x[k] = Math.fround(readReal() * 10)
        if (!Number.isFinite(x[k]!)) bad(`atom ${Math.floor(k / 3) + 1} has a non-finite or out-of-range ${'xyz'[k % 3]} coordinate`)
      }
      pos += vSize + fSize
      if (keep && !keep(decoded++, time)) continue
      if (!keep) decoded++
      frames.push(x)
      steps.push(step)
      times.push(time)
      boxes.push(...box)
    } catch (err) {
      if (!(err instanceof Truncated)) throw err
      if (decoded === 0) throw new UserError(`${file}: the file ends inside frame ${index} (${bytes.length} bytes); no complete TRR frame with positions`, 'parse')
      warnings.push(`${file}: the file ends inside frame ${index} (byte ${start}); read the ${decoded} complete frames before it`)
      break
    }
  }
  if (decoded === 0) throw new UserError(`${file}: none of its ${index} frames holds positions (only velocities or forces); nothing to import`, 'parse')
  if (skipped > 0) warnings.push(`${file}: ${skipped} frame(s) without positions (velocities or forces only) skipped`)
  const out = new Float32Array(frames.length * 3 * nAtoms)
  frames.forEach((f, i) => out.set(f, i * 3 * nAtoms))
  return { nAtoms, nFrames: frames.length, frames: out, steps: Int32Array.from(steps), timesPs: Float64Array.from(times), boxesNm: Float32Array.from(boxes), doublePrecision: dbl, warnings, framesInFile: decoded }
}

/** writes frames [nFrames, 3N] Å as a single-precision TRR with positions and a box; for round-trip tests */
export function writeTrrBytes(frames: Float32Array, nFrames: number, nAtoms: number, opts: { frameIntervalPs?: number; boxNm?: ArrayLike<number>; double?: boolean } = {}): Uint8Array {
  const real = opts.double ? 8 : 4
  const version = 'GMX_trn_file'
  const frameBytes = 4 * 3 + 12 + 13 * 4 + 2 * real + 9 * real + 3 * nAtoms * real
  const out = new Uint8Array(frameBytes * nFrames)
  const dv = new DataView(out.buffer)
  let p = 0
  const int = (v: number): void => {
    dv.setInt32(p, v)
    p += 4
  }
  const r = (v: number): void => {
    if (real === 8) dv.setFloat64(p, v)
    else dv.setFloat32(p, v)
    p += real
  }
  for (let f = 0; f < nFrames; f++) {
    int(TRR_MAGIC)
    int(version.length + 1)
    int(version.length)
    for (let k = 0; k < 12; k++) out[p++] = version.charCodeAt(k)
    for (const s of [0, 0, 9 * real, 0, 0, 0, 0, 3 * nAtoms * real, 0, 0]) int(s)
    int(nAtoms)
    int(f)
    int(0)
    r(f * (opts.frameIntervalPs ?? 1))
    r(0)
    for (let k = 0; k < 9; k++) r(opts.boxNm?.[k] ?? 0)
    for (let k = 0; k < 3 * nAtoms; k++) r(frames[f * 3 * nAtoms + k]! / 10)
  }
  return out
}
