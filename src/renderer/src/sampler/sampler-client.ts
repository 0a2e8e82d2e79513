/**
 * startSampling: runs the adapter-coupled sampler in a module Web Worker (sampler.worker.ts) with
 * onnxruntime-web on WebGPU or WASM, streaming frames back as they are made.
 *
 *   const ac = new AbortController()
 *   const res = await startSampling(req, (start, frames) => store.append(start, frames), ac.signal)
 *
 * onFrames(start, frames): frames start … start+n−1 as one Float32Array [n, R·d] (frame-major;
 * frame 0 is the initial state of a fresh run). Aborting the signal stops the run after the frame
 * in progress: the promise then resolves with `stopped: true` (everything made was delivered).
 * Failures reject with a one-line Error (e.g. "WebGPU adapter lost (…); rerun with backend WASM").
 */
import type { BackendChoice, FromWorker, SamplingRequest, SamplingResult, ToWorker } from './protocol'
import { checkpointToJson, type Checkpoint } from '../../../core/sampler/checkpoint'

export type { SamplingRequest, SamplingResult, ClientSamplerParams, BackendChoice, SamplerBackend } from './protocol'

export interface SamplingExtras {
  /** checkpoints (checkpointToJson text) every `checkpointEvery` frames, for resuming later */
  onCheckpoint?: (json: string) => void
  checkpointEvery?: number
  /** the backend actually used, as soon as the model is loaded ('WebGPU (adapter)', 'WASM, 2 thread(s)') */
  onBackend?: (backend: 'webgpu' | 'wasm', detail: string) => void
  /**
   * 'auto' (default): WebGPU runs the fused K-step graph when it applies (one call per step instead
   * of one per denoising step), WASM runs step by step (faster on the CPU); 'fused' / 'stepwise' force one
   */
  engine?: 'auto' | 'fused' | 'stepwise'
  /** WebGPU fused runs: replay a captured graph when onnxruntime can capture it (default true) */
  graphCapture?: boolean
  /** the backend decided before the run starts, and why (for 'auto': which adapter decided it) */
  onBackendChoice?: (choice: BackendDecision) => void
}

export interface BackendDecision {
  backend: 'webgpu' | 'wasm'
  reason: string
}

interface AdapterLike {
  isFallbackAdapter?: boolean
  info?: { vendor?: string; architecture?: string; device?: string; description?: string; isFallbackAdapter?: boolean }
}

/** software rasterisers that expose WebGPU on the CPU: slower than onnxruntime's WASM build there */
const SOFTWARE_ADAPTER = /swiftshader|llvmpipe|lavapipe|softpipe|software|microsoft basic render/i

/**
 * What 'auto' means: WebGPU only on a hardware adapter. A fallback adapter (isFallbackAdapter) or a
 * software one (SwiftShader, llvmpipe, lavapipe) runs the model far slower than WASM on the same CPU
 * (measured 0.8 vs 68 frames/s for the ala2 model), so it is never preferred to WASM.
 */
export function decideBackend(choice: BackendChoice, adapter: AdapterLike | null | undefined): BackendDecision {
  if (choice === 'wasm') return { backend: 'wasm', reason: 'WASM chosen in the settings' }
  if (choice === 'webgpu') return { backend: 'webgpu', reason: 'WebGPU chosen in the settings' }
  if (!adapter) return { backend: 'wasm', reason: 'auto: no WebGPU adapter here, so WASM (CPU)' }
  const i = adapter.info ?? {}
  const name = [i.vendor, i.architecture, i.device, i.description].filter(Boolean).join(' ') || 'unnamed adapter'
  if (adapter.isFallbackAdapter === true || i.isFallbackAdapter === true) return { backend: 'wasm', reason: `auto: the WebGPU adapter (${name}) is a fallback (software) adapter, slower than WASM on this CPU` }
  if (SOFTWARE_ADAPTER.test(name)) return { backend: 'wasm', reason: `auto: the WebGPU adapter (${name}) is software rendering (CPU), slower than WASM` }
  return { backend: 'webgpu', reason: `auto: hardware WebGPU adapter (${name})` }
}

/** resolves 'auto' against this browser's WebGPU adapter (high-performance preference) */
export async function chooseBackend(choice: BackendChoice): Promise<BackendDecision> {
  if (choice !== 'auto') return decideBackend(choice, null)
  const gpu = (globalThis.navigator as unknown as { gpu?: { requestAdapter(o?: { powerPreference?: string }): Promise<AdapterLike | null> } } | undefined)?.gpu
  let adapter: AdapterLike | null = null
  try {
    adapter = gpu ? await gpu.requestAdapter({ powerPreference: 'high-performance' }) : null
  } catch {
    adapter = null
  }
  return decideBackend('auto', adapter)
}

/** after a stop request, how long the worker gets to finish its frame before it is terminated */
const STOP_GRACE_MS = 5000

/**
 * One idle worker is kept after a successful run, so the next run skips onnxruntime's start-up
 * (compiling its WebAssembly). Workers that failed are dropped.
 */
let idleWorker: Worker | undefined

function takeWorker(): Worker {
  const w = idleWorker
  idleWorker = undefined
  return w ?? new Worker(new URL('./sampler.worker.ts', import.meta.url), { type: 'module', name: 'diffmd-sampler' })
}

function returnWorker(w: Worker): void {
  w.onmessage = null
  w.onerror = null
  w.onmessageerror = null
  if (idleWorker) w.terminate()
  else idleWorker = w
}

/** terminates the idle worker (e.g. when the sampler view closes) */
export function releaseSamplerWorker(): void {
  idleWorker?.terminate()
  idleWorker = undefined
}

/** samples on the backend 'auto' resolves to (chooseBackend), never on a software WebGPU adapter by default */
export async function startSampling(req: SamplingRequest, onFrames: (start: number, frames: Float32Array) => void, signal: AbortSignal, extras: SamplingExtras = {}): Promise<SamplingResult> {
  const decision = await chooseBackend(req.backend)
  extras.onBackendChoice?.(decision)
  return runWorker({ ...req, backend: decision.backend }, onFrames, signal, extras)
}

function runWorker(req: SamplingRequest, onFrames: (start: number, frames: Float32Array) => void, signal: AbortSignal, extras: SamplingExtras): Promise<SamplingResult> {
  return new Promise<SamplingResult>((resolve, reject) => {
    let worker: Worker
    try {
      worker = takeWorker()
    } catch (err) {
      reject(new Error(`could not start the sampler worker: ${(err as Error).message}`))
      return
    }
    let settled = false
    let backend: 'webgpu' | 'wasm' = 'wasm'
    let graceTimer: ReturnType<typeof setTimeout> | undefined
    const rejections = new Array<number>(req.params.replicas).fill(0)
    const finish = (fn: () => void, keepWorker = false): void => {
      if (settled) return
      settled = true
      signal.removeEventListener('abort', onAbort)
      if (graceTimer) clearTimeout(graceTimer)
      if (keepWorker) returnWorker(worker)
      else worker.terminate()
      fn()
    }
    const onAbort = (): void => {
      worker.postMessage({ type: 'stop' } satisfies ToWorker)
      // a worker stuck in a long GPU call is cut off; frames already delivered stay delivered
      graceTimer = setTimeout(() => finish(() => resolve({ backend, framesPerSecond: 0, rejections, stopped: true })), STOP_GRACE_MS)
    }
    worker.onmessage = (e: MessageEvent<FromWorker>) => {
      const m = e.data
      if (settled) return
      switch (m.type) {
        case 'backend':
          backend = m.backend
          extras.onBackend?.(m.backend, m.detail)
          break
        case 'frames':
          try {
            onFrames(m.start, m.data)
          } catch (err) {
            worker.postMessage({ type: 'stop' } satisfies ToWorker)
            finish(() => reject(new Error(`onFrames failed: ${(err as Error).message}`)))
          }
          break
        case 'checkpoint':
          extras.onCheckpoint?.(m.json)
          break
        case 'done':
          finish(() => resolve(m.result), true)
          break
        case 'error':
          finish(() => reject(new Error(m.message)), m.reusable)
          break
      }
    }
    worker.onerror = (e: ErrorEvent) => {
      e.preventDefault()
      finish(() => reject(new Error(`sampler worker failed: ${e.message || 'could not load the worker script'}`)))
    }
    worker.onmessageerror = () => finish(() => reject(new Error('sampler worker: a message could not be read')))
    if (signal.aborted) {
      finish(() => resolve({ backend, framesPerSecond: 0, rejections, stopped: true }), true)
      return
    }
    signal.addEventListener('abort', onAbort, { once: true })
    const model = typeof req.modelUrl === 'string' ? new URL(req.modelUrl, self.location.href).href : req.modelUrl.slice(0)
    const init = Float32Array.from(req.init)
    const mhFrames = req.mhFrames ? Float32Array.from(req.mhFrames) : undefined
    const start: ToWorker = {
      type: 'start',
      model,
      // plain copies: reactive (Proxy) objects from a store cannot be posted
      card: plain(req.card),
      init,
      params: plain(req.params),
      backend: req.backend,
      resumeFrom: resumeText(req.resumeFrom),
      checkpointEvery: extras.onCheckpoint ? Math.max(0, Math.floor(extras.checkpointEvery ?? 100)) : 0,
      engine: extras.engine ?? 'auto',
      ...(extras.graphCapture === false ? { graphCapture: false } : {}),
      ...(mhFrames ? { mhFrames } : {}),
    }
    const transfer: Transferable[] = [init.buffer]
    if (mhFrames) transfer.push(mhFrames.buffer)
    if (typeof model !== 'string') transfer.push(model)
    worker.postMessage(start, transfer)
  })
}

function plain<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T
}

function resumeText(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined
  if (typeof v === 'string') return v
  const o = v as Partial<Checkpoint>
  if (o.positions instanceof Float32Array) return checkpointToJson(o as Checkpoint)
  return JSON.stringify(v)
}
