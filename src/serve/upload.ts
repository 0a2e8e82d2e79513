/**
 * POST /api/upload?name=FILE: streams a dropped file into its own folder in the session's upload
 * area, counting the bytes as they arrive. Past the limit (whatever Content-Length said, chunked or
 * not) it stops, deletes what it wrote and answers 413; a client that disconnects mid-way leaves
 * nothing behind either.
 */
import type http from 'node:http'
import { createWriteStream, promises as fs } from 'node:fs'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { HttpError } from './http'

/** The file name an upload is stored under: the base name the user knows, never a path or hidden file. */
export function uploadName(raw: string | null): string {
  const name = path.basename((raw ?? '').replace(/\\/g, '/'))
  if (!name || name.startsWith('.') || name.length > 255 || [...name].some((c) => c.charCodeAt(0) < 0x20)) {
    throw new HttpError(400, 'bad-request', 'upload: ?name= must be a file name (not empty, not starting with ".")')
  }
  return name
}

function tooLarge(name: string, limit: number): HttpError {
  return new HttpError(413, 'too-large', `${name}: the file is larger than the ${limit}-byte upload limit; import it with \`diffmd dataset import\` instead`)
}

/**
 * Copies the request body to `target` (created, never overwritten), at most `limit` bytes.
 * Resolves to the byte count; rejects with HttpError 413 past the limit.
 */
async function streamTo(req: http.IncomingMessage, target: string, limit: number, name: string): Promise<number> {
  const out = createWriteStream(target, { flags: 'wx', mode: 0o600 })
  let bytes = 0
  const outcome = await new Promise<Error | undefined>((resolve) => {
    const finish = (err?: Error): void => {
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('error', onError)
      req.off('close', onClose)
      out.off('error', onError)
      resolve(err)
    }
    const onData = (chunk: Buffer): void => {
      bytes += chunk.length
      if (bytes > limit) {
        finish(tooLarge(name, limit))
        return
      }
      if (!out.write(chunk)) {
        req.pause()
        out.once('drain', () => req.resume())
      }
    }
    const onEnd = (): void => finish()
    const onError = (err: Error): void => finish(err)
    const onClose = (): void => {
      if (!req.complete) finish(new HttpError(400, 'aborted', `${name}: the upload was interrupted`))
    }
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('error', onError)
    req.on('close', onClose)
    out.on('error', onError)
  })
  await new Promise<void>((resolve) => out.end(() => resolve()))
  if (outcome) throw outcome
  return bytes
}

export async function receiveUpload(req: http.IncomingMessage, uploadDir: string, rawName: string | null, limit: number): Promise<{ path: string; name: string; bytes: number }> {
  const name = uploadName(rawName)
  const declared = Number(req.headers['content-length'] ?? NaN)
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(name, limit)
  // each upload gets its own folder so the file keeps the name the user knows (datasets record it)
  const folder = path.join(uploadDir, randomBytes(6).toString('hex'))
  await fs.mkdir(folder, { recursive: true, mode: 0o700 })
  const target = path.join(folder, name)
  try {
    const bytes = await streamTo(req, target, limit, name)
    return { path: target, name, bytes }
  } catch (err) {
    await fs.rm(folder, { recursive: true, force: true })
    if ((err as NodeJS.ErrnoException).code === 'ENOSPC') throw new HttpError(507, 'disk-full', `${name}: the disk is full; free some space and drop the file again`)
    throw err
  }
}
