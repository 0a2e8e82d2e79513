/**
 * gzip in pure TypeScript (fflate), for the renderer, workers and Node alike. Multi-member gzip
 * files (concatenated .gz, bgzip) are decompressed whole.
 */
import { Gunzip } from 'fflate'
import { UserError } from '../errors'

/** true when the bytes start with the gzip magic number 1f 8b */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b
}

/**
 * Decompresses a whole gzip buffer, every member of a multi-member file (`cat a.gz b.gz`, bgzip);
 * a corrupt or truncated stream is a UserError naming the file. Output over `maxBytes` is refused as
 * soon as it is passed, so a decompression bomb never fills memory.
 */
export function gunzipBytes(bytes: Uint8Array, file: string, maxBytes = Infinity): Uint8Array {
  if (!isGzip(bytes)) throw new UserError(`${file}: not gzip data (missing the 1f 8b magic number)`, 'parse')
  const parts: Uint8Array[] = []
  let size = 0
  const stream = new GunzipStream(file, (c) => {
    size += c.length
    if (size > maxBytes) throw new UserError(`${file}: decompresses to more than ${maxBytes} bytes, over the import limit per file; split it and import the parts together`, 'too-large')
    parts.push(c)
  })
  stream.push(bytes)
  stream.end()
  if (parts.length === 1) return parts[0]!
  const out = new Uint8Array(size)
  let o = 0
  for (const p of parts) {
    out.set(p, o)
    o += p.length
  }
  return out
}

/** gunzips when the magic number is there, otherwise returns the bytes unchanged */
export function maybeGunzip(bytes: Uint8Array, file: string): Uint8Array {
  return isGzip(bytes) ? gunzipBytes(bytes, file) : bytes
}

/**
 * Streaming gunzip: push compressed chunks, receive decompressed chunks through `onData`.
 * end() throws a UserError when the stream stops before the gzip trailer.
 */
export class GunzipStream {
  private readonly inner: Gunzip
  private failed: Error | undefined

  constructor(
    private readonly file: string,
    onData: (chunk: Uint8Array) => void
  ) {
    this.inner = new Gunzip((chunk) => {
      if (chunk.length > 0) onData(chunk)
    })
  }

  push(chunk: Uint8Array): void {
    this.run(() => this.inner.push(chunk, false))
  }

  end(): void {
    this.run(() => this.inner.push(new Uint8Array(0), true))
  }

  private run(fn: () => void): void {
    if (this.failed) throw this.failed
    try {
      fn()
    } catch (err) {
      // a problem of the decompressed content (raised by onData) is that content's problem, not gzip's
      if (err instanceof UserError) {
        this.failed = err
        throw err
      }
      this.failed = new UserError(`${this.file}: gzip data is corrupt or truncated (${(err as Error).message})`, 'parse')
      throw this.failed
    }
  }
}
