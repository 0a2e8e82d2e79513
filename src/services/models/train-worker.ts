/**
 * Worker-thread entry of a training job (bundled to out/cli/train-worker.mjs): hosts the core
 * training loop on onnxruntime-node so the caller's event loop (CLI progress bar, Electron main,
 * HTTP server) stays responsive. Messages: in {type:'start', input} | {type:'cancel'};
 * out {type:'progress'|'log'|'done'|'error', …}.
 */
import { parentPort } from 'node:worker_threads'
import * as ort from 'onnxruntime-node'
import { UserError } from '../../core/errors'
import type { OrtRuntime } from '../../core/nn/runtime'
import { runTrainingJob, type TrainJobInput } from './train-run'

export type WorkerIn = { type: 'start'; input: TrainJobInput } | { type: 'cancel' }

let stop = false
const port = parentPort
if (!port) throw new Error('train-worker: must run as a worker thread')

port.on('message', (msg: WorkerIn) => {
  if (msg.type === 'cancel') {
    stop = true
    return
  }
  if (msg.type !== 'start') return
  runTrainingJob(ort as unknown as OrtRuntime, msg.input, {
    onProgress: (p) => port.postMessage({ type: 'progress', progress: p }),
    onLog: (line) => port.postMessage({ type: 'log', line }),
    shouldStop: () => stop,
  }).then(
    (out) => port.postMessage({ type: 'done', output: out }, [out.onnx.buffer as ArrayBuffer]),
    (err: unknown) => {
      const e = err as Error
      port.postMessage({ type: 'error', message: e.message ?? String(err), stack: e.stack, code: err instanceof UserError ? err.code : undefined, user: err instanceof UserError })
    }
  )
})
