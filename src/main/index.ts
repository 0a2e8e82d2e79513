/**
 * Electron shell: one window with secure defaults, IPC → services, events → renderer.
 * No business logic here: services are shared with the CLI and browser mode.
 */
import { app, BrowserWindow, ipcMain, Menu, net, protocol, shell, type IpcMainInvokeEvent } from 'electron'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { dispatch } from '../services/dispatch'
import { EventHub, type ServiceContext } from '../services/context'
import { UserError } from '../core/errors'
import { ensureExamplesProject } from '../services/project/examples'
import { buildMenu } from './menu'
import { ISOLATION_HEADERS, mimeOf } from '../services/fs/mime'

const here = path.dirname(fileURLToPath(import.meta.url))
const rendererUrl = process.env.ELECTRON_RENDERER_URL
const rendererDir = path.join(here, '../renderer')
/**
 * The renderer is served from app://studio/ rather than file:// so that its responses carry
 * COOP/COEP: the window is cross-origin isolated (SharedArrayBuffer, multi-threaded WASM for
 * onnxruntime-web), exactly like browser mode.
 */
const APP_ORIGIN = 'app://studio'
protocol.registerSchemesAsPrivileged([
  { scheme: 'app', privileges: { standard: true, secure: true, supportFetchAPI: true, stream: true, codeCache: true } },
])
const resourcesDir = app.isPackaged ? path.join(process.resourcesPath, 'resources') : path.join(here, '../../resources')
const home = process.env.DIFFMD_HOME ?? path.join(app.getPath('documents'), 'DiffMD')

const hub = new EventHub()
const ctx: ServiceContext = { home, transport: 'electron', resourcesDir, emit: hub.emit }

/** Only our own renderer may call the services. */
function trustedSender(event: IpcMainInvokeEvent): boolean {
  const url = event.senderFrame?.url ?? ''
  if (rendererUrl) return url.startsWith(rendererUrl)
  return url.startsWith(`${APP_ORIGIN}/`)
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
    },
  })
  win.once('ready-to-show', () => win.show())
  // navigation and new windows are blocked; https links open in the user's browser
  win.webContents.setWindowOpenHandler(({ url }) => {
    if (url.startsWith('https://')) void shell.openExternal(url)
    return { action: 'deny' }
  })
  win.webContents.on('will-navigate', (e, url) => {
    if (rendererUrl && url.startsWith(rendererUrl)) return
    e.preventDefault()
  })
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
    return { error: { code: 'internal', message: `${method}: ${(err as Error).message}` } }
  }
})

app.on('web-contents-created', (_e, contents) => {
  contents.on('will-attach-webview', (e) => e.preventDefault())
})

/** app://studio/<path> → out/renderer/<path>, never outside it, with isolation headers. */
function serveRenderer(): void {
  const root = path.resolve(rendererDir)
  protocol.handle('app', async (request) => {
    const rel = decodeURIComponent(new URL(request.url).pathname)
    const file = path.resolve(root, '.' + (rel === '/' ? '/index.html' : rel))
    if (!file.startsWith(root + path.sep)) return new Response('forbidden', { status: 403 })
    try {
      const res = await net.fetch(pathToFileURL(file).toString())
      if (!res.ok) return new Response('not found', { status: 404 })
      const headers = new Headers({ ...ISOLATION_HEADERS, 'Content-Type': mimeOf(file) })
      return new Response(res.body, { status: 200, headers })
    } catch {
      return new Response('not found', { status: 404 })
    }
  })
}

app.whenReady().then(async () => {
  serveRenderer()
  await ensureExamplesProject(ctx)
  Menu.setApplicationMenu(buildMenu())
  createWindow()
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createWindow()
  })
})

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit()
})
