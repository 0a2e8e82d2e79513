/**
 * Security end to end, in real Chromium against the real browser-mode server (out/serve/server.mjs):
 * the token is exchanged once for an HttpOnly SameSite=Strict cookie and leaves the address bar,
 * history and storage; Chromium is launched without the token on its command line; a DNS-rebinding
 * host and another origin on 127.0.0.1 are refused. The Electron part runs where the Electron
 * binary is installed and says why it is skipped where it is not.
 */
import { _electron as electron, chromium, expect, test } from '@playwright/test'
import { spawn } from 'node:child_process'
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { startTestServer, type TestServer } from './support/server'

let server: TestServer

test.beforeAll(async () => {
  server = await startTestServer()
})
test.afterAll(async () => {
  await server.stop()
})

test('the printed URL logs in once: no credential stays in the address bar, history or storage; the cookie is HttpOnly and SameSite=Strict', async ({ page, context }) => {
  const loginUrl = server.url
  const response = await page.goto(loginUrl)
  // the exchange answered 303 to the same page without the token
  expect(response?.request().redirectedFrom()?.url()).toBe(loginUrl)
  expect(page.url()).toBe(`${server.origin}/`)
  await expect(page.getByTestId('projects')).toContainText('Examples')
  const seen = await page.evaluate(() => ({
    href: location.href,
    cookie: document.cookie,
    session: JSON.stringify(Object.entries(sessionStorage)),
    local: JSON.stringify(Object.entries(localStorage)),
  }))
  expect(seen.href).not.toContain('token')
  expect(seen.cookie).toBe('')
  expect(seen.session).not.toContain(server.token)
  expect(seen.local).not.toContain(server.token)
  const cookies = await context.cookies(server.origin)
  expect(cookies).toHaveLength(1)
  expect(cookies[0]).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/' })
  expect(cookies[0]!.value).not.toBe(server.token)
  const code = new URL(loginUrl).searchParams.get('token')!
  expect(code).not.toBe(server.token)
  expect(cookies[0]!.value).not.toBe(code)
  // the app keeps working after a reload (the cookie, not the URL, authorises it)
  await page.reload()
  await expect(page.getByTestId('projects')).toContainText('Examples')
  // the login code in the browser's history is spent: opening it again in a fresh context does not log in
  const replay = await page.context().browser()!.newContext()
  try {
    const again = await (await replay.newPage()).goto(loginUrl)
    expect(again?.status()).toBe(401)
  } finally {
    await replay.close()
  }
  // ?token= on the API is not accepted any more
  const viaQuery = await page.evaluate(async ([o, t]) => (await fetch(`${o}/api/app.info?token=${t}`, { method: 'POST', credentials: 'omit', body: '{}' })).status, [server.origin, server.token] as const)
  expect(viaQuery).toBe(401)
  // the redirect left no history entry with the token: one step back is the blank page the test began on
  await page.goBack()
  await expect.poll(() => page.url()).toBe('about:blank')
})

test('Chromium is started on a private launch page: no token in its command line (ps), and the page logs it in', async ({ browser }) => {
  const work = mkdtempSync(path.join(tmpdir(), 'diffmd-launch-'))
  const argvFile = path.join(work, 'argv.txt')
  // a stand-in "Chromium" that records the command line it was given
  const fakeChromium = path.join(work, 'chromium')
  writeFileSync(fakeChromium, `#!/bin/sh\nprintf '%s\\n' "$@" > "${argvFile}"\n`)
  chmodSync(fakeChromium, 0o755)
  const home = path.join(work, 'home')
  const apiToken = 'api-token-for-this-test-0123456789'
  const child = spawn(process.execPath, [path.resolve('out/serve/server.mjs'), '--home', home], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, CHROMIUM_PATH: fakeChromium, DISPLAY: process.env.DISPLAY ?? ':0', DIFFMD_TOKEN: apiToken },
  })
  try {
    let out = ''
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no URL within 30 s:\n${out}`)), 30_000)
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString()
        const m = /DiffMD Studio at (\S+)/.exec(out)
        if (m) {
          clearTimeout(timer)
          resolve(m[1]!)
        }
      })
      child.stderr!.on('data', (d: Buffer) => (out += d.toString()))
    })
    const printedCode = new URL(url).searchParams.get('token')!
    await expect.poll(() => existsSync(argvFile), { timeout: 15_000 }).toBe(true)
    const argv = readFileSync(argvFile, 'utf8')
    expect(argv).not.toContain(apiToken)
    expect(argv).not.toContain(printedCode)
    expect(argv).not.toContain('token=')
    // the server's own command line has no token either
    expect(readFileSync(`/proc/${child.pid}/cmdline`, 'utf8')).not.toContain(apiToken)
    const launch = /--app=(file:\S+)/.exec(argv)?.[1]
    expect(launch).toBeDefined()
    const file = new URL(launch!).pathname
    // readable by this user only
    expect(statSync(file).mode & 0o077).toBe(0)
    expect(statSync(path.dirname(file)).mode & 0o077).toBe(0)
    // the page holds a single-use login code of its own, not the API token
    expect(readFileSync(file, 'utf8')).not.toContain(apiToken)
    const page = await browser.newPage()
    try {
      await page.goto(launch!)
      await page.waitForURL(`${new URL(url).origin}/`)
      await expect(page.getByTestId('projects')).toContainText('Examples')
    } finally {
      await page.close()
    }
  } finally {
    const exited = new Promise((r) => child.once('exit', r))
    child.kill('SIGINT')
    await exited
    rmSync(work, { recursive: true, force: true })
  }
})

test('DNS rebinding: a page on another host name that resolves to 127.0.0.1 gets 421, not the app or the API', async () => {
  const port = new URL(server.origin).port
  const rebinding = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--host-resolver-rules=MAP rebind.test 127.0.0.1'] })
  try {
    const page = await rebinding.newPage()
    const res = await page.goto(`http://rebind.test:${port}/`)
    expect(res?.status()).toBe(421)
    const api = await page.evaluate(async (o) => (await fetch(`${o}/api/project.list`, { method: 'POST', body: '{}' })).status, `http://rebind.test:${port}`)
    expect(api).toBe(421)
  } finally {
    await rebinding.close()
  }
})

test('another origin on 127.0.0.1 cannot use the logged-in browser’s cookie (CSRF)', async ({ page }) => {
  await page.goto(await server.loginUrl())
  await expect(page.getByTestId('projects')).toContainText('Examples')
  // a page served from another port on the same loopback address: same site, different origin
  const evil = http.createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html' })
    res.end('<!doctype html><title>other</title>')
  })
  await new Promise<void>((r) => evil.listen(0, '127.0.0.1', () => r()))
  const evilOrigin = `http://127.0.0.1:${(evil.address() as { port: number }).port}`
  try {
    await page.goto(`${evilOrigin}/`)
    const statuses = await page.evaluate(async (o) => {
      const out: (number | string)[] = []
      for (const mode of ['cors', 'no-cors'] as const) {
        try {
          const r = await fetch(`${o}/api/project.create`, { method: 'POST', mode, credentials: 'include', headers: mode === 'no-cors' ? { 'Content-Type': 'text/plain' } : { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'CSRF was here' }) })
          out.push(r.type === 'opaque' ? 'opaque' : r.status)
        } catch (e) {
          out.push(`blocked: ${(e as Error).message}`)
        }
      }
      return out
    }, server.origin)
    expect(statuses.length).toBe(2)
    // whatever the browser let through, the server created nothing
    const list = await (await fetch(`${server.origin}/api/project.list`, { method: 'POST', headers: { Authorization: `Bearer ${server.token}` }, body: '{}' })).json()
    expect(JSON.stringify(list)).not.toContain('CSRF was here')
  } finally {
    await new Promise<void>((r) => evil.close(() => r()))
  }
})

test('browser mode answers with a CSP header and no token in any response header', async ({ request }) => {
  const res = await request.get(`${server.origin}/`)
  expect(res.headers()['content-security-policy']).toMatch(/default-src 'self'.*frame-ancestors 'none'/)
  expect(JSON.stringify(res.headers())).not.toContain(server.token)
})

// ---- Electron (needs the Electron binary) ----

function electronBinary(): string | undefined {
  if (process.env.ELECTRON_EXEC_PATH && existsSync(process.env.ELECTRON_EXEC_PATH)) return process.env.ELECTRON_EXEC_PATH
  const pathTxt = path.resolve('node_modules/electron/path.txt')
  if (!existsSync(pathTxt)) return undefined
  const bin = path.resolve('node_modules/electron/dist', readFileSync(pathTxt, 'utf8').trim())
  return existsSync(bin) ? bin : undefined
}
const bin = electronBinary()
const SKIP_REASON = 'Electron binary not installed (offline install: its download is blocked here); set ELECTRON_EXEC_PATH to run the Electron security checks'
if (!bin) console.log(`skipping the Electron security checks: ${SKIP_REASON}`)

test('Electron: CSP header on app://, permissions denied, navigation and new windows blocked', async () => {
  test.skip(!bin, SKIP_REASON)
  const home = mkdtempSync(path.join(tmpdir(), 'diffmd-electron-sec-'))
  const app = await electron.launch({ executablePath: bin!, args: [path.resolve('.')], env: { ...process.env, DIFFMD_HOME: home } })
  try {
    const win = await app.firstWindow()
    await expect(win.getByTestId('projects')).toContainText('Examples')
    const csp = await win.evaluate(async () => (await fetch('app://studio/index.html')).headers.get('content-security-policy'))
    expect(csp).toMatch(/default-src 'self'/)
    const malformed = await win.evaluate(async () => (await fetch('app://studio/%E0%A4%A')).status)
    expect(malformed).toBe(400)
    expect(await win.evaluate(async () => (await navigator.permissions.query({ name: 'geolocation' as PermissionName })).state)).toBe('denied')
    expect(await win.evaluate(() => Notification.requestPermission())).toBe('denied')
    expect(await win.evaluate(() => window.open('https://evil.example/') === null)).toBe(true)
    await win.evaluate(() => {
      location.href = 'https://evil.example/'
    })
    await win.waitForTimeout(500)
    expect(win.url()).toMatch(/^app:\/\/studio\//)
  } finally {
    await app.close()
    rmSync(home, { recursive: true, force: true })
  }
})
