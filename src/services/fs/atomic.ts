import { promises as fs } from 'node:fs'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { UserError } from '../../core/errors'

/** the disk (or the user's quota) is full */
export function isDiskFull(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code
  return code === 'ENOSPC' || code === 'EDQUOT'
}

/**
 * A failed write as a one-line UserError naming the file: a full disk says so and what to do;
 * other errors carry their code. `kept` says what stayed as it was (e.g. "project.json is unchanged").
 */
export function writeError(err: unknown, file: string, kept: string): UserError {
  if (err instanceof UserError) return err
  const e = err as NodeJS.ErrnoException
  if (isDiskFull(err)) return new UserError(`${file}: the disk is full (${e.code}); free some space and try again (${kept})`, 'disk-full')
  return new UserError(`${file}: could not write (${e.code ?? e.message?.split('\n')[0] ?? String(err)}); ${kept}`, 'io')
}

/**
 * Writes a file so that readers see either the old content or the new, never a half-written one:
 * write to a temporary sibling, fsync, rename into place. On any failure (a full disk) the
 * temporary file is removed and the old file stays as it was; the error is a one-line UserError.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const dir = path.dirname(file)
  const tmp = path.join(dir, `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`)
  try {
    await fs.mkdir(dir, { recursive: true })
    const handle = await fs.open(tmp, 'w')
    try {
      await handle.writeFile(data)
      await handle.sync()
    } finally {
      await handle.close()
    }
    await fs.rename(tmp, file)
  } catch (err) {
    await fs.rm(tmp, { force: true }).catch(() => undefined)
    throw writeError(err, file, `${path.basename(file)} is unchanged`)
  }
}

export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  await writeFileAtomic(file, JSON.stringify(value, null, 2) + '\n')
}
