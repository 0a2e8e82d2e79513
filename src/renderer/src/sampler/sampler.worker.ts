/**
 * Sampler Web Worker (module): onnxruntime-web on WebGPU when an adapter exists (or when asked),
 * else WASM (multi-threaded when the page is cross-origin isolated). onnxruntime-web's .wasm and
 * .mjs are separate build assets (imported with ?url) and ort.env.wasm.wasmPaths points at them,
 * so its own thread workers load that small .mjs rather than this bundle. Runs one request at a
 * time; the client reuses an idle worker for the next run (onnxruntime's start-up is paid once) and
 * drops it after an error (a lost GPU device cannot be recovered inside one onnxruntime instance).
 */
import type { InferenceSession } from 'onnxruntime-common'
import wasmWasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.wasm?url'
import wasmMjsUrl from 'onnxruntime-web/ort-wasm-simd-threaded.mjs?url'
import gpuWasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.jsep.wasm?url'
import gpuMjsUrl from 'onnxruntime-web/ort-wasm-simd-threaded.jsep.mjs?url'
import type { OrtRuntime } from '../../../core/nn/runtime'
import { cpuEngine, openEngine, type OpenEngine, type EngineInput } from './engine'
import type { FromWorker, SamplerBackend, ToWorker, WorkerStart } from './protocol'
import { oneLine } from './errors'
import { wasmThreads } from './wasm-threads'

interface WorkerScope {
  postMessage(msg: FromWorker, transfer?: Transferable[]): void
  onmessage: ((e: MessageEvent<ToWorker>) => void) | null
}
interface GpuLike {
  requestAdapter(opts?: { powerPreference?: string }): Promise<{ info?: { vendor?: string; architecture?: string; description?: string } } | null>
}
interface DeviceLike {
  lost: Promise<{ reason?: string; message?: string }>
}

type Ort = typeof import('onnxruntime-web')

const scope = self as unknown as WorkerScope
let stop: AbortController | undefined
let gpuLost: string | undefined

function post(msg: FromWorker, transfer?: Transferable[]): void {
  scope.postMessage(msg, transfer)
}

/**
 * onnxruntime-web builds, loaded on first use: WASM runs use the plain WebAssembly build (14 MB,
 * starts several times faster than the WebGPU-capable one), WebGPU runs the JSEP build.
 */
const runtimes = new Map<SamplerBackend, Promise<Ort>>()

function runtime(backend: SamplerBackend): Promise<Ort> {
  let p = runtimes.get(backend)
  if (!p) {
    p = (backend === 'webgpu' ? import('onnxruntime-web') : (import('onnxruntime-web/wasm') as Promise<Ort>)).then((ort) => {
      const [wasm, mjs] = backend === 'webgpu' ? [gpuWasmUrl, gpuMjsUrl] : [wasmWasmUrl, wasmMjsUrl]
      ort.env.wasm.wasmPaths = { wasm: new URL(wasm, self.location.href).href, mjs: new URL(mjs, self.location.href).href }
      const cores = typeof navigator !== 'undefined' ? navigator.hardwareConcurrency || 1 : 1
      ort.env.wasm.numThreads = wasmThreads(cores, self.crossOriginIsolated)
      ort.env.wasm.proxy = false
      ort.env.logLevel = 'error'
      return ort
    })
    runtimes.set(backend, p)
  }
  return p
}

async function webgpuAdapter(): Promise<string | undefined> {
  const gpu = (navigator as unknown as { gpu?: GpuLike }).gpu
  if (!gpu) return undefined
  try {
    const a = await gpu.requestAdapter({ powerPreference: 'high-performance' })
    if (!a) return undefined
    const i = a.info
    return [i?.vendor, i?.architecture, i?.description].filter(Boolean).join(' ') || 'WebGPU adapter'
  } catch {
    return undefined
  }
}

function sessionOptions(backend: SamplerBackend): InferenceSession.SessionOptions {
  return { executionProviders: [backend], graphOptimizationLevel: 'all', logSeverityLevel: 3 }
}

async function watchDevice(ort: Ort): Promise<void> {
  try {
    const device = (await ort.env.webgpu.device) as unknown as DeviceLike
    void device.lost.then((info) => {
      gpuLost = info.message || info.reason || 'device lost'
    })
  } catch {
    // the device is internal to onnxruntime; without it we only miss the nicer message
  }
}

function isUserError(err: unknown): boolean {
  return err instanceof Error && err.name === 'UserError'
}

async function loadModel(model: ArrayBuffer | string): Promise<Uint8Array> {
  if (typeof model !== 'string') return new Uint8Array(model)
  const res = await fetch(model)
  if (!res.ok) throw new Error(`could not load the model from ${model}: HTTP ${res.status}`)
  return new Uint8Array(await res.arrayBuffer())
}

async function start(msg: WorkerStart, signal: AbortSignal): Promise<void> {
  const input: EngineInput = { model: await loadModel(msg.model), card: msg.card, init: msg.init, params: msg.params, resumeFrom: msg.resumeFrom, checkpointEvery: msg.checkpointEvery, engine: msg.engine, ...(msg.graphCapture === false ? { graphCapture: false } : {}), ...(msg.mhFrames ? { mhFrames: msg.mhFrames } : {}) }
  let backend: SamplerBackend = 'wasm'
  let detail = ''
  let engine: OpenEngine | undefined
  if (msg.backend !== 'wasm') {
    if (gpuLost) throw new Error(`WebGPU adapter lost (${gpuLost}); rerun with backend WASM`)
    const adapter = await webgpuAdapter()
    if (adapter) {
      try {
        const ort = await runtime('webgpu')
        engine = await openEngine(ort as unknown as OrtRuntime, input, sessionOptions('webgpu'))
        backend = 'webgpu'
        detail = `WebGPU (${adapter})`
        await watchDevice(ort)
      } catch (err) {
        if (isUserError(err)) throw err
        if (msg.backend === 'webgpu') throw new Error(`WebGPU could not run this model (${oneLine(err)}); rerun with backend WASM`)
      }
    } else if (msg.backend === 'webgpu') {
      throw new Error('WebGPU is not available here (no adapter); rerun with backend WASM')
    }
  }
  if (!engine) {
    const ort = await runtime('wasm')
    // on the CPU, one run per denoising step measured faster than the fused graph for bridge (bench:ui),
    // and per-call overhead is small: 'auto' means step by step there, except bridge-mh with many
    // replicas (cpuEngine; same frames either way, within float32 rounding)
    const cpuInput = input.engine === 'fused' || input.engine === 'stepwise' ? input : { ...input, engine: cpuEngine(input.params) }
    engine = await openEngine(ort as unknown as OrtRuntime, cpuInput, sessionOptions('wasm'))
    detail = `WASM, ${ort.env.wasm.numThreads} thread(s)`
  }
  detail += engine.engine === 'fused' ? ', fused steps' : `, step by step${engine.fallbackReason ? ` (${engine.fallbackReason})` : ''}`
  post({ type: 'backend', backend, detail })
  let result: Awaited<ReturnType<OpenEngine['run']>> | undefined
  let failure: unknown
  try {
    result = await engine.run({
      signal,
      emitFrames: (s, count, data) => post({ type: 'frames', start: s, count, data }, [data.buffer]),
      emitCheckpoint: msg.checkpointEvery > 0 ? (json) => post({ type: 'checkpoint', json }) : undefined,
    })
  } catch (err) {
    failure = err
  } finally {
    await engine.release()
  }
  if (backend === 'webgpu' && gpuLost) throw new Error(`WebGPU adapter lost (${gpuLost}); rerun with backend WASM`)
  if (failure !== undefined || !result) throw failure
  post({ type: 'done', result: { ...result, backend } })
}

scope.onmessage = (e) => {
  const msg = e.data
  if (msg.type === 'stop') {
    stop?.abort()
    return
  }
  if (msg.type === 'start') {
    if (stop) {
      post({ type: 'error', message: 'sampler worker: a run is already going (one run at a time)', reusable: false })
      return
    }
    const ac = new AbortController()
    stop = ac
    start(msg, ac.signal)
      .catch((err: unknown) => post({ type: 'error', message: oneLine(err), reusable: isUserError(err) && !gpuLost }))
      .finally(() => {
        stop = undefined
      })
  }
}
