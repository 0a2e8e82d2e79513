/**
 * Starts browser mode (`out/serve/server.mjs`, built by `npm test` beforehand) on a random port with a
 * fresh temporary home, and reads the URL line it prints. The API token is chosen here and handed
 * over in the environment (DIFFMD_TOKEN), as a script would; the printed URL carries a single-use
 * login code for one browser (more from loginUrl()).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'

export interface TestServer {
  /**
   * A login URL for one browser context. Login codes work once, so each read gives a fresh one
   * (from a pool minted at start and topped up in the background); the first is the printed URL.
   */
  readonly url: string
  origin: string
  /** the API token (Authorization: Bearer) */
  token: string
  /** a fresh single-use login URL for another browser context */
  loginUrl(): Promise<string>
  home: string
  stop(): Promise<void>
}

export async function startTestServer(home = mkdtempSync(path.join(tmpdir(), 'diffmd-e2e-'))): Promise<TestServer> {
  const token = randomBytes(24).toString('base64url')
  const child: ChildProcess = spawn(process.execPath, [path.resolve('out/serve/server.mjs'), '--no-open', '--home', home], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, DIFFMD_TOKEN: token },
  })
  let log = ''
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start within 30 s:\n${log}`)), 30_000)
    child.stdout!.on('data', (d: Buffer) => {
      log += d.toString()
      const m = /DiffMD Studio at (http:\/\/127\.0\.0\.1:\d+\/\?token=(\S+))/.exec(log)
      if (m) {
        clearTimeout(timer)
        resolve(m[1]!)
      }
    })
    child.stderr!.on('data', (d: Buffer) => (log += d.toString()))
    child.on('exit', (code) => reject(new Error(`server exited with ${code}:\n${log}`)))
  })
  const u = new URL(url)
  const loginUrl = async (): Promise<string> => {
    const res = await fetch(`${u.origin}/api/login-url`, { method: 'POST', headers: { Authorization: `Bearer ${token}` }, body: '{}' })
    return ((await res.json()) as { url: string }).url
  }
  const pool = [url, ...(await Promise.all(Array.from({ length: 24 }, loginUrl)))]
  let refilling = false
  const refill = (): void => {
    if (refilling || pool.length > 8) return
    refilling = true
    void Promise.all(Array.from({ length: 16 }, loginUrl))
      .then((more) => pool.push(...more))
      .catch(() => undefined)
      .finally(() => (refilling = false))
  }
  return {
    get url(): string {
      const next = pool.shift()
      refill()
      if (!next) throw new Error('support/server: no login URL left in the pool; use `await server.loginUrl()`')
      return next
    },
    origin: u.origin,
    token,
    loginUrl,
    home,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r))
        child.kill('SIGINT')
        await exited
      }
      rmSync(home, { recursive: true, force: true })
    },
  }
}
