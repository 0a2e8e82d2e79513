/**
 * An output file written through a temporary sibling and renamed into place only on commit(), so
 * several files (e.g. a DCD, its topology PDB and the provenance sidecar) appear together or not
 * at all. Text is buffered (1 MiB) and written through the file handle as it comes, so a large
 * export never holds the whole file in memory. Implements the core DCD ByteSink.
 */
import { constants as fsConstants, promises as fs } from 'node:fs'
import type { FileHandle } from 'node:fs/promises'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import type { ByteSink } from '../../core/formats/dcd'

const FLUSH_CHARS = 1 << 20

export class AtomicOutput implements ByteSink {
  private handle: FileHandle | undefined
  private pending: string[] = []
  private pendingChars = 0
  private position = 0
  private closed = false
  private committed = false
  readonly tmp: string

  private constructor(readonly file: string) {
    this.tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`)
  }

  static async open(file: string): Promise<AtomicOutput> {
    const out = new AtomicOutput(file)
    await fs.mkdir(path.dirname(file), { recursive: true })
    out.handle = await fs.open(out.tmp, 'wx')
    return out
  }

  /** appends text (latin1/ASCII) through the buffer */
  async text(s: string): Promise<void> {
    this.pending.push(s)
    this.pendingChars += s.length
    if (this.pendingChars >= FLUSH_CHARS) await this.flush()
  }

  private async flush(): Promise<void> {
    if (this.pendingChars === 0) return
    const buf = Buffer.from(this.pending.join(''), 'utf8')
    this.pending = []
    this.pendingChars = 0
    await this.writeRaw(buf, this.position)
    this.position += buf.length
  }

  private async writeRaw(bytes: Uint8Array, at: number): Promise<void> {
    let done = 0
    while (done < bytes.length) {
      const { bytesWritten } = await this.handle!.write(bytes, done, bytes.length - done, at + done)
      done += bytesWritten
    }
  }

  async write(bytes: Uint8Array): Promise<void> {
    await this.flush()
    await this.writeRaw(bytes, this.position)
    this.position += bytes.length
  }

  async writeAt(position: number, bytes: Uint8Array): Promise<void> {
    await this.flush()
    await this.writeRaw(bytes, position)
  }

  /** flushes, syncs and closes the temporary file (still under its temporary name) */
  async finish(): Promise<void> {
    await this.flush()
    await this.handle!.sync()
    await this.handle!.close()
    this.closed = true
  }

  /**
   * moves the finished temporary file into place; with noClobber an existing file is never
   * replaced (EEXIST is thrown instead): a hard link, or an exclusive copy where links are refused
   */
  async commit(opts: { noClobber?: boolean } = {}): Promise<void> {
    if (!this.closed) await this.finish()
    if (!opts.noClobber) {
      await fs.rename(this.tmp, this.file)
    } else {
      try {
        await fs.link(this.tmp, this.file)
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code
        if (code === 'EEXIST') throw err
        await fs.copyFile(this.tmp, this.file, fsConstants.COPYFILE_EXCL)
      }
      await fs.rm(this.tmp, { force: true })
    }
    this.committed = true
  }

  /** removes a file this output placed (when a later file of its set could not be placed); never throws */
  async uncommit(): Promise<void> {
    if (this.committed) await fs.rm(this.file, { force: true }).catch(() => {})
    this.committed = false
  }

  /** closes and removes the temporary file; never throws */
  async abort(): Promise<void> {
    if (this.committed) return
    if (!this.closed) {
      this.closed = true
      await this.handle?.close().catch(() => {})
    }
    await fs.rm(this.tmp, { force: true }).catch(() => {})
  }
}
