/**
 * The onnxruntime module is injected: onnxruntime-node (CLI, Electron main, Node workers) and
 * onnxruntime-web (renderer worker: WebGPU/WASM) both satisfy this shape of onnxruntime-common's API.
 */
import type { InferenceSession, InferenceSessionFactory, Tensor, TensorConstructor } from 'onnxruntime-common'

export interface OrtRuntime {
  InferenceSession: InferenceSessionFactory
  Tensor: TensorConstructor
}

export type OrtSession = InferenceSession
export type OrtTensor = Tensor
export type SessionOptions = InferenceSession.SessionOptions

/** session options for deterministic CPU runs (fixed thread count, sequential execution) */
export function cpuSessionOptions(threads = 1): SessionOptions {
  return { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' }
}
