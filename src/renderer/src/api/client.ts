/**
 * One client interface over both transports: Electron (window.diffmd from the preload) and browser
 * mode (HTTP POST /api/<method> with the per-launch token from the page URL).
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
  }
}

export function httpClient(token: string, base = ''): StudioClient {
  let source: EventSource | undefined
  const listeners = new Set<(e: ServiceEventMessage) => void>()
  return {
    transport: 'http',
    async call<M extends Method>(method: M, input: Input<M>): Promise<Output<M>> {
      let res: Response
      try {
        res = await fetch(`${base}/api/${method}`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
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
        source = new EventSource(`${base}/api/events?token=${encodeURIComponent(token)}`)
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
  }
}

/** The client for this page: Electron when the preload bridge exists, else HTTP with the URL's token. */
export function createClient(): StudioClient {
  if (window.diffmd) return electronClient(window.diffmd)
  const params = new URLSearchParams(window.location.search)
  const token = params.get('token') ?? sessionStorage.getItem('diffmd-token') ?? ''
  if (token) sessionStorage.setItem('diffmd-token', token)
  return httpClient(token)
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
