/**
 * Browser mode: the same services as the Electron app, over HTTP on 127.0.0.1 with a per-launch token.
 *   POST /api/<method>    JSON body → JSON response; needs `Authorization: Bearer TOKEN` (401 otherwise)
 *   GET  /api/events      server-sent events of service progress; token as `?token=` (EventSource can't set headers)
 *   POST /api/upload?name=FILE   streams a dropped file into the session's upload folder → { path }
 *   GET  /…               the built renderer (out/renderer), with COOP/COEP for SharedArrayBuffer / threaded WASM
 */
import http from 'node:http'
import { createReadStream, createWriteStream, promises as fs } from 'node:fs'
import path from 'node:path'
import { randomBytes, timingSafeEqual } from 'node:crypto'
import { pipeline } from 'node:stream/promises'
import { fileURLToPath } from 'node:url'
import { dispatch } from '../services/dispatch'
import { EventHub, type ServiceContext } from '../services/context'
import { UserError } from '../core/errors'
import { ensureExamplesProject } from '../services/project/examples'
import { ISOLATION_HEADERS, mimeOf } from '../services/fs/mime'

export interface ServerOptions {
  home: string
  port?: number
  token?: string
  rendererDir: string
  resourcesDir: string
  /** largest accepted upload in bytes (default 4 GiB) */
  maxUploadBytes?: number
}

export interface RunningServer {
  url: string
  port: number
  token: string
  close(): Promise<void>
}


const SECURITY_HEADERS: Record<string, string> = {
  ...ISOLATION_HEADERS,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
}

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': 'application/json', 'Cache-Control': 'no-store' })
  res.end(text)
}

async function readBody(req: http.IncomingMessage, limit = 64 * 1024 * 1024): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > limit) throw new UserError(`request body larger than ${limit} bytes`, 'too-large')
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks).toString('utf8')
}

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const token = opts.token ?? randomBytes(24).toString('base64url')
  const hub = new EventHub()
  const ctx: ServiceContext = { home: opts.home, transport: 'http', resourcesDir: opts.resourcesDir, emit: hub.emit }
  const uploadDir = path.join(opts.home, '.uploads', randomBytes(6).toString('hex'))
  const maxUpload = opts.maxUploadBytes ?? 4 * 1024 ** 3
  const sse = new Set<http.ServerResponse>()
  await fs.mkdir(opts.home, { recursive: true })
  await ensureExamplesProject(ctx)

  const authorised = (req: http.IncomingMessage, url: URL): boolean => {
    const h = req.headers.authorization
    if (h?.startsWith('Bearer ') && sameToken(h.slice(7), token)) return true
    const q = url.searchParams.get('token')
    return q !== null && sameToken(q, token)
  }

  const server = http.createServer((req, res) => {
    void handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: { code: 'internal', message: (err as Error).message } })
      else res.end()
    })
  })

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    if (url.pathname.startsWith('/api/')) {
      if (!authorised(req, url)) {
        sendJson(res, 401, { error: { code: 'unauthorized', message: 'missing or wrong token: open the URL that `npm run serve` printed' } })
        return
      }
      const method = url.pathname.slice(5)
      if (method === 'events' && req.method === 'GET') {
        res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive' })
        res.write(': connected\n\n')
        sse.add(res)
        const off = hub.subscribe((e) => res.write(`data: ${JSON.stringify(e)}\n\n`))
        req.on('close', () => {
          off()
          sse.delete(res)
        })
        return
      }
      if (req.method !== 'POST') {
        sendJson(res, 405, { error: { code: 'method', message: `use POST /api/${method}` } })
        return
      }
      if (method === 'upload') {
        const name = path.basename(url.searchParams.get('name') ?? '')
        if (!name || name.startsWith('.')) {
          sendJson(res, 400, { error: { code: 'bad-request', message: 'upload: ?name= must be a file name' } })
          return
        }
        const declared = Number(req.headers['content-length'] ?? 0)
        if (declared > maxUpload) {
          sendJson(res, 413, { error: { code: 'too-large', message: `${name}: ${declared} bytes is over the ${maxUpload}-byte upload limit; import it with \`diffmd dataset import\` instead` } })
          return
        }
        // each upload gets its own folder so the file keeps the name the user knows (datasets record it)
        const folder = path.join(uploadDir, randomBytes(6).toString('hex'))
        await fs.mkdir(folder, { recursive: true })
        const target = path.join(folder, name)
        await pipeline(req, createWriteStream(target))
        sendJson(res, 200, { path: target, name })
        return
      }
      let input: unknown
      try {
        const text = await readBody(req)
        input = text ? JSON.parse(text) : {}
      } catch (err) {
        sendJson(res, 400, { error: { code: 'bad-request', message: `${method}: request body is not JSON (${(err as Error).message})` } })
        return
      }
      try {
        const result = await dispatch(ctx, method, input)
        sendJson(res, 200, { result })
      } catch (err) {
        if (err instanceof UserError) {
          sendJson(res, err.code === 'unknown-method' ? 404 : 400, { error: { code: err.code, message: err.message } })
        } else {
          sendJson(res, 500, { error: { code: 'internal', message: `${method}: ${(err as Error).message}` } })
        }
      }
      return
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, SECURITY_HEADERS)
      res.end()
      return
    }
    // static renderer files
    let rel = decodeURIComponent(url.pathname)
    if (rel === '/' || rel === '') rel = '/index.html'
    const file = path.resolve(opts.rendererDir, '.' + rel)
    if (!file.startsWith(path.resolve(opts.rendererDir) + path.sep)) {
      res.writeHead(403, SECURITY_HEADERS)
      res.end()
      return
    }
    let stat
    try {
      stat = await fs.stat(file)
    } catch {
      stat = undefined
    }
    if (!stat?.isFile()) {
      res.writeHead(404, { ...SECURITY_HEADERS, 'Content-Type': 'text/plain' })
      res.end(rel === '/index.html' ? 'The renderer is not built: run `npm run build` (npm run serve does it for you).' : 'not found')
      return
    }
    res.writeHead(200, {
      ...SECURITY_HEADERS,
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

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve())
  })
  const addr = server.address()
  const port = typeof addr === 'object' && addr ? addr.port : 0
  return {
    url: `http://127.0.0.1:${port}/?token=${token}`,
    port,
    token,
    close: async () => {
      for (const r of sse) r.end()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await fs.rm(uploadDir, { recursive: true, force: true })
    },
  }
}

/** Default home for projects: $DIFFMD_HOME, else ~/DiffMD. */
export function defaultHome(): string {
  return process.env.DIFFMD_HOME ?? path.join(process.env.HOME ?? process.cwd(), 'DiffMD')
}

async function cli(argv: string[]): Promise<void> {
  const { parseArgs } = await import('../cli/args')
  const { flags } = parseArgs('serve', argv, { port: 'int', open: 'boolean', home: 'string', token: 'string' })
  const here = path.dirname(fileURLToPath(import.meta.url))
  const root = path.resolve(here, '..', '..')
  const port = flags.port as number | undefined
  if (port !== undefined && (port < 0 || port > 65535)) throw new UserError(`serve: --port must be 0…65535 (got ${port})`, 'bad-flag')
  const server = await startServer({
    home: (flags.home as string | undefined) ?? defaultHome(),
    port: port ?? 0,
    token: flags.token as string | undefined,
    rendererDir: path.join(root, 'out', 'renderer'),
    resourcesDir: path.join(root, 'resources'),
  })
  process.stdout.write(`DiffMD Studio at ${server.url}\n`)
  if (flags.open !== false) {
    const { openBrowser } = await import('./open-browser')
    openBrowser(server.url)
  }
  let closing = false
  const shutdown = (): void => {
    if (closing) return
    closing = true
    process.stdout.write('DiffMD Studio: shutting down\n')
    void server.close().then(() => process.exit(0))
  }
  process.on('SIGINT', shutdown)
  process.on('SIGTERM', shutdown)
}

const entry = process.argv[1] ? path.resolve(process.argv[1]) : ''
if (entry && fileURLToPath(import.meta.url) === entry) {
  cli(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`diffmd serve: ${err instanceof UserError ? err.message : ((err as Error).stack ?? String(err))}\n`)
    process.exit(2)
  })
}
