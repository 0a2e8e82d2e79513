/**
 * src/main/index.ts wires the policy modules to Electron's hooks. The Electron binary is not
 * installed here, so this test loads index.ts against a recording stand-in for the 'electron'
 * module (only the calls index.ts makes) and checks what was registered and how the registered
 * handlers answer. The same behaviour in the real binary is covered by tests/e2e/security.spec.ts
 * when ELECTRON_EXEC_PATH (or an installed binary) is present.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { EventEmitter } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'

type Handler = (...args: never[]) => unknown
interface FakeContents extends EventEmitter {
  windowOpenHandler?: (d: { url: string }) => { action: string }
  setWindowOpenHandler(h: (d: { url: string }) => { action: string }): void
  closeDevTools(): void
  getURL(): string
  send(): void
}
interface Fake {
  packaged: boolean
  gotLock: boolean
  quit: number
  permissionRequest?: Handler
  permissionCheck?: Handler
  deviceCheck?: Handler
  displayMedia?: Handler
  protocolHandler?: (req: { url: string }) => Promise<Response>
  ipc: Map<string, Handler>
  windows: { opts: { webPreferences: Record<string, unknown> }; url?: string }[]
  menu?: { role?: string; submenu?: unknown[] }[]
  opened: string[]
  fetched: string[]
  app: EventEmitter
}

const { fake, contents } = await vi.hoisted(async () => {
  const { EventEmitter } = await import('node:events')
  const fake: Fake = { packaged: true, gotLock: true, quit: 0, ipc: new Map(), windows: [], opened: [], fetched: [], app: new EventEmitter() }
  function contents(url: string): FakeContents {
    const c = new EventEmitter() as FakeContents
    c.setWindowOpenHandler = (h) => (c.windowOpenHandler = h)
    c.closeDevTools = () => undefined
    c.getURL = () => url
    c.send = () => undefined
    return c
  }
  return { fake, contents, EventEmitter }
})

vi.mock('electron', async () => {
  const { EventEmitter } = await import('node:events')
  // a getter (Object.assign would copy the value once)
  Object.defineProperty(fake.app, 'isPackaged', { get: () => fake.packaged, configurable: true })
  const app = Object.assign(fake.app, {
    requestSingleInstanceLock: () => fake.gotLock,
    quit: () => void fake.quit++,
    getPath: () => tmpdir(),
    whenReady: () => Promise.resolve(),
  })
  class BrowserWindow extends EventEmitter {
    static getAllWindows = (): unknown[] => []
    webContents = contents('app://studio/index.html')
    constructor(readonly opts: { webPreferences: Record<string, unknown> }) {
      super()
      fake.windows.push(this as never)
    }
    loadURL(url: string): Promise<void> {
      ;(this as unknown as { url: string }).url = url
      return Promise.resolve()
    }
    isDestroyed = (): boolean => false
  }
  const ses = {
    setPermissionRequestHandler: (h: Handler) => (fake.permissionRequest = h),
    setPermissionCheckHandler: (h: Handler) => (fake.permissionCheck = h),
    setDevicePermissionHandler: (h: Handler) => (fake.deviceCheck = h),
    setDisplayMediaRequestHandler: (h: Handler) => (fake.displayMedia = h),
  }
  return {
    app,
    BrowserWindow,
    ipcMain: { handle: (ch: string, h: Handler) => fake.ipc.set(ch, h) },
    Menu: { buildFromTemplate: (t: Fake['menu']) => ({ template: t }), setApplicationMenu: (m: { template: Fake['menu'] }) => (fake.menu = m.template) },
    net: {
      fetch: async (u: string) => {
        fake.fetched.push(u)
        return new Response('<!doctype html>', { status: 200 })
      },
    },
    protocol: { registerSchemesAsPrivileged: () => undefined, handle: (_s: string, h: Fake['protocolHandler']) => (fake.protocolHandler = h) },
    session: { defaultSession: ses },
    shell: { openExternal: async (u: string) => void fake.opened.push(u) },
  }
})

let home: string
beforeEach(() => {
  vi.resetModules()
  home = mkdtempSync(path.join(tmpdir(), 'diffmd-main-'))
  process.env.DIFFMD_HOME = home
  // a packaged app finds resources/ under process.resourcesPath: point it at the repository
  ;(process as { resourcesPath?: string }).resourcesPath = path.resolve('.')
  Object.assign(fake, { packaged: true, gotLock: true, quit: 0, ipc: new Map(), windows: [], opened: [], fetched: [], menu: undefined, protocolHandler: undefined })
  fake.app.removeAllListeners()
})
afterEach(() => {
  delete process.env.DIFFMD_HOME
  delete process.env.ELECTRON_RENDERER_URL
  rmSync(home, { recursive: true, force: true })
})

async function load(): Promise<void> {
  await import('../../../src/main/index')
  // let whenReady().then(...) run (examples seeding reads real files)
  for (let i = 0; i < 200 && fake.windows.length === 0; i++) await new Promise((r) => setTimeout(r, 25))
}

describe('Electron main wiring (stand-in electron module)', () => {
  it('production: every permission request and check is denied, devices and screen capture too', async () => {
    await load()
    const answers: boolean[] = []
    for (const p of ['media', 'geolocation', 'notifications', 'clipboard-read', 'openExternal', 'fullscreen']) {
      ;(fake.permissionRequest as unknown as (c: unknown, p: string, cb: (b: boolean) => void, d: unknown) => void)(contents('app://studio/'), p, (b) => answers.push(b), { requestingUrl: 'app://studio/index.html' })
      expect((fake.permissionCheck as unknown as (c: unknown, p: string, o: string) => boolean)(null, p, 'app://studio')).toBe(false)
    }
    expect(answers).toEqual([false, false, false, false, false, false])
    expect((fake.deviceCheck as unknown as () => boolean)()).toBe(false)
    let media: unknown = 'unset'
    ;(fake.displayMedia as unknown as (r: unknown, cb: (s: unknown) => void) => void)({}, (s) => (media = s))
    expect(media).toEqual({})
  })

  it('production: sandboxed window without devtools, no View menu, app:// URL', async () => {
    await load()
    const prefs = fake.windows[0]!.opts.webPreferences
    expect(prefs).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false, webSecurity: true, devTools: false })
    expect((fake.windows[0] as unknown as { url: string }).url).toBe('app://studio/index.html')
    expect(fake.menu!.map((m) => m.role)).not.toContain('viewMenu')
  })

  it('app:// handler: malformed URLs answer 4xx (never throw), files carry the CSP header', async () => {
    await load()
    const h = fake.protocolHandler!
    expect((await h({ url: 'app://studio/%E0%A4%A' })).status).toBe(400)
    expect((await h({ url: 'app://studio/..%2f..%2fetc%2fpasswd' })).status).toBe(403)
    expect((await h({ url: 'app://elsewhere/x' })).status).toBe(404)
    const ok = await h({ url: 'app://studio/index.html' })
    expect(ok.status).toBe(200)
    expect(ok.headers.get('content-security-policy')).toMatch(/default-src 'self'/)
    expect(ok.headers.get('cross-origin-embedder-policy')).toBe('require-corp')
    expect(fake.fetched.at(-1)).toMatch(/^file:.*index\.html$/)
  })

  it('navigation, redirects and new windows are refused; only allowlisted documentation opens outside', async () => {
    await load()
    const c = contents('app://studio/index.html')
    fake.app.emit('web-contents-created', {}, c)
    const prevented = (event: string, url: string): boolean => {
      let p = false
      c.emit(event, { preventDefault: () => (p = true) }, url)
      return p
    }
    expect(prevented('will-navigate', 'https://evil.example/')).toBe(true)
    expect(prevented('will-redirect', 'https://evil.example/')).toBe(true)
    expect(prevented('will-navigate', 'app://studio/index.html')).toBe(false)
    expect(c.windowOpenHandler!({ url: 'https://arxiv.org/abs/2511.17741' })).toEqual({ action: 'deny' })
    expect(c.windowOpenHandler!({ url: 'https://evil.example/' })).toEqual({ action: 'deny' })
    expect(c.windowOpenHandler!({ url: 'file:///etc/passwd' })).toEqual({ action: 'deny' })
    await new Promise((r) => setTimeout(r, 0))
    expect(fake.opened).toEqual(['https://arxiv.org/abs/2511.17741'])
  })

  it('development: the dev-server check is by origin, so localhost:5173.evil.com is refused (navigation and IPC)', async () => {
    fake.packaged = false
    process.env.ELECTRON_RENDERER_URL = 'http://localhost:5173'
    await load()
    const c = contents('http://localhost:5173/')
    fake.app.emit('web-contents-created', {}, c)
    let prevented = false
    c.emit('will-navigate', { preventDefault: () => (prevented = true) }, 'http://localhost:5173.evil.com/')
    expect(prevented).toBe(true)
    const call = fake.ipc.get('diffmd:call') as unknown as (e: unknown, m: string, i: unknown) => Promise<{ error?: { code: string }; result?: unknown }>
    expect((await call({ senderFrame: { url: 'http://localhost:5173.evil.com/' } }, 'project.list', {})).error?.code).toBe('forbidden')
    const good = await call({ senderFrame: { url: 'http://localhost:5173/' } }, 'project.list', {})
    expect(good.error).toBeUndefined()
    expect(good.result).toBeDefined()
    expect(fake.menu!.map((m) => m.role)).toContain('viewMenu')
    expect(fake.windows[0]!.opts.webPreferences.devTools).toBe(true)
  })

  it('a second instance quits at once (single-instance lock)', async () => {
    fake.gotLock = false
    const exit = vi.spyOn(process, 'exit').mockImplementation(((code?: number) => {
      throw new Error(`exit ${code}`)
    }) as never)
    try {
      await expect(import('../../../src/main/index')).rejects.toThrow('exit 0')
      expect(fake.quit).toBe(1)
      expect(fake.ipc.size).toBe(0)
    } finally {
      exit.mockRestore()
    }
  })
})
