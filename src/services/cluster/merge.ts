/**
 * `diffmd merge DIR`: each run's shards (blocks of its replicas) joined along the replica axis into
 * one JSON trajectory, the format `diffmd export`, `diffmd analyze` and the app's import read
 * (docs/cluster.md). Replica r drew noise stream r in whichever shard held it and every shard
 * started from the run's stored initial states, so the merged frames equal the single-process
 * run's bit for bit.
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { UserError } from '../../core/errors'
import { trajectoryFromJson, trajectoryToJson, type Trajectory } from '../../core/trajectory'
import { writeFileAtomic } from '../fs/atomic'
import { readManifest, shardFramesFile, unfinishedTasks, type SweepManifest, type SweepRun } from './job'

export interface MergedRun {
  run: SweepRun
  file: string
  trajectory: Trajectory
}

/** the shards of one run, in replica order, joined; frames cut to the fewest any shard made */
export function joinShards(parts: Trajectory[], run: Pick<SweepRun, 'id' | 'replicas'>): Trajectory {
  if (parts.length === 0) throw new UserError(`run ${run.id}: no shards`, 'bad-input')
  const d = parts[0]!.dim
  const F = Math.min(...parts.map((p) => p.frames))
  const R = parts.reduce((s, p) => s + p.replicas, 0)
  if (R !== run.replicas) throw new UserError(`run ${run.id}: its shards hold ${R} replicas, the manifest says ${run.replicas}`, 'bad-input')
  const data = new Float32Array(R * F * d)
  let r0 = 0
  for (const p of parts) {
    if (p.dim !== d) throw new UserError(`run ${run.id}: shards disagree on the coordinates per frame (${p.dim} vs ${d})`, 'bad-input')
    for (let r = 0; r < p.replicas; r++) data.set(p.data.subarray(r * p.frames * d, (r * p.frames + F) * d), (r0 + r) * F * d)
    r0 += p.replicas
  }
  const m0 = parts[0]!.meta
  const cat = (key: string): unknown[] | null => (parts.every((p) => Array.isArray(p.meta[key])) ? parts.flatMap((p) => p.meta[key] as unknown[]) : null)
  const rejections = cat('rejections') as number[] | null
  const acceptance = cat('acceptance') as number[] | null
  const steps = (F - 1) * ((m0.innerSteps as number | undefined) ?? 1)
  const { replicaStart: _a, replicasTotal: _b, ...rest } = m0
  const meta: Record<string, unknown> = {
    ...rest,
    replicas: R,
    frames: F,
    rejections,
    rejectionRate: rejections && steps > 0 ? rejections.reduce((a, b) => a + b, 0) / (steps * R) : 0,
    acceptance,
    acceptanceMean: acceptance ? acceptance.reduce((a, b) => a + b, 0) / acceptance.length : null,
    modelCalls: Math.max(...parts.map((p) => Number(p.meta.modelCalls ?? 0))),
    seconds: parts.reduce((s, p) => s + Number(p.meta.seconds ?? 0), 0),
    threads: null,
    shards: parts.length,
    stopped: parts.find((p) => p.meta.stopped)?.meta.stopped ?? null,
  }
  return { meta, replicas: R, frames: F, dim: d, data }
}

/**
 * Merges every run of the job folder into OUT/ID.json (default DIR/merged). Refuses, naming the
 * tasks, when a shard has not finished.
 */
export async function mergeJob(dir: string, outDir = path.join(dir, 'merged')): Promise<{ manifest: SweepManifest; runs: MergedRun[] }> {
  const m = await readManifest(dir)
  const missing = await unfinishedTasks(dir, m)
  if (missing.length) {
    const list = missing.length > 10 ? `${missing.slice(0, 10).join(', ')} … (${missing.length} in all)` : missing.join(', ')
    throw new UserError(`merge ${dir}: task${missing.length === 1 ? '' : 's'} ${list} ha${missing.length === 1 ? 's' : 've'} not finished (no shards/K/frames.json); wait for the job, or run them with diffmd sweep --run-shard ${dir} --task K`, 'not-found')
  }
  await fs.mkdir(outDir, { recursive: true })
  const runs: MergedRun[] = []
  for (const run of m.runs) {
    const shards = m.shards.filter((s) => s.run === run.id).sort((a, b) => a.replicaStart - b.replicaStart)
    const parts: Trajectory[] = []
    let next = 0
    for (const s of shards) {
      if (s.replicaStart !== next) throw new UserError(`${dir}/manifest.json: run ${run.id}'s shards do not cover replicas ${next} … ${s.replicaStart - 1}`, 'bad-input')
      const file = shardFramesFile(dir, s.task)
      const t = trajectoryFromJson(await fs.readFile(file, 'utf8'), file)
      if (t.replicas !== s.replicaCount) throw new UserError(`${file}: holds ${t.replicas} replicas, shard ${s.task} is ${s.replicaCount}`, 'bad-input')
      parts.push(t)
      next += s.replicaCount
    }
    const trajectory = joinShards(parts, run)
    trajectory.meta = { ...trajectory.meta, sweep: { run: run.id, label: run.label } }
    const file = path.join(outDir, `${run.id}.json`)
    await writeFileAtomic(file, trajectoryToJson(trajectory) + '\n')
    runs.push({ run, file, trajectory })
  }
  return { manifest: m, runs }
}
