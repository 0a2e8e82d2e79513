/**
 * Messages between sampler-client.ts (renderer) and sampler.worker.ts. Frames travel as
 * transferred Float32Array [n, R·d] (frame-major: frame f, replica r, coordinate i at (f·R + r)·d + i).
 */

import type { SamplerParams } from '../../../core/sampler/params'

export type SamplerBackend = 'webgpu' | 'wasm'
export type BackendChoice = 'auto' | SamplerBackend

/**
 * The core sampler's parameters (src/core/sampler/params.ts) as they cross postMessage: the trust
 * region travels as plain arrays; `parallel` (Picard windows) runs the step-by-step engine, one
 * batched call of R·W rows per denoising step (docs/speed.md "Picard windows in the app").
 */
export type ClientSamplerParams = Omit<SamplerParams, 'trustRegion'> & {
  trustRegion?: { mean: number[]; scale: number[]; radius: number }
}

export interface SamplingRequest {
  /** URL of the ONNX file (fetched by the worker) or its bytes (copied, the caller's buffer stays usable) */
  modelUrl: string | ArrayBuffer
  /** the model card (src/core/nn/card.ts): dim, sigmaRange, reference (aligned models), name */
  card: Record<string, unknown>
  /** starting positions [R·d] (Å) */
  init: Float32Array
  params: ClientSamplerParams
  backend: BackendChoice
  /** a checkpoint (object or checkpointToJson text) to continue from; frames then start after it */
  resumeFrom?: unknown
  /**
   * params.mhKernel 'covariance' (bridge-mh): the frames [n, d] (Å) whose covariance preconditions
   * the down kernel; the worker aligns them as the model sees them and eigen-decomposes it
   */
  mhFrames?: Float32Array
}

export interface SamplingResult {
  backend: SamplerBackend
  /** saved frames (all replicas together) per second of sampling, model load excluded */
  framesPerSecond: number
  /** rejected steps per replica (trust region) */
  rejections: number[]
  /** mode bridge-mh: accepted fraction of the Metropolis-tested steps per replica (whole run) */
  acceptance?: number[]
  /** Picard runs: sweeps made (each one batched call per denoising step for a whole window) */
  sweeps?: number
  /** the rest is informative */
  engine?: 'fused' | 'stepwise'
  framesMade?: number
  /** fused engine: device-to-host reads made (saved frames, counters at checkpoints); the state itself stays in the session's output tensors */
  readBacks?: number
  /** fused engine: where the carried state lives between calls ('gpu-buffer' on WebGPU, 'cpu' on WASM) */
  stateLocation?: string
  /** fused engine: calls replayed a captured graph (WebGPU); graphCaptureRefused says why not, when it was tried */
  graphCapture?: boolean
  graphCaptureRefused?: string
  /** true when stopped by the signal (frames before the stop were delivered) */
  stopped?: boolean
  /** set when the run stopped because it became unstable (frames before it were delivered) */
  unstable?: string
}

export interface WorkerStart {
  type: 'start'
  model: ArrayBuffer | string
  card: Record<string, unknown>
  init: Float32Array
  params: ClientSamplerParams
  backend: BackendChoice
  resumeFrom?: unknown
  mhFrames?: Float32Array
  /** send a checkpoint every this many frames (0 = never) */
  checkpointEvery: number
  /** 'auto' (default): fused K-step graph on WebGPU when it applies, step by step on WASM */
  engine?: 'auto' | 'fused' | 'stepwise'
  /** WebGPU fused runs: replay a captured graph when onnxruntime can capture it (default true) */
  graphCapture?: boolean
}

export interface WorkerStop {
  type: 'stop'
}

export type ToWorker = WorkerStart | WorkerStop

export type FromWorker =
  | { type: 'backend'; backend: SamplerBackend; detail: string }
  | { type: 'frames'; start: number; count: number; data: Float32Array }
  | { type: 'checkpoint'; json: string }
  | { type: 'done'; result: SamplingResult }
  /** reusable: the worker is healthy (a request error, e.g. a bad parameter), so it may serve the next run */
  | { type: 'error'; message: string; reusable: boolean }
