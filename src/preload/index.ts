/**
 * The only bridge between the sandboxed renderer and the main process: window.diffmd.
 */
import { contextBridge, ipcRenderer, webUtils } from 'electron'

interface Reply {
  result?: unknown
  error?: { code: string; message: string }
}

const api = {
  transport: 'electron' as const,
  call: (method: string, input: unknown): Promise<Reply> => ipcRenderer.invoke('diffmd:call', method, input) as Promise<Reply>,
  onEvent: (listener: (e: { topic: string; payload: unknown }) => void): (() => void) => {
    const wrapped = (_: unknown, e: { topic: string; payload: unknown }): void => listener(e)
    ipcRenderer.on('diffmd:event', wrapped)
    return () => ipcRenderer.removeListener('diffmd:event', wrapped)
  },
  /** absolute path of a dropped File (Electron ≥ 32 no longer exposes File.path) */
  pathForFile: (file: File): string => webUtils.getPathForFile(file),
}

contextBridge.exposeInMainWorld('diffmd', api)

export type PreloadApi = typeof api
