/**
 * Electron shell: one window with secure defaults, IPC → services, events → renderer.
 * No business logic here: services are shared with the CLI and browser mode.
 */
import { app, BrowserWindow, ipcMain, Menu, shell, type IpcMainInvokeEvent } from 'electron'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { dispatch } from '../services/dispatch'
import { EventHub, type ServiceContext } from '../services/context'
import { UserError } from '../core/errors'
import { ensureExamplesProject } from '../services/project/examples'
import { buildMenu } from './menu'

const here = path.dirname(fileURLToPath(import.meta.url))
const rendererUrl = process.env.ELECTRON_RENDERER_URL
const rendererFile = path.join(here, '../renderer/index.html')
const resourcesDir = app.isPackaged ? path.join(process.resourcesPath, 'resources') : path.join(here, '../../resources')
const home = process.env.DIFFMD_HOME ?? path.join(app.getPath('documents'), 'DiffMD')

const hub = new EventHub()
const ctx: ServiceContext = { home, transport: 'electron', resourcesDir, emit: hub.emit }

/** Only our own renderer may call the services. */
function trustedSender(event: IpcMainInvokeEvent): boolean {
  const url = event.senderFrame?.url ?? ''
  if (rendererUrl) return url.startsWith(rendererUrl)
  return url.startsWith('file://') && decodeURIComponent(new URL(url).pathname).endsWith('/renderer/index.html')
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
  else void win.loadFile(rendererFile)
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

app.whenReady().then(async () => {
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
