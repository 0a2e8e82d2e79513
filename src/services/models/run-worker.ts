/**
 * Worker-thread entry of the run pool (bundled to out/cli/run-worker.mjs; src/services/models/run-pool.ts):
 * opens one model file with its own onnxruntime session (one intra-op thread) and makes the sampler
 * runs it is sent, one at a time, each exactly as runTrajectory makes it in any thread.
 * Messages: in {type:'open', file, card} | {type:'run', id, params, init, replicaBase} | {type:'abort', id}
 * | {type:'close'}; out {type:'ready'} | {type:'progress', id, done, total} | {type:'done', id, result}
 * | {type:'error', id?, …} | {type:'closed'} (the session released, so the thread can end cleanly).
 */
import { parentPort } from 'node:worker_threads'
import { UserError } from '../../core/errors'
import type { ModelCard } from '../../core/nn/card'
import type { SamplerParams } from '../../core/sampler/params'
import { runTrajectory } from '../../core/sampler/runner'
import type { OnnxScoreModel } from '../../core/score/onnx-score'
import { openModelFile } from './open'

export type RunWorkerIn =
  | { type: 'open'; file: string; card?: ModelCard }
  | { type: 'run'; id: number; params: SamplerParams; init: Float32Array; replicaBase: number }
  | { type: 'abort'; id: number }
  | { type: 'close' }

const port = parentPort
if (!port) throw new Error('run-worker: must run as a worker thread')
let model: OnnxScoreModel | undefined
const aborts = new Map<number, AbortController>()
/** runs in progress: a close waits for them (they were aborted) before releasing the session */
const active = new Set<Promise<unknown>>()

function fail(err: unknown, id?: number): void {
  const e = err as Error
  port!.postMessage({ type: 'error', id, message: e.message ?? String(err), stack: e.stack, code: err instanceof UserError ? err.code : undefined, user: err instanceof UserError })
}

port.on('message', (msg: RunWorkerIn) => {
  if (msg.type === 'open') {
    openModelFile(msg.file, { card: msg.card, threads: 1, probe: false }).then(
      (o) => {
        model = o.model
        port.postMessage({ type: 'ready' })
      },
      (err: unknown) => fail(err)
    )
  } else if (msg.type === 'abort') {
    aborts.get(msg.id)?.abort()
  } else if (msg.type === 'close') {
    for (const ac of aborts.values()) ac.abort()
    const m = model
    model = undefined
    const closed = (): void => port.postMessage({ type: 'closed' })
    Promise.allSettled([...active])
      .then(() => m?.dispose())
      .then(closed, closed)
  } else if (msg.type === 'run') {
    if (!model) return fail(new Error('run-worker: run before open'), msg.id)
    const ac = new AbortController()
    aborts.set(msg.id, ac)
    let last = 0
    const running = runTrajectory(model, msg.params, msg.init, {
      signal: ac.signal,
      replicaBase: msg.replicaBase,
      onProgress: (done, total) => {
        const now = Date.now()
        if (now - last < 200 && done < total) return
        last = now
        port.postMessage({ type: 'progress', id: msg.id, done, total })
      },
    }).then(
      (res) => {
        aborts.delete(msg.id)
        const { trajectory, stopped, acceptance } = res
        port.postMessage({ type: 'done', id: msg.id, result: { trajectory, stopped, acceptance } }, [trajectory.data.buffer as ArrayBuffer])
      },
      (err: unknown) => {
        aborts.delete(msg.id)
        fail(err, msg.id)
      }
    )
    active.add(running)
    void running.finally(() => active.delete(running))
  }
})
