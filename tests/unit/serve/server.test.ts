/**
 * Browser mode's security properties against a real server on 127.0.0.1 (real sockets, real files):
 * streamed upload limit, JSON body limit, token → cookie exchange, DNS-rebinding Host check,
 * cross-origin refusal, 500s without internals, and the concurrency limit.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { startServer, type RunningServer } from '../../../src/serve/server'
import { DEFAULT_RUN_PARAMS } from '../../../src/api/run-params'
import { pending, raw } from './helpers'

let server: RunningServer
let home: string
const logged: string[] = []
const UPLOAD_LIMIT = 100
const JSON_LIMIT = 1000
const MAX_CONCURRENT = 2

beforeAll(async () => {
  home = mkdtempSync(path.join(tmpdir(), 'diffmd-serve-sec-'))
  server = await startServer({
    home,
    rendererDir: path.resolve('out/renderer'),
    resourcesDir: path.resolve('resources'),
    maxUploadBytes: UPLOAD_LIMIT,
    maxJsonBytes: JSON_LIMIT,
    maxConcurrent: MAX_CONCURRENT,
    maxEventStreams: 2,
    log: (line) => logged.push(line),
  })
})
afterAll(async () => {
  await server.close()
  rmSync(home, { recursive: true, force: true })
})

const bearer = (): Record<string, string> => ({ Authorization: `Bearer ${server.token}` })
const uploadsRoot = (): string => path.join(home, '.uploads')
/** every file under the uploads folder */
function uploadedFiles(): string[] {
  if (!existsSync(uploadsRoot())) return []
  return readdirSync(uploadsRoot(), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name))
}

describe('uploads count streamed bytes', () => {
  it('refuses a chunked 5,000-byte upload against a 100-byte limit with 413 and deletes the partial file', async () => {
    const before = uploadedFiles()
    // 50 chunks of 100 bytes, no Content-Length: only counting the stream can catch it
    const reply = await raw({ port: server.port, path: '/api/upload?name=big.pdb', method: 'POST', headers: { ...bearer(), 'Transfer-Encoding': 'chunked' }, chunks: Array.from({ length: 50 }, () => Buffer.alloc(100, 65)) })
    expect(reply.status).toBe(413)
    expect(JSON.parse(reply.body)).toMatchObject({ error: { code: 'too-large' } })
    expect(uploadedFiles()).toEqual(before)
  })
  it('refuses a declared Content-Length over the limit before reading', async () => {
    const reply = await raw({ port: server.port, path: '/api/upload?name=big.pdb', method: 'POST', headers: { ...bearer(), 'Content-Length': '5000' }, body: Buffer.alloc(5000, 65) })
    expect(reply.status).toBe(413)
  })
  it('accepts a chunked upload at exactly the limit, whole', async () => {
    const reply = await raw({ port: server.port, path: '/api/upload?name=ok.pdb', method: 'POST', headers: { ...bearer(), 'Transfer-Encoding': 'chunked' }, chunks: [Buffer.alloc(60, 66), Buffer.alloc(40, 67)] })
    expect(reply.status).toBe(200)
    const { path: p, name } = JSON.parse(reply.body) as { path: string; name: string }
    expect(name).toBe('ok.pdb')
    expect(p.startsWith(uploadsRoot() + path.sep)).toBe(true)
    expect(uploadedFiles()).toContain(p)
  })
})

describe('JSON bodies', () => {
  it('answers 413 (not "not JSON") for an oversized body, declared or chunked', async () => {
    const big = JSON.stringify({ name: 'x'.repeat(2 * JSON_LIMIT) })
    const declared = await raw({ port: server.port, path: '/api/project.create', method: 'POST', headers: { ...bearer(), 'Content-Type': 'application/json' }, body: big })
    expect(declared.status).toBe(413)
    expect(JSON.parse(declared.body)).toMatchObject({ error: { code: 'too-large' } })
    const chunked = await raw({ port: server.port, path: '/api/project.create', method: 'POST', headers: { ...bearer(), 'Transfer-Encoding': 'chunked' }, chunks: [Buffer.from(big.slice(0, 900)), Buffer.from(big.slice(900))] })
    expect(chunked.status).toBe(413)
  })
  it('a body that is not JSON is refused without being echoed', async () => {
    const reply = await raw({ port: server.port, path: '/api/project.create', method: 'POST', headers: bearer(), body: 'SECRET-CONTENT {' })
    expect(reply.status).toBe(400)
    expect(reply.body).toMatch(/not JSON/)
    expect(reply.body).not.toContain('SECRET')
  })
})

describe('the token leaves URLs', () => {
  it('?token= is not accepted on API routes', async () => {
    const reply = await raw({ port: server.port, path: `/api/project.list?token=${server.token}`, method: 'POST', body: '{}' })
    expect(reply.status).toBe(401)
    const events = await raw({ port: server.port, path: `/api/events?token=${server.token}` })
    expect(events.status).toBe(401)
  })
  it('GET /?token=CODE exchanges a single-use login code for an HttpOnly SameSite=Strict cookie and redirects to the URL without it', async () => {
    const code = new URL(server.loginUrl()).searchParams.get('token')!
    expect(code).not.toBe(server.token)
    const reply = await raw({ port: server.port, path: `/?token=${code}&x=1` })
    expect(reply.status).toBe(303)
    expect(reply.headers.location).toBe('/?x=1')
    const cookie = reply.headers['set-cookie']?.[0] ?? ''
    expect(cookie).toMatch(new RegExp(`^diffmd_session_${server.port}=[A-Za-z0-9_-]{40,};`))
    expect(cookie).toMatch(/; HttpOnly/)
    expect(cookie).toMatch(/; SameSite=Strict/)
    expect(cookie).not.toContain(server.token)
    expect(cookie).not.toContain(code)
    // the code is spent: the copy in the browser's history cannot log anyone in
    const again = await raw({ port: server.port, path: `/?token=${code}` })
    expect(again.status).toBe(401)
    expect(again.headers['set-cookie']).toBeUndefined()
    // the API token is not a login code (it never goes into a URL)
    expect((await raw({ port: server.port, path: `/?token=${server.token}` })).status).toBe(401)
    const pair = cookie.split(';')[0]!
    const ok = await raw({ port: server.port, path: '/api/project.list', method: 'POST', headers: { Cookie: pair, Origin: server.origin, 'Sec-Fetch-Site': 'same-origin' }, body: '{}' })
    expect(ok.status).toBe(200)
    expect((JSON.parse(ok.body) as { result: { id: string }[] }).result.map((p) => p.id)).toContain('examples')
  })
  it('POST /auth with a login code as a form field does the same exchange; a wrong one gets 401 and no cookie', async () => {
    const code = new URL(server.loginUrl()).searchParams.get('token')!
    const good = await raw({ port: server.port, path: '/auth', method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: 'null' }, body: `token=${encodeURIComponent(code)}` })
    expect(good.status).toBe(303)
    expect(good.headers.location).toBe('/')
    expect(good.headers['set-cookie']?.[0]).toMatch(/HttpOnly; SameSite=Strict/)
    const bad = await raw({ port: server.port, path: '/auth', method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'token=nope' })
    expect(bad.status).toBe(401)
    expect(bad.headers['set-cookie']).toBeUndefined()
    const badGet = await raw({ port: server.port, path: '/?token=nope' })
    expect(badGet.status).toBe(401)
  })
  it('the cookie is refused from another origin (another site, or another port on 127.0.0.1)', async () => {
    const login = new URL(server.loginUrl())
    const pair = ((await raw({ port: server.port, path: login.pathname + login.search })).headers['set-cookie']?.[0] ?? '').split(';')[0]!
    const otherPort = await raw({ port: server.port, path: '/api/project.list', method: 'POST', headers: { Cookie: pair, Origin: 'http://127.0.0.1:1' }, body: '{}' })
    expect(otherPort.status).toBe(403)
    const crossSite = await raw({ port: server.port, path: '/api/project.list', method: 'POST', headers: { Cookie: pair, 'Sec-Fetch-Site': 'cross-site' }, body: '{}' })
    expect(crossSite.status).toBe(403)
    const sameSite = await raw({ port: server.port, path: '/api/project.list', method: 'POST', headers: { Cookie: pair, 'Sec-Fetch-Site': 'same-site' }, body: '{}' })
    expect(sameSite.status).toBe(403)
    const forged = await raw({ port: server.port, path: '/api/project.list', method: 'POST', headers: { Cookie: `diffmd_session_${server.port}=${'A'.repeat(43)}` }, body: '{}' })
    expect(forged.status).toBe(401)
  })
  it('the printed URL carries a login code, not the API token; POST /api/login-url mints more', async () => {
    expect(server.url).toMatch(new RegExp(`^${server.origin}/\\?token=[A-Za-z0-9_-]{32}$`))
    expect(server.url).not.toContain(server.token)
    const minted = await raw({ port: server.port, path: '/api/login-url', method: 'POST', headers: bearer(), body: '{}' })
    expect(minted.status).toBe(200)
    const { url } = JSON.parse(minted.body) as { url: string }
    expect(url.startsWith(`${server.origin}/?token=`)).toBe(true)
    expect(url).not.toBe(server.url)
    expect((await raw({ port: server.port, path: '/api/login-url', method: 'POST', body: '{}' })).status).toBe(401)
  })
})

describe('DNS rebinding', () => {
  it('refuses a Host that is not the loopback address and port (421), on API and static routes', async () => {
    for (const host of ['evil.example', `evil.example:${server.port}`, `127.0.0.1:${server.port + 1}`, `127.0.0.1.nip.io:${server.port}`]) {
      const api = await raw({ port: server.port, path: '/api/project.list', method: 'POST', headers: { ...bearer(), Host: host }, body: '{}' })
      expect(api.status, host).toBe(421)
      const page = await raw({ port: server.port, path: '/', headers: { Host: host } })
      expect(page.status, host).toBe(421)
    }
    const local = await raw({ port: server.port, path: '/api/project.list', method: 'POST', headers: { ...bearer(), Host: `localhost:${server.port}` }, body: '{}' })
    expect(local.status).toBe(200)
  })
})

describe('internal errors', () => {
  it('a 500 carries a reference id and no absolute path or raw message; the log has the details', async () => {
    const call = async (method: string, input: unknown): Promise<{ status: number; json: { result?: unknown; error?: { code: string; message: string } } }> => {
      const r = await raw({ port: server.port, path: `/api/${method}`, method: 'POST', headers: { ...bearer(), 'Content-Type': 'application/json' }, body: JSON.stringify(input) })
      return { status: r.status, json: JSON.parse(r.body) as { result?: unknown; error?: { code: string; message: string } } }
    }
    const models = (await call('model.list', { projectId: 'examples' })).json.result as { id: string }[]
    // the ala2 dataset (dim 66, the model's); Examples also holds ala3 (docs/peptides.md)
    const datasets = ((await call('dataset.list', { projectId: 'examples' })).json.result as { id: string; dim: number }[]).filter((d) => d.dim === 66)
    expect(models.length).toBeGreaterThan(0)
    expect(datasets.length).toBeGreaterThan(0)
    // a file where the runs folder should be: creating a run fails inside the file system (ENOTDIR)
    const runs = path.join(home, 'projects', 'examples', 'runs')
    rmSync(runs, { recursive: true, force: true })
    writeFileSync(runs, 'not a folder')
    try {
      const r = await call('run.create', { projectId: 'examples', modelId: models[0]!.id, datasetId: datasets[0]!.id, params: { ...DEFAULT_RUN_PARAMS, replicas: 1, frames: 2 } })
      expect(r.status).toBe(500)
      const message = r.json.error!.message
      expect(r.json.error!.code).toBe('internal')
      expect(message).toMatch(/^run\.create: internal error \(reference [0-9a-f]{8}\)/)
      expect(message).not.toContain(home)
      expect(message).not.toMatch(/ENOTDIR|EEXIST|\/tmp|\\/)
      const id = /reference ([0-9a-f]{8})/.exec(message)![1]!
      const line = logged.find((l) => l.includes(id))
      expect(line).toBeDefined()
      expect(line).toContain(home)
    } finally {
      rmSync(runs, { force: true })
    }
  })
})

describe('concurrency limit', () => {
  it(`answers 503 with Retry-After beyond ${MAX_CONCURRENT} requests in flight, and serves again once one finishes`, async () => {
    const held = Array.from({ length: MAX_CONCURRENT }, (_, i) => pending(server.port, `/api/upload?name=slow${i}.pdb`, { ...bearer(), 'Transfer-Encoding': 'chunked' }))
    // the held uploads reach the server before the probe (same loopback, sent first); poll to be sure
    let refused
    for (let i = 0; i < 50; i++) {
      refused = await raw({ port: server.port, path: '/api/project.list', method: 'POST', headers: bearer(), body: '{}' })
      if (refused.status === 503) break
      await new Promise((r) => setTimeout(r, 20))
    }
    expect(refused!.status).toBe(503)
    expect(refused!.headers['retry-after']).toBe('1')
    held[0]!.finish()
    expect((await held[0]!.reply).status).toBe(200)
    const again = await raw({ port: server.port, path: '/api/project.list', method: 'POST', headers: bearer(), body: '{}' })
    expect(again.status).toBe(200)
    held[1]!.finish()
    expect((await held[1]!.reply).status).toBe(200)
  })
})

describe('event streams', () => {
  it('at most maxEventStreams open at once (503 beyond), and a closed one frees its place', async () => {
    const open = async (): Promise<{ status: number; close(): void }> => {
      const controller = new AbortController()
      const res = await fetch(`${server.origin}/api/events`, { headers: bearer(), signal: controller.signal })
      return { status: res.status, close: () => controller.abort() }
    }
    const a = await open()
    const b = await open()
    expect([a.status, b.status]).toEqual([200, 200])
    const c = await open()
    expect(c.status).toBe(503)
    a.close()
    let d = await open()
    for (let i = 0; i < 50 && d.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 20))
      d = await open()
    }
    expect(d.status).toBe(200)
    b.close()
    d.close()
  })
})

describe('static files', () => {
  it('never serves outside the renderer folder, and a malformed escape is a 403, not a 500', async () => {
    for (const p of ['/..%2f..%2fpackage.json', '/%2e%2e/%2e%2e/package.json', '/%E0%A4%A', '/a%00b']) {
      const r = await raw({ port: server.port, path: p })
      expect([403, 404], p).toContain(r.status)
    }
  })
})
