/**
 * Who may talk to browser mode, and from where.
 *
 * - The per-launch token authorises a client. Scripts and tests send it as `Authorization: Bearer`;
 *   it never appears in a URL.
 * - A browser logs in with a single-use login code: `GET /?token=CODE` (the URL the server prints)
 *   or `POST /auth` with a `token` form field (the launch page that opens Chromium) answer 303 to the
 *   page without it, with `Set-Cookie: diffmd_session_<port>=…; HttpOnly; SameSite=Strict`. The
 *   cookie's value is a separate random secret. A code works once: the copy that the browser's
 *   history keeps of the printed URL is spent. `?token=` is accepted on that exchange only, never on
 *   /api/…, so no credential is in the address bar, Referer or storage afterwards. More codes:
 *   `POST /api/login-url` (authorised) or the line the server prints after each login.
 * - Cookie-authorised requests must come from the app's own origin (`Origin` / `Sec-Fetch-Site`):
 *   another site — or another port on 127.0.0.1, which counts as the same site — cannot ride on it.
 * - Every request's `Host` must be the loopback address and port the server listens on, so a
 *   DNS-rebinding page (evil.example resolving to 127.0.0.1) is refused (421).
 */
import type http from 'node:http'
import { randomBytes, timingSafeEqual } from 'node:crypto'

export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

/** The Host header values this server answers to: the loopback address or `localhost`, with its port. */
export function allowedHosts(port: number): Set<string> {
  return new Set([`127.0.0.1:${port}`, `localhost:${port}`])
}

export function hostAllowed(host: string | undefined, port: number): boolean {
  return host !== undefined && allowedHosts(port).has(host.toLowerCase())
}

/** Parses a Cookie header into name → value (first occurrence wins). */
export function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>()
  if (!header) return out
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq < 0) continue
    const name = part.slice(0, eq).trim()
    const value = part.slice(eq + 1).trim()
    if (name && !out.has(name)) out.set(name, value)
  }
  return out
}

export type AuthResult = 'ok' | 'missing' | 'cross-origin'

export interface Auth {
  readonly token: string
  readonly cookieName: string
  /** the Set-Cookie header value that a successful exchange answers with */
  readonly setCookie: string
  /** is this /api/ request authorised, and from an allowed origin when it relies on the cookie? */
  check(req: http.IncomingMessage): AuthResult
  /** is `presented` the launch token? */
  tokenMatches(presented: string | null | undefined): boolean
  /** a fresh single-use login code */
  newLoginCode(): string
  /** true once for each code newLoginCode gave out; false for anything else (the token included) */
  useLoginCode(presented: string | null | undefined): boolean
}

/** outstanding login codes kept at most (the oldest is dropped beyond) */
const MAX_LOGIN_CODES = 64

export function createAuth(token: string, port: number): Auth {
  const session = randomBytes(32).toString('base64url')
  const cookieName = `diffmd_session_${port}`
  const origins = new Set([...allowedHosts(port)].map((h) => `http://${h}`))
  const tokenMatches = (presented: string | null | undefined): boolean => typeof presented === 'string' && sameSecret(presented, token)
  const codes: string[] = []
  return {
    token,
    cookieName,
    setCookie: `${cookieName}=${session}; Path=/; HttpOnly; SameSite=Strict`,
    tokenMatches,
    newLoginCode() {
      const code = randomBytes(24).toString('base64url')
      codes.push(code)
      if (codes.length > MAX_LOGIN_CODES) codes.shift()
      return code
    },
    useLoginCode(presented) {
      if (typeof presented !== 'string') return false
      const i = codes.findIndex((c) => sameSecret(c, presented))
      if (i < 0) return false
      codes.splice(i, 1)
      return true
    },
    check(req) {
      const h = req.headers.authorization
      if (h?.startsWith('Bearer ') && tokenMatches(h.slice(7))) return 'ok'
      const cookie = parseCookies(req.headers.cookie).get(cookieName)
      if (cookie === undefined || !sameSecret(cookie, session)) return 'missing'
      // a browser adds Origin to every cross-origin request and to same-origin POSTs, and
      // Sec-Fetch-Site to every request: either one naming another origin is refused
      const origin = req.headers.origin
      if (origin !== undefined && !origins.has(origin)) return 'cross-origin'
      const site = req.headers['sec-fetch-site']
      if (site !== undefined && site !== 'same-origin') return 'cross-origin'
      return 'ok'
    },
  }
}

/** The exchange's answer: 303 to the same path without the query, with the session cookie. */
export function exchangeRedirect(res: http.ServerResponse, auth: Auth, location: string, headers: Record<string, string>): void {
  res.writeHead(303, { ...headers, Location: location, 'Set-Cookie': auth.setCookie, 'Cache-Control': 'no-store' })
  res.end()
}
