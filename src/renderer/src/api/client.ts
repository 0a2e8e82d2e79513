/**
 * One client interface over both transports: Electron (window.diffmd from the preload) and browser
 * mode (HTTP POST /api/<method>). Browser mode authenticates with an HttpOnly session cookie that the
 * server set when it exchanged the launch token (src/serve/auth.ts): this code never sees the token,
 * and nothing is kept in the URL, sessionStorage or localStorage.
 */
import type { DiffmdClient, Input, Method, Output } from '../../../api/contract'
import { ApiError } from '../../../api/errors'

export interface ServiceEventMessage {
  topic: string
  payload: unknown
}

export interface StudioClient extends DiffmdClient {
  readonly transport: 'electron' | 'http'
  /** progress events from long service jobs */
  subscribe(listener: (e: ServiceEventMessage) => void): () => void
  /**
   * A path the services can read for a file the user dropped or picked: Electron gives the file's
   * own path; browser mode streams it to the server's upload folder first (onProgress: bytes sent).
   */
  localPath(file: File, onProgress?: (sent: number, total: number) => void, signal?: AbortSignal): Promise<string>
  /**
   * Fire-and-forget call that still goes out while the page unloads (pagehide): browser mode uses
   * navigator.sendBeacon (the session cookie goes with it, ≤ 64 KiB), Electron an IPC message. False when it could not be sent.
   */
  beacon<M extends Method>(method: M, input: Input<M>): boolean
}

interface Reply {
  result?: unknown
  error?: { code: string; message: string }
}

function unwrap<T>(reply: Reply, method: string): T {
  if (reply.error) throw new ApiError(reply.error.code, reply.error.message)
  if (!('result' in reply)) throw new ApiError('internal', `${method}: empty reply`)
  return reply.result as T
}

export function electronClient(bridge: DiffmdPreload): StudioClient {
  return {
    transport: 'electron',
    async call<M extends Method>(method: M, input: Input<M>): Promise<Output<M>> {
      return unwrap<Output<M>>(await bridge.call(method, input), method)
    },
    subscribe: (listener) => bridge.onEvent(listener),
    async localPath(file) {
      const p = bridge.pathForFile(file)
      if (!p) throw new ApiError('bad-request', `${file.name}: this file has no path on disk (dragged from another app?); save it to a folder and drop it from there`)
      return p
    },
    beacon(method, input) {
      void bridge.call(method, input).catch(() => undefined)
      return true
    },
  }
}

/** POST /api/upload with progress (fetch has no upload progress): resolves to the server-side path. */
function upload(base: string, file: File, onProgress?: (sent: number, total: number) => void, signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest()
    xhr.open('POST', `${base}/api/upload?name=${encodeURIComponent(file.name)}`)
    xhr.setRequestHeader('Content-Type', 'application/octet-stream')
    xhr.upload.onprogress = (e) => onProgress?.(e.loaded, e.lengthComputable ? e.total : file.size)
    xhr.onerror = () => reject(new ApiError('offline', `${file.name}: upload failed (the DiffMD service is not reachable); is \`npm run serve\` still running?`))
    xhr.onabort = () => reject(new ApiError('cancelled', `${file.name}: upload cancelled`))
    xhr.onload = () => {
      let reply: Reply & { path?: string }
      try {
        reply = JSON.parse(xhr.responseText) as Reply & { path?: string }
      } catch {
        reject(new ApiError('internal', `${file.name}: upload answered HTTP ${xhr.status} without JSON`))
        return
      }
      if (reply.error) reject(new ApiError(reply.error.code, reply.error.message))
      else if (typeof reply.path === 'string') resolve(reply.path)
      else reject(new ApiError('internal', `${file.name}: upload reply has no path`))
    }
    signal?.addEventListener('abort', () => xhr.abort(), { once: true })
    xhr.send(file)
  })
}

/** Browser mode's client: same-origin requests carry the session cookie. */
export function httpClient(base = ''): StudioClient {
  let source: EventSource | undefined
  const listeners = new Set<(e: ServiceEventMessage) => void>()
  return {
    transport: 'http',
    async call<M extends Method>(method: M, input: Input<M>): Promise<Output<M>> {
      let res: Response
      try {
        res = await fetch(`${base}/api/${method}`, {
          method: 'POST',
          credentials: 'same-origin',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify(input ?? {}),
        })
      } catch (err) {
        throw new ApiError('offline', `${method}: the DiffMD service is not reachable (${(err as Error).message}); is \`npm run serve\` still running?`)
      }
      let reply: Reply
      try {
        reply = (await res.json()) as Reply
      } catch {
        throw new ApiError('internal', `${method}: HTTP ${res.status} with a non-JSON reply`)
      }
      return unwrap<Output<M>>(reply, method)
    },
    subscribe(listener) {
      listeners.add(listener)
      if (!source) {
        source = new EventSource(`${base}/api/events`)
        source.onmessage = (m) => {
          const e = JSON.parse(m.data as string) as ServiceEventMessage
          for (const l of listeners) l(e)
        }
      }
      return () => {
        listeners.delete(listener)
        if (listeners.size === 0 && source) {
          source.close()
          source = undefined
        }
      }
    },
    localPath: (file, onProgress, signal) => upload(base, file, onProgress, signal),
    beacon(method, input) {
      const body = new Blob([JSON.stringify(input ?? {})], { type: 'application/json' })
      return navigator.sendBeacon(`${base}/api/${method}`, body)
    },
  }
}

/** The client for this page: Electron when the preload bridge exists, else HTTP with the session cookie. */
export function createClient(): StudioClient {
  if (window.diffmd) return electronClient(window.diffmd)
  // earlier versions kept the token in sessionStorage; the server now exchanges it for a cookie
  sessionStorage.removeItem('diffmd-token')
  // the server redirects ?token= away; should one still be in the address bar, drop it from history
  const url = new URL(window.location.href)
  if (url.searchParams.has('token')) {
    url.searchParams.delete('token')
    history.replaceState(history.state, '', url.pathname + url.search + url.hash)
  }
  return httpClient()
}

/** What this renderer can run: WebGPU adapter or not (app.info's service half cannot know). */
export async function detectWebGpu(): Promise<{ available: boolean; adapter?: string }> {
  const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu
  if (!gpu) return { available: false }
  try {
    const adapter = (await gpu.requestAdapter()) as { info?: { vendor?: string; architecture?: string; description?: string } } | null
    if (!adapter) return { available: false }
    const info = adapter.info
    const name = [info?.vendor, info?.architecture, info?.description].filter(Boolean).join(' ') || 'unknown adapter'
    return { available: true, adapter: name }
  } catch {
    return { available: false }
  }
}
