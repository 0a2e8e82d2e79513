/**
 * A sweep's job folder (docs/cluster.md): self-contained, so it can be copied to a cluster's shared
 * filesystem and run by a Slurm job array, or on this machine.
 *
 *   manifest.json       the runs (a simulate command line each) and the shards (a block of one
 *                       run's replicas each; shard k is Slurm array task k)
 *   models/mI.onnx      copies of the models, each with its card (mI.card.json)
 *   runs/ID/init.f32    the run's R initial states, float32 little-endian [R, d], drawn once so
 *                       every shard starts from the whole run's states
 *   shards/K/checkpoint the shard's kill-safe checkpoint folder while it runs (docs/robustness.md)
 *   shards/K/frames.json the shard's frames when done (its replicas only)
 *   sweep.sbatch        the job array: `sbatch --array=0-(n−1)%T`
 *   logs/               Slurm's output, one file per task
 *   merged/ID.json      `diffmd merge`: each run's frames, all replicas, as one JSON trajectory
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { UserError } from '../../core/errors'
import { jsonSyntaxProblem } from '../../core/json-error'

export const MANIFEST = 'manifest.json'
export const SBATCH = 'sweep.sbatch'

export interface SweepRun {
  /** folder-safe id, r0, r1, … */
  id: string
  /** what differs between runs, e.g. "model=ala2 dt=1 seed=3" */
  label: string
  /** the simulate command line, paths relative to the job folder, without --out/--threads/--checkpoint/--replica-range */
  args: string[]
  replicas: number
  frames: number
  dim: number
  /** the initial states, relative to the job folder */
  init: string
}

export interface SweepShard {
  /** Slurm array task id = index in `shards` */
  task: number
  run: string
  replicaStart: number
  replicaCount: number
}

export interface SweepManifest {
  format: 'diffmd-sweep'
  version: 1
  createdBy: string
  createdAt: string
  /** worker threads per shard (Slurm --cpus-per-task) */
  threadsPerTask: number
  /** the most array tasks Slurm runs at once (the % of --array) */
  throttle: number
  runs: SweepRun[]
  shards: SweepShard[]
}

export function shardDir(dir: string, task: number): string {
  return path.join(dir, 'shards', String(task))
}
export function shardFramesFile(dir: string, task: number): string {
  return path.join(shardDir(dir, task), 'frames.json')
}
export function shardCheckpointDir(dir: string, task: number): string {
  return path.join(shardDir(dir, task), 'checkpoint')
}

export async function readManifest(dir: string): Promise<SweepManifest> {
  const file = path.join(dir, MANIFEST)
  let text: string
  try {
    text = await fs.readFile(file, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new UserError(code === 'ENOENT' ? `${dir}: not a sweep job folder (no ${MANIFEST}); make one with diffmd sweep --out DIR` : `${file}: cannot read (${code ?? (err as Error).message})`, code === 'ENOENT' ? 'not-found' : 'io')
  }
  let m: SweepManifest
  try {
    m = JSON.parse(text) as SweepManifest
  } catch (err) {
    throw new UserError(`${file}: not valid JSON (${jsonSyntaxProblem(err, text)})`, 'parse')
  }
  if (m?.format !== 'diffmd-sweep' || !Array.isArray(m.runs) || !Array.isArray(m.shards)) throw new UserError(`${file}: not a diffmd sweep manifest`, 'parse')
  if (m.version !== 1) throw new UserError(`${file}: manifest version ${String(m.version)} is newer than this diffmd understands (1); update diffmd`, 'parse')
  return m
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`
}

/**
 * The job-array script: task K runs shard K of the folder. `command` is the diffmd command line
 * (node and the CLI bundle, absolute paths the compute nodes see). --requeue with append-mode
 * logs: a requeued task resumes its shard's checkpoint.
 */
export function sbatchScript(dir: string, m: Pick<SweepManifest, 'shards' | 'throttle' | 'threadsPerTask'>, command: string[], extra: string[] = []): string {
  const abs = path.resolve(dir)
  const n = m.shards.length
  return [
    '#!/bin/bash',
    `# diffmd sweep: ${n} array task${n === 1 ? '' : 's'}, each running one shard of ${shellQuote(abs)} (docs/cluster.md)`,
    '#SBATCH --job-name=diffmd-sweep',
    `#SBATCH --array=0-${n - 1}%${m.throttle}`,
    '#SBATCH --ntasks=1',
    `#SBATCH --cpus-per-task=${m.threadsPerTask}`,
    `#SBATCH --output=${abs}/logs/task-%a.out`,
    '#SBATCH --open-mode=append',
    '#SBATCH --requeue',
    ...extra.map((e) => `#SBATCH ${e}`),
    'set -euo pipefail',
    `exec ${command.map(shellQuote).join(' ')} sweep --run-shard ${shellQuote(abs)} --task "$SLURM_ARRAY_TASK_ID"`,
    '',
  ].join('\n')
}

/** tasks whose frames are missing (not run yet, running, or failed) */
export async function unfinishedTasks(dir: string, m: SweepManifest): Promise<number[]> {
  const out: number[] = []
  for (const s of m.shards) {
    try {
      await fs.access(shardFramesFile(dir, s.task))
    } catch {
      out.push(s.task)
    }
  }
  return out
}
