import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync, rmSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { startServer, type RunningServer } from '../../../src/serve/server'

let server: RunningServer
let home: string
beforeAll(async () => {
  home = mkdtempSync(path.join(tmpdir(), 'diffmd-serve-'))
  server = await startServer({ home, rendererDir: path.resolve('out/renderer'), resourcesDir: path.resolve('resources') })
})
afterAll(async () => {
  await server.close()
  rmSync(home, { recursive: true, force: true })
})

const origin = (): string => `http://127.0.0.1:${server.port}`

describe('browser-mode server', () => {
  it('listens on loopback with a per-launch token in the URL', () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{20,}$/)
  })
  it('refuses API calls without the token (401) and answers with it', async () => {
    expect((await fetch(`${origin()}/api/app.info`, { method: 'POST', body: '{}' })).status).toBe(401)
    const ok = await fetch(`${origin()}/api/project.list`, { method: 'POST', body: '{}', headers: { Authorization: `Bearer ${server.token}` } })
    expect(ok.status).toBe(200)
    const body = (await ok.json()) as { result: { id: string }[] }
    expect(body.result.map((p) => p.id)).toContain('examples')
  })
  it('returns one-line errors for unknown methods and bad JSON', async () => {
    const h = { Authorization: `Bearer ${server.token}` }
    const unknown = await fetch(`${origin()}/api/nope`, { method: 'POST', body: '{}', headers: h })
    expect(unknown.status).toBe(404)
    const bad = await fetch(`${origin()}/api/project.create`, { method: 'POST', body: '{nope', headers: h })
    expect(bad.status).toBe(400)
    expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(/not JSON/)
  })
  it('streams uploads into the session folder and refuses path tricks', async () => {
    const h = { Authorization: `Bearer ${server.token}` }
    const res = await fetch(`${origin()}/api/upload?name=${encodeURIComponent('../evil.pdb')}`, { method: 'POST', body: 'ATOM', headers: h })
    const { path: p } = (await res.json()) as { path: string }
    expect(path.basename(p)).toBe('evil.pdb')
    expect(p.startsWith(path.join(home, '.uploads'))).toBe(true)
    expect(readdirSync(path.dirname(p))).toEqual(['evil.pdb'])
  })
  it('never serves files outside the renderer folder', async () => {
    const res = await fetch(`${origin()}/..%2f..%2fpackage.json`)
    expect([403, 404]).toContain(res.status)
  })
})
