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

/** copies a float32 output tensor's data (it may be a view into runtime memory) */
export function tensorFloat32(t: Tensor | undefined, what: string): Float32Array {
  if (!t) throw new Error(`onnx: output ${what} missing`)
  if (t.type !== 'float32') throw new Error(`onnx: output ${what} is ${t.type}, expected float32`)
  return t.data as Float32Array
}
