/**
 * Streams one PDB file (plain or gzip) from disk through PdbStreamParser: 1 MiB reads, so memory
 * holds one chunk, one model and whatever the frame callback keeps, whatever the file size.
 * Hashes the bytes on disk (sha256), reports progress, honours an AbortSignal and a size limit.
 */
import { createReadStream, promises as fs } from 'node:fs'
import { createHash } from 'node:crypto'
import { UserError } from '../../core/errors'
import { PdbStreamParser, type PdbFrameCallback, type PdbParseResult } from '../../core/formats/pdb'
import { GunzipStream, isGzip } from '../../core/formats/gzip'
import { expectFormat, sniffBytes } from '../../core/formats/detect'

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
