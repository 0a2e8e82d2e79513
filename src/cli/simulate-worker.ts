/**
 * Worker-thread entry of `diffmd simulate --threads N` (bundled to out/cli/simulate-worker.mjs):
 * runs one block of replicas with its own onnxruntime session (docs/cluster.md).
 * Messages: in {type:'start', input} | {type:'abort'}; out {type:'progress'|'done'|'error', …}.
 */
import { parentPort } from 'node:worker_threads'
import { UserError } from '../core/errors'
import { runShard, type ShardInput } from './shard-run'
import { analyticModel } from './commands/simulate'
import type { WorkerShardInput } from './simulate-threads'

export type SimulateWorkerIn = { type: 'start'; input: WorkerShardInput } | { type: 'abort' }

const port = parentPort
if (!port) throw new Error('simulate-worker: must run as a worker thread')
const ac = new AbortController()

port.on('message', (msg: SimulateWorkerIn) => {
  if (msg.type === 'abort') {
    ac.abort()
    return
  }
  if (msg.type !== 'start') return
  const w = msg.input
  const sys = w.system
  const input: ShardInput = {
    ...w,
    system: sys.kind === 'model' ? sys : { kind: 'analytic', open: () => analyticModel(sys.system, sys.flags, sys.beta) },
  }
  let last = 0
  runShard(input, {
    signal: ac.signal,
    onProgress: (done, total) => {
      const now = Date.now()
      if (now - last < 100 && done < total) return
      last = now
      port.postMessage({ type: 'progress', done, total })
    },
  }).then(
    (out) => port.postMessage({ type: 'done', output: out }, [out.data.buffer as ArrayBuffer]),
    (err: unknown) => {
      const e = err as Error
      port.postMessage({ type: 'error', message: e.message ?? String(err), stack: e.stack, code: err instanceof UserError ? err.code : undefined, user: err instanceof UserError })
    }
  )
})
