/**
 * The app:// protocol: app://studio/<path> → a file under the built renderer folder, never outside
 * it, answered with COOP/COEP (cross-origin isolation) and the CSP header. Parsing a request never
 * throws: a malformed URL or escape, another host, a NUL byte or a path that leaves the folder is a
 * 4xx answer.
 * Plain module: no Electron import, unit-tested in Node.
 */
import path from 'node:path'
import { ISOLATION_HEADERS, mimeOf } from '../services/fs/mime'
import { RENDERER_CSP } from './csp'
import { APP_HOST, APP_SCHEME } from './navigation'

export type AppRequest = { file: string } | { status: 400 | 403 | 404; reason: string }

export function resolveAppRequest(url: string, rendererDir: string): AppRequest {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    return { status: 400, reason: 'malformed URL' }
  }
  if (u.protocol !== `${APP_SCHEME}:` || u.host !== APP_HOST) return { status: 404, reason: 'unknown host' }
  let rel: string
  try {
    rel = decodeURIComponent(u.pathname)
  } catch {
    return { status: 400, reason: 'malformed escape' }
  }
  if (rel.includes('\0')) return { status: 400, reason: 'NUL in path' }
  const root = path.resolve(rendererDir)
  const file = path.resolve(root, '.' + (rel === '/' || rel === '' ? '/index.html' : rel))
  if (!file.startsWith(root + path.sep)) return { status: 403, reason: 'outside the renderer' }
  return { file }
}

/** Headers of a file served by app://: isolation, CSP on documents, content type, no sniffing. */
export function appResponseHeaders(file: string): Record<string, string> {
  return {
    ...ISOLATION_HEADERS,
    'Content-Security-Policy': RENDERER_CSP,
    'X-Content-Type-Options': 'nosniff',
    'Content-Type': mimeOf(file),
  }
}
