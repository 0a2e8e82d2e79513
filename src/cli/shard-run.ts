/**
 * One block of replicas of a `diffmd simulate` run, [base, base + n) of R (docs/cluster.md): the
 * model opened in this thread (its own onnxruntime session, `intraOp` threads), the sampler run
 * with replicaBase = base so replica base + i draws noise stream base + i (the frames equal those
 * rows of the single-process run, bit for bit), and optionally its own --checkpoint folder.
 * Run in a worker thread (simulate-worker.ts) by `simulate --threads N`, and in-process by tests.
 */
import type { ScoreModel } from '../core/score/types'
import type { SamplerParams } from '../core/sampler/params'
import type { StopInfo } from '../core/sampler/runner'
import type { PhaseTimes } from '../core/sampler/timing'
import { runTrajectory } from '../core/sampler/runner'
import type { MhPreconditioner } from '../core/sampler/metropolis'
import { openModelFile } from '../services/models/open'
import { openCheckpointDir } from './checkpoint-dir'

/** what a shard needs to rebuild the model in its own thread */
export type ShardSystem =
  | { kind: 'analytic'; open: () => ScoreModel }
  | { kind: 'model'; file: string; intraOp: number }

export interface ShardInput {
  /** the model: a learned model file, or (same thread only) an analytic model factory */
  system: ShardSystem
  /** the run's parameters with replicas = n, the block's size */
  params: SamplerParams
  /** initial states of the block [n·d] */
  init: Float32Array
  /** first replica of the block in the whole run */
  replicaBase: number
  /** the block's own checkpoint folder (kill-safe; resumed when it holds frames) */
  checkpoint?: { dir: string; every: number }
  /** bridge-mh with --mh-kernel covariance: the training data's covariance, eigen-decomposed */
  mhPreconditioner?: MhPreconditioner
}

export interface ShardOutput {
  /** frames [n, frames, d] */
  data: Float32Array
  frames: number
  rejections: number[]
  accepted?: number[]
  modelCalls: number
  sweeps?: number
  stopped?: StopInfo
  /** this block's wall time by phase (core/sampler/timing.ts) */
  timing?: PhaseTimes
  /** frames found on disk in the checkpoint folder at the start */
  framesOnDisk: number
}

export interface ShardHooks {
  signal?: AbortSignal
  onProgress?(done: number, total: number): void
}

/** the checkpoint folder of replicas [base, base + n) under a run's --checkpoint DIR */
export function shardCheckpointName(base: number, n: number): string {
  return `replicas-${base}-${base + n - 1}`
}

export async function runShard(input: ShardInput, hooks: ShardHooks = {}): Promise<ShardOutput> {
  const { params, init, replicaBase } = input
  let model: ScoreModel
  let dispose: (() => Promise<void>) | undefined
  if (input.system.kind === 'model') {
    const opened = await openModelFile(input.system.file, { threads: input.system.intraOp, probe: false })
    model = opened.model
    dispose = () => opened.model.dispose()
  } else {
    model = input.system.open()
  }
  try {
    const ckpt = input.checkpoint ? await openCheckpointDir(input.checkpoint.dir, params, model.dim, model.name, init, input.checkpoint.every) : undefined
    const res = await runTrajectory(model, params, init, {
      signal: hooks.signal,
      onProgress: hooks.onProgress,
      replicaBase,
      ...(input.mhPreconditioner ? { mhPreconditioner: input.mhPreconditioner } : {}),
      ...(ckpt ? { ...ckpt.hooks, resumeFrom: ckpt.resumeFrom } : {}),
    })
    const t = ckpt ? await ckpt.trajectory() : { frames: res.trajectory.frames, data: res.trajectory.data }
    return {
      data: t.data,
      frames: t.frames,
      rejections: res.rejections,
      accepted: res.accepted,
      modelCalls: res.modelCalls,
      sweeps: res.sweeps,
      stopped: res.stopped,
      ...(res.timing ? { timing: res.timing } : {}),
      framesOnDisk: ckpt?.framesOnDisk ?? 0,
    }
  } finally {
    if (dispose) await dispose()
  }
}
