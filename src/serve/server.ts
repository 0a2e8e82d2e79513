/**
 * Browser mode: the same services as the Electron app, over HTTP on 127.0.0.1 with a per-launch token.
 *   GET  /?token=CODE     exchanges a single-use login code for a session cookie and redirects to / (src/serve/auth.ts)
 *   POST /auth            the same exchange from a form field (the launch page that opens Chromium)
 *   POST /api/login-url   a fresh single-use login URL (for a script that opens a browser)
 *   POST /api/<method>    JSON body → JSON response; `Authorization: Bearer TOKEN` or the session cookie (401 otherwise)
 *   GET  /api/events      server-sent events of service progress (same authorisation)
 *   POST /api/upload?name=FILE   streams a dropped file into the session's upload folder → { path }
 *   GET  /…               the built renderer (out/renderer), with COOP/COEP and a CSP header
 * Every request must name the loopback address and port in `Host` (421 otherwise); at most
 * `maxConcurrent` API requests run at once (503 beyond); unexpected errors are answered with an id,
 * never with paths or internal messages (the details go to stderr).
 */
import http from 'node:http'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { dispatch } from '../services/dispatch'
import { EventHub, type ServiceContext } from '../services/context'
import { UserError } from '../core/errors'
import { ensureExamplesProject } from '../services/project/examples'
import { HttpError, internalError, readBody, readJsonBody, sendError, sendJson, SECURITY_HEADERS } from './http'
import { createAuth, exchangeRedirect, hostAllowed, type Auth } from './auth'
import { receiveUpload } from './upload'
import { serveStatic } from './static'
import { concurrencyLimit, type ConcurrencyLimit } from './limit'
import { writeLaunchPage, type LaunchPage } from './launch'

export interface ServerOptions {
  home: string
  port?: number
  token?: string
  rendererDir: string
  resourcesDir: string
  /** largest accepted upload in bytes (default 4 GiB) */
  maxUploadBytes?: number
  /** largest accepted JSON request body in bytes (default 64 MiB: run.appendFrames carries frames) */
  maxJsonBytes?: number
  /** API requests in flight at once; more are answered 503 (default 64) */
  maxConcurrent?: number
  /** open /api/events streams at once (long-lived, so not counted in maxConcurrent); more are answered 503 (default 16) */
  maxEventStreams?: number
  /** where internal errors are logged in full (default stderr) */
  log?: (line: string) => void
  /** called after each browser login (the CLI prints a fresh login URL for the next browser) */
  onLogin?: () => void
}

export interface RunningServer {
  /** the URL to open, once: it carries a single-use login code, which the server exchanges for a cookie */
  url: string
  /** a fresh single-use login URL */
  loginUrl(): string
  origin: string
  port: number
  token: string
  /** a private file that logs a browser in without the token on its command line (src/serve/launch.ts) */
  launchPage(): Promise<LaunchPage>
  close(): Promise<void>
}

interface Session {
  ctx: ServiceContext
  hub: EventHub
  uploadDir: string
  sse: Set<http.ServerResponse>
}

interface Settings {
  rendererDir: string
  maxEventStreams: number
  maxUpload: number
  maxJson: number
  log: (line: string) => void
  onLogin?: () => void
}

/** Step 1: the service context of this launch (home, examples project, upload folder). */
async function openSession(opts: ServerOptions): Promise<Session> {
  const hub = new EventHub()
  const ctx: ServiceContext = { home: opts.home, transport: 'http', resourcesDir: opts.resourcesDir, emit: hub.emit }
  await fs.mkdir(opts.home, { recursive: true })
  await ensureExamplesProject(ctx)
  return { ctx, hub, uploadDir: path.join(opts.home, '.uploads', randomBytes(6).toString('hex')), sse: new Set() }
}

/** Step 2: listen on 127.0.0.1 (port 0: any free port). */
async function listen(server: http.Server, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  const addr = server.address()
  return typeof addr === 'object' && addr ? addr.port : 0
}

function subscribeEvents(req: http.IncomingMessage, res: http.ServerResponse, session: Session, max: number): void {
  if (session.sse.size >= max) throw new HttpError(503, 'busy', `events: ${max} event streams are open already; close a tab`, { 'Retry-After': '5' })
  res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive' })
  res.write(': connected\n\n')
  session.sse.add(res)
  const off = session.hub.subscribe((e) => res.write(`data: ${JSON.stringify(e)}\n\n`))
  req.on('close', () => {
    off()
    session.sse.delete(res)
  })
}

/** One API call through the services: UserErrors are 400 (404 for an unknown method), anything else is internal. */
async function callService(req: http.IncomingMessage, res: http.ServerResponse, method: string, session: Session, settings: Settings): Promise<void> {
  const input = await readJsonBody(req, settings.maxJson, method)
  try {
    sendJson(res, 200, { result: await dispatch(session.ctx, method, input) })
  } catch (err) {
    if (err instanceof UserError) throw new HttpError(err.code === 'unknown-method' ? 404 : 400, err.code, err.message)
    throw internalError(err, method, settings.log)
  }
}

/** Step 3a: /api/… — authorised, then limited in concurrency, then routed. */
async function handleApi(req: http.IncomingMessage, res: http.ServerResponse, url: URL, session: Session, auth: Auth, limit: ConcurrencyLimit, settings: Settings): Promise<void> {
  const verdict = auth.check(req)
  if (verdict === 'missing') throw new HttpError(401, 'unauthorized', 'missing or wrong token: open the URL that `npm run serve` printed')
  if (verdict === 'cross-origin') throw new HttpError(403, 'forbidden', 'requests from other sites are refused')
  const method = url.pathname.slice(5)
  if (method === 'events' && req.method === 'GET') {
    subscribeEvents(req, res, session, settings.maxEventStreams)
    return
  }
  if (req.method !== 'POST') throw new HttpError(405, 'method', `use POST /api/${method}`)
  if (method === 'login-url') {
    sendJson(res, 200, { url: loginUrl(auth, req.headers.host ?? '') })
    return
  }
  if (!limit.tryAcquire()) throw new HttpError(503, 'busy', `${method}: the server is busy (too many requests at once); try again in a moment`, { 'Retry-After': '1' })
  try {
    if (method === 'upload') {
      const up = await receiveUpload(req, session.uploadDir, url.searchParams.get('name'), settings.maxUpload)
      sendJson(res, 200, { path: up.path, name: up.name })
    } else {
      await callService(req, res, method, session, settings)
    }
  } finally {
    limit.release()
  }
}

function loginUrl(auth: Auth, host: string): string {
  return `http://${host}/?token=${auth.newLoginCode()}`
}

/** Step 3b: the login (GET ?token=CODE or POST /auth form) → cookie + redirect without the code. */
async function handleExchange(req: http.IncomingMessage, res: http.ServerResponse, url: URL, auth: Auth, onLogin?: () => void): Promise<void> {
  let presented: string | null
  if (req.method === 'POST') {
    const body = (await readBody(req, 4096, 'auth')).toString('utf8')
    presented = new URLSearchParams(body).get('token')
  } else {
    presented = url.searchParams.get('token')
  }
  if (!auth.useLoginCode(presented)) {
    res.writeHead(401, { ...SECURITY_HEADERS, 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' })
    res.end('DiffMD Studio: this login link is not valid or was used already (each works once). Open the newest link the terminal running `npm run serve` printed.')
    return
  }
  const rest = new URLSearchParams(url.searchParams)
  rest.delete('token')
  const query = rest.toString()
  const location = req.method === 'POST' ? '/' : `${url.pathname}${query ? `?${query}` : ''}`
  exchangeRedirect(res, auth, location, SECURITY_HEADERS)
  onLogin?.()
}

/** Step 3: the request handler (host check, then exchange, API or static files). */
function createHandler(session: Session, auth: Auth, port: number, limit: ConcurrencyLimit, settings: Settings): (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void> {
  return async (req, res) => {
    if (!hostAllowed(req.headers.host, port)) {
      throw new HttpError(421, 'wrong-host', `this server answers only to 127.0.0.1:${port} (Host: ${String(req.headers.host ?? '').slice(0, 80)})`)
    }
    let url: URL
    try {
      url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`)
    } catch {
      throw new HttpError(400, 'bad-request', 'malformed request URL')
    }
    if (url.pathname.startsWith('/api/')) return handleApi(req, res, url, session, auth, limit, settings)
    if ((url.pathname === '/auth' && req.method === 'POST') || (req.method === 'GET' && url.searchParams.has('token'))) return handleExchange(req, res, url, auth, settings.onLogin)
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'method', `${req.method ?? '?'} is not allowed here`)
    return serveStatic(req, res, settings.rendererDir, url.pathname)
  }
}

function answerFailure(res: http.ServerResponse, err: unknown, log: (line: string) => void): void {
  const e = err instanceof HttpError ? err : internalError(err, 'request', log)
  if (!res.headersSent) sendError(res, e)
  else res.end()
}

/** Step 4: what the caller holds — URLs, launch page, and a close that ends streams and removes uploads. */
function running(server: http.Server, port: number, auth: Auth, session: Session, home: string): RunningServer {
  const origin = `http://127.0.0.1:${port}`
  const pages: LaunchPage[] = []
  return {
    url: loginUrl(auth, `127.0.0.1:${port}`),
    loginUrl: () => loginUrl(auth, `127.0.0.1:${port}`),
    origin,
    port,
    token: auth.token,
    async launchPage() {
      const page = await writeLaunchPage(home, origin, auth.newLoginCode())
      pages.push(page)
      return page
    },
    close: async () => {
      for (const r of session.sse) r.end()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await fs.rm(session.uploadDir, { recursive: true, force: true })
      await Promise.all(pages.map((p) => p.remove().catch(() => undefined)))
    },
  }
}

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const token = opts.token ?? randomBytes(24).toString('base64url')
  const settings: Settings = {
    rendererDir: opts.rendererDir,
    maxEventStreams: opts.maxEventStreams ?? 16,
    maxUpload: opts.maxUploadBytes ?? 4 * 1024 ** 3,
    maxJson: opts.maxJsonBytes ?? 64 * 1024 * 1024,
    log: opts.log ?? ((line) => process.stderr.write(`${line}\n`)),
    ...(opts.onLogin ? { onLogin: opts.onLogin } : {}),
  }
  const session = await openSession(opts)
  // the handler needs the port, known once listening; until then (no request can arrive) it is unset
  const ready: { handler?: (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void> } = {}
  const server = http.createServer((req, res) => {
    const handler = ready.handler
    if (!handler) {
      answerFailure(res, new HttpError(503, 'starting', 'the server is starting; try again in a moment'), settings.log)
      return
    }
    handler(req, res).catch((err: unknown) => answerFailure(res, err, settings.log))
  })
  const port = await listen(server, opts.port ?? 0)
  const auth = createAuth(token, port)
  ready.handler = createHandler(session, auth, port, concurrencyLimit(opts.maxConcurrent ?? 64), settings)
  return running(server, port, auth, session, opts.home)
}

/** Default home for projects: $DIFFMD_HOME, else ~/DiffMD. */
export function defaultHome(): string {
  return process.env.DIFFMD_HOME ?? path.join(process.env.HOME ?? process.cwd(), 'DiffMD')
}

async function cli(argv: string[]): Promise<void> {
  const { parseArgs } = await import('../cli/args')
  // no --token flag: a token on a command line is readable by every local user (`ps`); DIFFMD_TOKEN
  // (the environment is private to the user) fixes it when a script needs to know it in advance
  const { flags } = parseArgs('serve', argv, { port: 'int', open: 'boolean', home: 'string' })
  const here = path.dirname(fileURLToPath(import.meta.url))
  const root = path.resolve(here, '..', '..')
  const port = flags.port as number | undefined
  if (port !== undefined && (port < 0 || port > 65535)) throw new UserError(`serve: --port must be 0…65535 (got ${port})`, 'bad-flag')
  const started: { server?: RunningServer } = {}
  const server = await startServer({
    home: (flags.home as string | undefined) ?? defaultHome(),
    port: port ?? 0,
    token: process.env.DIFFMD_TOKEN || undefined,
    rendererDir: path.join(root, 'out', 'renderer'),
    resourcesDir: path.join(root, 'resources'),
    // login links work once: after each login, print one for the next browser
    onLogin: () => {
      if (started.server) process.stdout.write(`DiffMD Studio: logged in; another browser can log in once at ${started.server.loginUrl()}\n`)
    },
  })
  started.server = server
  process.stdout.write(`DiffMD Studio at ${server.url}\n`)
  if (flags.open !== false) {
    const { openBrowser } = await import('./open-browser')
    openBrowser((await server.launchPage()).url)
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
