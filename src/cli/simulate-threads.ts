/**
 * `diffmd simulate --threads N`: the replicas split into N blocks as even as possible, each run in a
 * worker thread with its own onnxruntime session (docs/cluster.md). Replica r draws noise stream r
 * whichever block holds it, so the frames equal the one-thread run's bit for bit.
 */
import { Worker } from 'node:worker_threads'
import path from 'node:path'
import type { SamplerParams } from '../core/sampler/params'
import type { RunResult, StopInfo } from '../core/sampler/runner'
import type { ParsedArgs } from './args'
import { UserError } from '../core/errors'
import { findBundledWorker } from '../services/models/worker-path'
import { shardCheckpointName, type ShardOutput } from './shard-run'

/** a shard's input as it crosses to a worker (analytic systems are rebuilt there from their flags) */
export interface WorkerShardInput {
  system: { kind: 'analytic'; system: string; flags: ParsedArgs['flags']; beta: number } | { kind: 'model'; file: string; intraOp: number }
  params: SamplerParams
  init: Float32Array
  replicaBase: number
  checkpoint?: { dir: string; every: number }
}

/**
 * Replicas per block quantum of a learned model. onnxruntime's CPU GEMM computes rows in tiles
 * (4 rows with AVX2/FMA) and the rows of a last, partial tile with another kernel whose rounding
 * differs in the last bit, and element-wise kernels run in 8- or 16-float vectors: a row's result
 * depends on where it sits in the batch. Blocks that start at multiples of 16 replicas see every
 * row in the same tile position as the whole run does (the tail block ends where the run ends), so
 * the frames are bit-identical; analytic systems compute row by row (quantum 1). docs/cluster.md
 */
export const MODEL_REPLICA_QUANTUM = 16
/**
 * The fewest replicas a learned model's last block holds (else it joins the block before): the
 * tweedie step calls the network on 2n rows [x; x'], and a block of n < T/2 replicas would put x
 * rows in the partial last tile of T rows where the whole run has them in full tiles
 */
export const MODEL_MIN_TAIL = 8

/** the last block joins the one before when it holds fewer than minTail replicas */
function foldTail(blocks: [number, number][], minTail: number): [number, number][] {
  if (blocks.length > 1 && blocks[blocks.length - 1]![1] < minTail) {
    const last = blocks.pop()!
    blocks[blocks.length - 1]![1] += last[1]
  }
  return blocks
}

/** blocks of `size` replicas (a multiple of quantum) covering 0 … n−1; the last takes the rest */
export function blocksOfSize(n: number, size: number, quantum = 1): [number, number][] {
  const out: [number, number][] = []
  for (let a = 0; a < n; a += size) out.push([a, Math.min(size, n - a)])
  return quantum > 1 ? foldTail(out, MODEL_MIN_TAIL) : out
}

/**
 * [start, count] of at most `parts` blocks of n replicas starting at `base`, every start a multiple
 * of `quantum` past base, as even as the quantum allows (the last block takes the remainder)
 */
export function splitReplicas(base: number, n: number, parts: number, quantum = 1): [number, number][] {
  const units = Math.ceil(n / quantum)
  const p = Math.max(1, Math.min(parts, units))
  const q = Math.floor(units / p)
  const extra = units % p
  const out: [number, number][] = []
  let a = base
  for (let i = 0; i < p; i++) {
    const c = Math.min((q + (i < extra ? 1 : 0)) * quantum, base + n - a)
    out.push([a, c])
    a += c
  }
  return quantum > 1 ? foldTail(out, MODEL_MIN_TAIL) : out
}

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
  opts: { signal: AbortSignal; onProgress(done: number, total: number): void; checkpoint?: { dir: string; every: number } }
): Promise<ThreadedRun> {
  const d = init.length / params.replicas
  const blocks = splitReplicas(base, params.replicas, threads, system.kind === 'model' ? MODEL_REPLICA_QUANTUM : 1)
  const done = blocks.map(() => 0)
  const checkpointDirs: ThreadedRun['checkpointDirs'] = []
  const inputs = blocks.map(([a, n]): WorkerShardInput => {
    const p = { ...params, replicas: n }
    const slice = init.slice((a - base) * d, (a - base + n) * d)
    const ck = opts.checkpoint ? { dir: path.join(opts.checkpoint.dir, shardCheckpointName(a, n)), every: opts.checkpoint.every } : undefined
    if (ck) checkpointDirs.push({ dir: ck.dir, params: p, init: slice })
    return { system, params: p, init: slice, replicaBase: a, checkpoint: ck }
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
    modelCalls: Math.max(...outs.map((o) => o.modelCalls)),
  }
  if (params.parallel) res.sweeps = Math.max(...outs.map((o) => o.sweeps ?? 0))
  if (outs.every((o) => o.accepted)) {
    res.accepted = outs.flatMap((o) => o.accepted!)
    const steps = (frames - 1) * params.innerSteps
    res.acceptance = res.accepted.map((a) => (steps > 0 ? a / steps : 0))
  }
  if (stopped) res.stopped = stopped
  return res
}
