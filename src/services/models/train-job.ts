/**
 * A cancellable training job: runs in a worker thread (out/cli/train-worker.mjs, bundled next to
 * the CLI) or, when asked, in-process. Progress and log lines arrive through the hooks; `done`
 * resolves with the result and the exported ONNX bytes (also after a cancel: result.final.cancelled).
 */
import { Worker } from 'node:worker_threads'
import { UserError } from '../../core/errors'
import type { TrainProgress } from '../../core/nn/trainer'
import { runTrainingJob, type TrainJobInput, type TrainJobOutput } from './train-run'
import { loadOrtNode } from './open'
import { findBundledWorker } from './worker-path'

export interface TrainJobHooks {
  onProgress?(p: TrainProgress): void
  onLog?(line: string): void
}

export interface TrainJobOptions {
  /** run on this thread instead of a worker (tests; hosts without the worker bundle) */
  inProcess?: boolean
  /** path of the bundled worker (default: found next to the running bundle, or $DIFFMD_TRAIN_WORKER) */
  workerPath?: string
}

export interface TrainJob {
  /** resolves with the result (also when cancelled); rejects on errors (UserError for the user's) */
  readonly done: Promise<TrainJobOutput>
  /** asks the job to stop after the current step */
  cancel(): void
}

/** where the bundled worker lives relative to this code (CLI bundle, chunk, Electron main, or source) */
export function findTrainWorker(): string | undefined {
  return findBundledWorker('train-worker.mjs', 'DIFFMD_TRAIN_WORKER')
}

export function startTrainingJob(input: TrainJobInput, hooks: TrainJobHooks = {}, opts: TrainJobOptions = {}): TrainJob {
  if (opts.inProcess) {
    let stop = false
    const done = loadOrtNode().then((ort) => runTrainingJob(ort, input, { ...hooks, shouldStop: () => stop }))
    return { done, cancel: () => (stop = true) }
  }
  const workerPath = opts.workerPath ?? findTrainWorker()
  if (!workerPath) {
    throw new UserError('train: the training worker (out/cli/train-worker.mjs) is missing; run `npm run build:cli` first', 'unavailable')
  }
  const worker = new Worker(workerPath)
  let settled = false
  const done = new Promise<TrainJobOutput>((resolve, reject) => {
    worker.on('message', (msg: { type: string; [k: string]: unknown }) => {
      if (msg.type === 'progress') hooks.onProgress?.(msg.progress as TrainProgress)
      else if (msg.type === 'log') hooks.onLog?.(msg.line as string)
      else if (msg.type === 'done') {
        settled = true
        const out = msg.output as TrainJobOutput
        resolve({ ...out, onnx: new Uint8Array(out.onnx) })
        void worker.terminate()
      } else if (msg.type === 'error') {
        settled = true
        const e = msg.user ? new UserError(msg.message as string, (msg.code as string) ?? 'user') : new Error(`training worker: ${msg.stack ?? msg.message}`)
        reject(e)
        void worker.terminate()
      }
    })
    worker.on('error', (err) => {
      if (!settled) {
        settled = true
        reject(new Error(`training worker crashed: ${err.stack ?? err.message}`))
      }
    })
    worker.on('exit', (code) => {
      if (!settled) {
        settled = true
        reject(new Error(`training worker exited with code ${code} before finishing`))
      }
    })
  })
  // transfer a copy: the caller keeps its frames
  const data = { ...input.data, frames: input.data.frames.slice(0, input.data.nFrames * input.data.dim) }
  worker.postMessage({ type: 'start', input: { ...input, data } }, [data.frames.buffer])
  return { done, cancel: () => worker.postMessage({ type: 'cancel' }) }
}
