/**
 * Electron shell: one window with secure defaults, IPC → services, events → renderer.
 * No business logic here: services are shared with the CLI and browser mode. The security decisions
 * live in plain modules beside this one (navigation, permissions, external, app-protocol, csp,
 * menu-template), unit-tested without Electron; this file wires them to Electron's hooks.
 */
import { app, BrowserWindow, ipcMain, Menu, net, protocol, session, shell, type IpcMainInvokeEvent, type WebContents } from 'electron'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { dispatch } from '../services/dispatch'
import { EventHub, type ServiceContext } from '../services/context'
import { UserError } from '../core/errors'
import { ensureExamplesProject } from '../services/project/examples'
import { buildMenu } from './menu'
import { APP_ORIGIN, APP_SCHEME, isAppUrl, navigationAllowed } from './navigation'
import { permissionAllowed } from './permissions'
import { externalUrlAllowed } from './external'
import { appResponseHeaders, resolveAppRequest } from './app-protocol'

const here = path.dirname(fileURLToPath(import.meta.url))
/** the electron-vite dev server in development; never set in a packaged build */
const rendererUrl = app.isPackaged ? undefined : process.env.ELECTRON_RENDERER_URL
const production = app.isPackaged
const rendererDir = path.join(here, '../renderer')

// one DiffMD Studio at a time: a second launch focuses the first window and exits
if (!app.requestSingleInstanceLock()) {
  app.quit()
  process.exit(0)
}

/**
 * The renderer is served from app://studio/ rather than file:// so that its responses carry
 * COOP/COEP: the window is cross-origin isolated (SharedArrayBuffer, multi-threaded WASM for
 * onnxruntime-web), exactly like browser mode.
 */
protocol.registerSchemesAsPrivileged([
  { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, stream: true, codeCache: true } },
])
const resourcesDir = app.isPackaged ? path.join(process.resourcesPath, 'resources') : path.join(here, '../../resources')
const home = process.env.DIFFMD_HOME ?? path.join(app.getPath('documents'), 'DiffMD')

const hub = new EventHub()
const ctx: ServiceContext = { home, transport: 'electron', resourcesDir, emit: hub.emit }

/** Only our own renderer may call the services. */
function trustedSender(event: IpcMainInvokeEvent): boolean {
  return isAppUrl(event.senderFrame?.url, rendererUrl)
}

/** Every web permission and device the page could ask for is refused (src/main/permissions.ts). */
function lockDownSession(): void {
  const ses = session.defaultSession
  ses.setPermissionRequestHandler((contents, permission, callback, details) => {
    callback(permissionAllowed(permission, details.requestingUrl ?? contents.getURL(), rendererUrl))
  })
  ses.setPermissionCheckHandler((_contents, permission, requestingOrigin) => permissionAllowed(permission, requestingOrigin, rendererUrl))
  ses.setDevicePermissionHandler(() => false)
  ses.setDisplayMediaRequestHandler((_request, callback) => callback({}))
}

function hardenContents(contents: WebContents): void {
  contents.on('will-attach-webview', (e) => e.preventDefault())
  contents.on('will-navigate', (e, url) => {
    if (!navigationAllowed(url, rendererUrl)) e.preventDefault()
  })
  contents.on('will-redirect', (e, url) => {
    if (!navigationAllowed(url, rendererUrl)) e.preventDefault()
  })
  // no new windows; documentation links open in the user's browser, nothing else leaves the app
  contents.setWindowOpenHandler(({ url }) => {
    if (externalUrlAllowed(url)) void shell.openExternal(url)
    return { action: 'deny' }
  })
  if (production) contents.on('devtools-opened', () => contents.closeDevTools())
}

function createWindow(): BrowserWindow {
  const win = new BrowserWindow({
    width: 1440,
    height: 900,
    minWidth: 960,
    minHeight: 600,
    title: 'DiffMD Studio',
    show: false,
    webPreferences: {
      preload: path.join(here, '../preload/index.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      spellcheck: false,
      devTools: !production,
    },
  })
  win.once('ready-to-show', () => win.show())
  const off = hub.subscribe((e) => {
    if (!win.isDestroyed()) win.webContents.send('diffmd:event', e)
  })
  win.on('closed', off)
  if (rendererUrl) void win.loadURL(rendererUrl)
  else void win.loadURL(`${APP_ORIGIN}/index.html`)
  return win
}

ipcMain.handle('diffmd:call', async (event, method: unknown, input: unknown) => {
  if (!trustedSender(event)) return { error: { code: 'forbidden', message: 'calls are only accepted from the DiffMD Studio window' } }
  if (typeof method !== 'string') return { error: { code: 'bad-request', message: 'method must be a string' } }
  try {
    return { result: await dispatch(ctx, method, input) }
  } catch (err) {
    if (err instanceof UserError) return { error: { code: err.code, message: err.message } }
    // the details go to the log, the window gets a reference (same as browser mode)
    const id = randomBytes(4).toString('hex')
    console.error(`diffmd: internal error ${id} in ${method}: ${(err as Error).stack ?? String(err)}`)
    return { error: { code: 'internal', message: `${method}: internal error (reference ${id}); run DiffMD Studio from a terminal to see the details` } }
  }
})

app.on('web-contents-created', (_e, contents) => hardenContents(contents))

/** app://studio/<path> → out/renderer/<path>, never outside it, with isolation and CSP headers. */
function serveRenderer(): void {
  protocol.handle(APP_SCHEME, async (request) => {
    try {
      const target = resolveAppRequest(request.url, rendererDir)
      if (!('file' in target)) return new Response(target.reason, { status: target.status })
      const res = await net.fetch(pathToFileURL(target.file).toString())
      if (!res.ok) return new Response('not found', { status: 404 })
      return new Response(res.body, { status: 200, headers: new Headers(appResponseHeaders(target.file)) })
    } catch {
      return new Response('not found', { status: 404 })
    }
  })
}

app.on('second-instance', () => {
  const win = BrowserWindow.getAllWindows()[0]
  if (!win) return
  if (win.isMinimized()) win.restore()
  win.focus()
})

app.whenReady().then(async () => {
  lockDownSession()
  serveRenderer()
  await ensureExamplesProject(ctx)
  Menu.setApplicationMenu(buildMenu(production))
  createWindow()
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createWindow()
  })
})

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit()
})
