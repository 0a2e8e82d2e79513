/**
 * Small HTTP helpers of browser mode: the headers every answer carries, JSON answers, errors that
 * carry their HTTP status, bounded body reading, and internal errors that are logged with an id
 * and answered without paths or raw messages.
 */
import type http from 'node:http'
import { randomBytes } from 'node:crypto'
import { ISOLATION_HEADERS } from '../services/fs/mime'

export const SECURITY_HEADERS: Record<string, string> = {
  ...ISOLATION_HEADERS,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
}

/** An error answered with its own HTTP status and a one-line message. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {}
  ) {
    super(message)
    this.name = 'HttpError'
  }
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...headers })
  res.end(text)
}

export function sendError(res: http.ServerResponse, err: HttpError): void {
  // a refused body may still be arriving: close the connection rather than read the rest of it
  const close: Record<string, string> = err.status === 413 ? { Connection: 'close' } : {}
  sendJson(res, err.status, { error: { code: err.code, message: err.message } }, { ...close, ...err.headers })
}

/**
 * Reads a request body of at most `limit` bytes. A declared Content-Length over the limit is refused
 * before reading; a chunked body is counted as it arrives and refused (413) as soon as it passes the limit.
 */
export async function readBody(req: http.IncomingMessage, limit: number, what: string): Promise<Buffer> {
  const tooLarge = (): HttpError => new HttpError(413, 'too-large', `${what}: the request body is larger than ${limit} bytes`)
  const declared = Number(req.headers['content-length'] ?? NaN)
  if (Number.isFinite(declared) && declared > limit) throw tooLarge()
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const done = (err?: Error): void => {
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('error', onError)
      if (err) reject(err)
      else resolve(Buffer.concat(chunks))
    }
    const onData = (chunk: Buffer): void => {
      size += chunk.length
      if (size > limit) done(tooLarge())
      else chunks.push(chunk)
    }
    const onEnd = (): void => done()
    const onError = (err: Error): void => done(err)
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('error', onError)
  })
}

/** Reads a JSON request body: 413 when too large, 400 when not JSON (without echoing the body). */
export async function readJsonBody(req: http.IncomingMessage, limit: number, what: string): Promise<unknown> {
  const text = (await readBody(req, limit, what)).toString('utf8')
  if (!text) return {}
  try {
    return JSON.parse(text) as unknown
  } catch {
    throw new HttpError(400, 'bad-request', `${what}: the request body is not JSON`)
  }
}

export interface InternalErrorLog {
  (line: string): void
}

/**
 * An unexpected error: logged in full (stack, paths) with a short id, answered as a generic message
 * naming that id, so the user can find it in the server's output and nothing internal leaves the process.
 */
export function internalError(err: unknown, where: string, log: InternalErrorLog): HttpError {
  const id = randomBytes(4).toString('hex')
  const detail = err instanceof Error ? (err.stack ?? err.message) : String(err)
  log(`diffmd serve: internal error ${id} in ${where}: ${detail}`)
  return new HttpError(500, 'internal', `${where}: internal error (reference ${id}); the terminal running DiffMD Studio has the details`)
}
