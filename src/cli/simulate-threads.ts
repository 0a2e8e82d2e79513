/**
 * `diffmd simulate --threads N`: the replicas split into N blocks as even as possible, each run in a
 * worker thread with its own onnxruntime session (docs/cluster.md). Replica r draws noise stream r
 * whichever block holds it, so the frames equal the one-thread run's bit for bit.
 */
import { Worker } from 'node:worker_threads'
import path from 'node:path'
import type { SamplerParams } from '../core/sampler/params'
import type { MhPreconditioner } from '../core/sampler/metropolis'
import type { RunResult, StopInfo } from '../core/sampler/runner'
import { combinePhaseTimes } from '../core/sampler/timing'
import type { ParsedArgs } from './args'
import { UserError } from '../core/errors'
import { findBundledWorker } from '../services/models/worker-path'
import { shardCheckpointName, type ShardOutput } from './shard-run'
import { replicaQuantum, splitReplicas } from '../services/cluster/blocks'

/** a shard's input as it crosses to a worker (analytic systems are rebuilt there from their flags) */
export interface WorkerShardInput {
  system: { kind: 'analytic'; system: string; flags: ParsedArgs['flags']; beta: number } | { kind: 'model'; file: string; intraOp: number }
  params: SamplerParams
  init: Float32Array
  replicaBase: number
  checkpoint?: { dir: string; every: number }
  mhPreconditioner?: MhPreconditioner
}

export { modelReplicaQuantum, replicaQuantum, MODEL_MIN_TAIL, splitReplicas, blocksOfSize } from '../services/cluster/blocks'

export function findSimulateWorker(): string | undefined {
  return findBundledWorker('simulate-worker.mjs', 'DIFFMD_SIMULATE_WORKER')
}

function runInWorker(file: string, input: WorkerShardInput, signal: AbortSignal, onProgress: (done: number, total: number) => void): Promise<ShardOutput> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(file)
    let settled = false
    const onAbort = (): void => worker.postMessage({ type: 'abort' })
    signal.addEventListener('abort', onAbort)
    const finish = (fn: () => void): void => {
      if (settled) return
      settled = true
      signal.removeEventListener('abort', onAbort)
      void worker.terminate()
      fn()
    }
    worker.on('message', (m: { type: string; done?: number; total?: number; output?: ShardOutput; message?: string; user?: boolean; code?: string; stack?: string }) => {
      if (m.type === 'progress') onProgress(m.done!, m.total!)
      else if (m.type === 'done') finish(() => resolve(m.output!))
      else if (m.type === 'error') {
        const msg = m.message ?? 'worker failed'
        finish(() => reject(m.user ? new UserError(msg, m.code ?? 'user') : Object.assign(new Error(msg), { stack: m.stack })))
      }
    })
    worker.on('error', (err) => finish(() => reject(err)))
    worker.on('exit', (code) => finish(() => reject(new Error(`simulate worker exited with code ${code} before finishing`))))
    if (signal.aborted) onAbort()
    worker.postMessage({ type: 'start', input }, [])
  })
}

export interface ThreadedRun {
  res: RunResult
  /** frames found on disk across the blocks' checkpoint folders (0: a fresh run) */
  framesOnDisk: number
  /** the blocks' checkpoint folders (removed by the caller once the output is written) */
  checkpointDirs: { dir: string; params: SamplerParams; init: Float32Array }[]
}

/**
 * Runs replicas [base, base + params.replicas) in `threads` workers; `init` holds those replicas'
 * starts. The result is the one-thread RunResult's shape: frames [n, F', d] (the fewest any block
 * made when one stopped early), rejections per replica, model calls of one block.
 */
export async function runThreaded(
  workerFile: string,
  system: WorkerShardInput['system'],
  params: SamplerParams,
  init: Float32Array,
  base: number,
  threads: number,
  opts: { signal: AbortSignal; onProgress(done: number, total: number): void; checkpoint?: { dir: string; every: number }; mhPreconditioner?: MhPreconditioner; blocks?: [number, number][] }
): Promise<ThreadedRun> {
  const d = init.length / params.replicas
  // a --checkpoint folder's own blocks when it holds some (checkpointFolderBlocks), else an even split
  const blocks = opts.blocks ?? splitReplicas(base, params.replicas, threads, replicaQuantum(system.kind, d))
  const done = blocks.map(() => 0)
  const checkpointDirs: ThreadedRun['checkpointDirs'] = []
  const inputs = blocks.map(([a, n]): WorkerShardInput => {
    const p = { ...params, replicas: n }
    const slice = init.slice((a - base) * d, (a - base + n) * d)
    const ck = opts.checkpoint ? { dir: path.join(opts.checkpoint.dir, shardCheckpointName(a, n)), every: opts.checkpoint.every } : undefined
    if (ck) checkpointDirs.push({ dir: ck.dir, params: p, init: slice })
    return { system, params: p, init: slice, replicaBase: a, checkpoint: ck, ...(opts.mhPreconditioner ? { mhPreconditioner: opts.mhPreconditioner } : {}) }
  })
  const outs = await Promise.all(
    inputs.map((input, i) =>
      runInWorker(workerFile, input, opts.signal, (k, total) => {
        done[i] = k
        opts.onProgress(Math.min(...done), total)
      })
    )
  )
  return { res: combineShards(outs, d, params), framesOnDisk: Math.max(...outs.map((o) => o.framesOnDisk)), checkpointDirs }
}

/** blocks' outputs (in replica order) as one run's result; frames cut to the fewest any block made */
export function combineShards(outs: ShardOutput[], d: number, params: SamplerParams): RunResult {
  const frames = Math.min(...outs.map((o) => o.frames))
  const R = outs.reduce((s, o) => s + o.data.length / (o.frames * d), 0)
  const data = new Float32Array(R * frames * d)
  let r0 = 0
  for (const o of outs) {
    const n = o.data.length / (o.frames * d)
    for (let r = 0; r < n; r++) data.set(o.data.subarray(r * o.frames * d, (r * o.frames + frames) * d), (r0 + r) * frames * d)
    r0 += n
  }
  const stopped: StopInfo | undefined = outs.find((o) => o.stopped?.reason === 'unstable')?.stopped ?? outs.find((o) => o.stopped)?.stopped
  const res: RunResult = {
    trajectory: { meta: {}, replicas: R, frames, dim: d, data },
    rejections: outs.flatMap((o) => o.rejections),
    // the model calls that made the kept frames (blocks stopped early may have run on past them)
    modelCalls: outs.find((o) => o.frames === frames)!.modelCalls,
  }
  if (params.parallel) res.sweeps = Math.max(...outs.map((o) => o.sweeps ?? 0))
  if (outs.every((o) => o.accepted)) {
    res.accepted = outs.flatMap((o) => o.accepted!)
    const steps = (frames - 1) * params.innerSteps
    res.acceptance = res.accepted.map((a) => (steps > 0 ? a / steps : 0))
  }
  if (stopped) res.stopped = stopped
  // the blocks ran side by side: phases summed over blocks (busyMs), timing.ts combinePhaseTimes
  const timing = combinePhaseTimes(outs.map((o) => o.timing))
  if (timing) res.timing = timing
  return res
}
