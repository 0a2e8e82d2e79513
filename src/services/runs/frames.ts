/**
 * `frames.f32`: a run's frames as they arrive, time-major — row t holds all replicas of frame t,
 * [R·d] little-endian float32 — appended with fsync so a finished frame survives a crash or a
 * closed window. The frame count is the file size in whole rows: a row cut short by a crash is
 * not a frame, and the next append overwrites it.
 *
 * Appends are idempotent by frame index: re-sending frames that are already stored (a retry after
 * a lost reply) writes nothing; a batch that overlaps the stored end writes only its new tail; a
 * batch that would leave a gap is refused. Appends to one file are serialised within this process
 * and across processes (a `frames.f32.lock` file, fs/lock.ts), so two clients on one run never
 * overwrite each other's stored frames: the second sees them stored and writes only what is new.
 */
import { constants as fsc, promises as fs } from 'node:fs'
import { UserError } from '../../core/errors'
import { serialised, withFileLock } from '../fs/lock'
import { writeError } from '../fs/atomic'

export { serialised }

export interface AppendResult {
  /** frames stored after this call */
  framesStored: number
  /** frames of this batch actually written (0 for a repeat) */
  written: number
}

/** Whole frames stored in `file` (0 when it does not exist). */
export async function storedFrames(file: string, rowBytes: number): Promise<number> {
  try {
    const st = await fs.stat(file)
    return Math.floor(st.size / rowBytes)
  } catch {
    return 0
  }
}

/**
 * Appends frames [start, start+n) given as `bytes` (n whole rows). `maxFrames` bounds the file.
 * `label` names the run in error messages.
 */
export function appendFrames(file: string, rowBytes: number, start: number, bytes: Uint8Array, maxFrames: number, label: string): Promise<AppendResult> {
  return withFileLock(file, async () => {
    if (bytes.length % rowBytes !== 0) {
      throw new UserError(`${label}: a frame batch of ${bytes.length} bytes is not a whole number of ${rowBytes}-byte frames (replicas × atoms × 3 float32)`, 'bad-request')
    }
    const n = bytes.length / rowBytes
    if (!Number.isInteger(start) || start < 0) throw new UserError(`${label}: start must be a frame index ≥ 0 (got ${start})`, 'bad-request')
    if (start + n > maxFrames) throw new UserError(`${label}: frames ${start}…${start + n - 1} are beyond the ${maxFrames} frames this run was created for`, 'bad-request')
    // read-write, created when missing, never truncated on open (and not O_APPEND: writes go where we say)
    const fh = await fs.open(file, fsc.O_RDWR | fsc.O_CREAT)
    try {
      const size = (await fh.stat()).size
      const stored = Math.floor(size / rowBytes)
      if (start > stored) {
        throw new UserError(`${label}: frames must arrive in order: this batch starts at frame ${start} but only ${stored} are stored; resend from frame ${stored}`, 'out-of-order')
      }
      const skip = stored - start
      if (skip >= n) {
        if (size !== stored * rowBytes) await fh.truncate(stored * rowBytes)
        return { framesStored: stored, written: 0 }
      }
      // drop a torn row left by a crash, then write the new tail where it belongs
      if (size !== stored * rowBytes) await fh.truncate(stored * rowBytes)
      const tail = bytes.subarray(skip * rowBytes)
      try {
        let off = 0
        while (off < tail.length) {
          const { bytesWritten } = await fh.write(tail, off, tail.length - off, stored * rowBytes + off)
          off += bytesWritten
        }
        await fh.sync()
      } catch (err) {
        // a full disk mid-batch: cut back to the frames stored before it, so none is half there
        await fh.truncate(stored * rowBytes).catch(() => undefined)
        throw writeError(err, `${label}: ${file}`, `the ${stored} frames stored before are kept; resume the run when there is space`)
      }
      return { framesStored: stored + n - skip, written: n - skip }
    } finally {
      await fh.close()
    }
  }, { label: label })
}

/** Reads whole frames [start, start+count) (clipped to what is stored) as bytes. */
export async function readFrames(file: string, rowBytes: number, start = 0, count = Infinity): Promise<{ start: number; count: number; bytes: Uint8Array }> {
  const stored = await storedFrames(file, rowBytes)
  const s = Math.min(Math.max(0, start), stored)
  const c = Math.max(0, Math.min(count, stored - s))
  if (c === 0) return { start: s, count: 0, bytes: new Uint8Array(0) }
  const fh = await fs.open(file, 'r')
  try {
    const bytes = new Uint8Array(c * rowBytes)
    let off = 0
    while (off < bytes.length) {
      const { bytesRead } = await fh.read(bytes, off, bytes.length - off, s * rowBytes + off)
      if (bytesRead === 0) break
      off += bytesRead
    }
    return { start: s, count: Math.floor(off / rowBytes), bytes: bytes.subarray(0, Math.floor(off / rowBytes) * rowBytes) }
  } finally {
    await fh.close()
  }
}

/** Cuts the file to `frames` whole frames (and any torn row). */
export function truncateFrames(file: string, rowBytes: number, frames: number): Promise<void> {
  return withFileLock(file, async () => {
    try {
      await fs.truncate(file, frames * rowBytes)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    }
  })
}
