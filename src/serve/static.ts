/**
 * GET /… : the built renderer (out/renderer), never a file outside it, with COOP/COEP so the page is
 * cross-origin isolated (SharedArrayBuffer, threaded WASM) and a Content-Security-Policy header.
 */
import type http from 'node:http'
import { createReadStream, promises as fs } from 'node:fs'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import { mimeOf } from '../services/fs/mime'
import { SECURITY_HEADERS } from './http'
import { RENDERER_CSP } from '../main/csp'

/** The file under `root` that a URL path names, or undefined when it would leave `root` or is malformed. */
export function resolveStatic(root: string, pathname: string): string | undefined {
  let rel: string
  try {
    rel = decodeURIComponent(pathname)
  } catch {
    return undefined
  }
  if (rel.includes('\0')) return undefined
  if (rel === '/' || rel === '') rel = '/index.html'
  const base = path.resolve(root)
  const file = path.resolve(base, '.' + rel)
  return file.startsWith(base + path.sep) ? file : undefined
}

export async function serveStatic(req: http.IncomingMessage, res: http.ServerResponse, rendererDir: string, pathname: string): Promise<void> {
  const file = resolveStatic(rendererDir, pathname)
  if (!file) {
    res.writeHead(403, SECURITY_HEADERS)
    res.end()
    return
  }
  const stat = await fs.stat(file).catch(() => undefined)
  if (!stat?.isFile()) {
    res.writeHead(404, { ...SECURITY_HEADERS, 'Content-Type': 'text/plain' })
    res.end(file === path.resolve(rendererDir, 'index.html') ? 'The renderer is not built: run `npm run build` (npm run serve does it for you).' : 'not found')
    return
  }
  res.writeHead(200, {
    ...SECURITY_HEADERS,
    ...(file.endsWith('.html') ? { 'Content-Security-Policy': RENDERER_CSP } : {}),
    'Content-Type': mimeOf(file),
    'Content-Length': stat.size,
    'Cache-Control': 'no-cache',
  })
  if (req.method === 'HEAD') {
    res.end()
    return
  }
  await pipeline(createReadStream(file), res)
}
