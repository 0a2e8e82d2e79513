/** Harness side of the sampler tests and benchmark: runs startSampling and gathers the frames. */
import { startSampling } from '../src/sampler/sampler-client'
import type { ClientSamplerParams, SamplingResult } from '../src/sampler/protocol'

export interface HarnessSamplerRequest {
  modelBase64: string
  card: Record<string, unknown>
  init: number[]
  params: ClientSamplerParams
  backend: 'auto' | 'webgpu' | 'wasm'
  engine?: 'auto' | 'fused' | 'stepwise'
  /** WebGPU fused runs: replay a captured graph (default true) */
  graphCapture?: boolean
  /** return the frames (small runs only) */
  collect?: boolean
  /** abort after this many frames have arrived */
  stopAfterFrames?: number
  /** abort this long after the first frames arrived (benchmarks: start-up is not timed) */
  stopAfterMs?: number
  /** params.mhKernel 'covariance': the frames [n, d] float32 of its covariance, base64 */
  mhFramesBase64?: string
}

export interface HarnessSamplerResult {
  result: SamplingResult
  backendDetail: string
  /** frames received (each with all replicas) */
  received: number
  /** start index of each onFrames call */
  starts: number[]
  /** ms from the request to the model being loaded on its backend (worker start-up, onnxruntime init, session creation) */
  startupMs: number
  /** frames/s after the first made frame arrived (excludes start-up and first-call shader compilation) */
  steadyFps: number
  /** [F, R·d] when collect */
  frames?: number[]
  wallMs: number
}

function fromBase64(s: string): ArrayBuffer {
  const bin = atob(s)
  const out = new Uint8Array(bin.length)
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i)
  return out.buffer
}

export async function runHarnessSampler(req: HarnessSamplerRequest): Promise<HarnessSamplerResult> {
  const rowLen = req.init.length
  const chunks: { start: number; data: Float32Array }[] = []
  const starts: number[] = []
  let received = 0
  let detail = ''
  const ac = new AbortController()
  let timer: ReturnType<typeof setTimeout> | undefined
  let tFirst: number | undefined
  let startupMs = NaN
  let atFirst = 0
  const t0 = performance.now()
  const result = await startSampling(
    { modelUrl: fromBase64(req.modelBase64), card: req.card, init: Float32Array.from(req.init), params: req.params, backend: req.backend, ...(req.mhFramesBase64 ? { mhFrames: new Float32Array(fromBase64(req.mhFramesBase64)) } : {}) },
    (start, frames) => {
      starts.push(start)
      const n = frames.length / rowLen
      if (tFirst === undefined && start + n > 1) {
        tFirst = performance.now()
        atFirst = received + n
      }
      if (start !== received) throw new Error(`frames arrived out of order: expected ${received}, got ${start}`)
      received += n
      if (req.collect) chunks.push({ start, data: frames })
      if (req.stopAfterFrames !== undefined && received >= req.stopAfterFrames) ac.abort()
      if (req.stopAfterMs !== undefined && !timer) timer = setTimeout(() => ac.abort(), req.stopAfterMs)
    },
    ac.signal,
    {
      engine: req.engine,
      ...(req.graphCapture !== undefined ? { graphCapture: req.graphCapture } : {}),
      onBackend: (_b, d) => {
        detail = d
        startupMs = performance.now() - t0
      },
    }
  )
  if (timer) clearTimeout(timer)
  const tEnd = performance.now()
  const steadyFps = tFirst !== undefined && tEnd > tFirst && received > atFirst ? (received - atFirst) / ((tEnd - tFirst) / 1000) : 0
  const out: HarnessSamplerResult = { result, backendDetail: detail, received, starts, wallMs: tEnd - t0, steadyFps, startupMs }
  if (req.collect) {
    const all = new Float32Array(received * rowLen)
    for (const c of chunks) all.set(c.data, c.start * rowLen)
    out.frames = Array.from(all)
  }
  return out
}
