/**
 * The services behind the Sample panel's "Run on a cluster…" (docs/cluster.md "From the app"):
 * cluster.writeJob writes the chosen settings, model and dataset as a job folder; its shards run
 * as array tasks would (diffmd sweep --run-shard); cluster.openJob stores the merged result as a
 * finished run of the project whose frames equal a single diffmd simulate of the same settings
 * and initial states bit for bit, with frame 0 the dataset frames a run made in the app starts from.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { ensureExamplesProject, EXAMPLES_ID } from '../../../src/services/project/examples'
import { dispatch } from '../../../src/services/dispatch'
import { EventHub, type ServiceContext } from '../../../src/services/context'
import { DEFAULT_RUN_PARAMS } from '../../../src/api/run-params'
import { initFrameIndices, MH_FRAMES } from '../../../src/services/runs/store'
import { runShardTask } from '../../../src/cli/commands/sweep'
import simulate from '../../../src/cli/commands/simulate'
import { trajectoryFromJson } from '../../../src/core/trajectory'
import type { SweepManifest } from '../../../src/services/cluster/job'

const hasModel = existsSync(path.resolve('resources/models/ala2-default.onnx'))
let home: string
let ctx: ServiceContext
beforeAll(() => {
  home = mkdtempSync(path.join(tmpdir(), 'diffmd-appjob-'))
  ctx = { home, transport: 'http', resourcesDir: path.resolve('resources'), emit: new EventHub().emit }
})
afterAll(() => rmSync(home, { recursive: true, force: true }))

/** runs a CLI command in-process with stdout/stderr captured */
async function quiet<T>(fn: () => Promise<T>): Promise<T> {
  const o = vi.spyOn(process.stdout, 'write').mockImplementation(() => true)
  const e = vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
  try {
    return await fn()
  } finally {
    o.mockRestore()
    e.mockRestore()
  }
}

describe.skipIf(!hasModel)('cluster.writeJob → array tasks → cluster.openJob', () => {
  it('the opened run holds the merged frames, equal to one diffmd simulate of the same settings bit for bit', async () => {
    await ensureExamplesProject(ctx)
    const ds = ((await dispatch(ctx, 'dataset.list', { projectId: EXAMPLES_ID })) as { id: string; dim: number; frames: number }[]).find((d) => d.dim === 66)!
    const model = ((await dispatch(ctx, 'model.list', { projectId: EXAMPLES_ID })) as { id: string }[])[0]!
    const params = { ...DEFAULT_RUN_PARAMS, replicas: 32, frames: 4, seed: 2, innerSteps: 2, dtPerFrame: 2 }
    const job = (await dispatch(ctx, 'cluster.writeJob', { projectId: EXAMPLES_ID, modelId: model.id, datasetId: ds.id, params, folder: 'cluster/job1', replicaBlocks: 2, throttle: 4 })) as { folder: string; script: string; shards: number }
    expect(job.folder).toBe(path.join(home, 'cluster', 'job1'))
    expect(job.shards).toBe(2)
    expect(readFileSync(job.script, 'utf8')).toMatch(/^#SBATCH --array=0-1%4$/m)
    const m = JSON.parse(readFileSync(path.join(job.folder, 'manifest.json'), 'utf8')) as SweepManifest
    expect(m.shards.map((s) => [s.replicaStart, s.replicaCount])).toEqual([[0, 16], [16, 16]])
    // Δt of one adapter step = Δt per frame / inner steps
    expect(m.runs[0]!.args.join(' ')).toContain('--dt 1 --diffusion 0.05 --temperature 300 --inner-steps 2')

    // opening it before the tasks ran is refused, naming them
    await expect(dispatch(ctx, 'cluster.openJob', { projectId: EXAMPLES_ID, folder: job.folder })).rejects.toThrow(/tasks 0, 1 have not finished/)
    for (const k of [1, 0]) expect(await quiet(() => runShardTask(job.folder, k))).toBe(0)
    const run = (await dispatch(ctx, 'cluster.openJob', { projectId: EXAMPLES_ID, folder: job.folder })) as { id: string; status: string; framesStored: number; params: typeof params; datasetId: string }
    expect(run).toMatchObject({ status: 'finished', framesStored: 4, datasetId: ds.id })
    expect(run.params).toEqual({ ...params, noise: 'ziggurat' })

    const got = (await dispatch(ctx, 'run.get', { projectId: EXAMPLES_ID, runId: run.id })) as { framesBase64: string; count: number }
    expect(got.count).toBe(4)
    const stored = new Float32Array(new Uint8Array(Buffer.from(got.framesBase64, 'base64')).buffer) // [F, R·d]

    // frame 0: the dataset frames a run made in the app starts from
    const dsFull = (await dispatch(ctx, 'dataset.get', { projectId: EXAMPLES_ID, datasetId: ds.id })) as { coordsBase64: string }
    const coords = new Float32Array(new Uint8Array(Buffer.from(dsFull.coordsBase64, 'base64')).buffer)
    initFrameIndices(32, ds.frames, 2).forEach((f, r) => expect(Array.from(stored.subarray(r * 66, (r + 1) * 66))).toEqual(Array.from(coords.subarray(f * 66, (f + 1) * 66))))

    // one process, the same settings and initial states
    const ref = path.join(home, 'ref.json')
    const args = m.runs[0]!.args.map((a) => (a === 'models/m0.onnx' ? path.join(job.folder, a) : a))
    expect(await quiet(() => simulate.run([...args, '--init-f32', path.join(job.folder, 'runs/r0/init.f32'), '--threads', '1', '--out', ref]))).toBe(0)
    const t = trajectoryFromJson(readFileSync(ref, 'utf8'), ref)
    const refRows = new Float32Array(4 * 32 * 66)
    for (let f = 0; f < 4; f++) for (let r = 0; r < 32; r++) refRows.set(t.data.subarray((r * 4 + f) * 66, (r * 4 + f + 1) * 66), (f * 32 + r) * 66)
    expect(Buffer.from(stored.buffer).equals(Buffer.from(refRows.buffer))).toBe(true)
    // and the run moved (not frame 0 repeated)
    expect(stored[3 * 32 * 66]).not.toBe(stored[0])
  }, 120_000)

  it('bridge + Metropolis with the covariance kernel: the job carries the kernel\'s frames; the merged run equals one diffmd simulate with them and keeps them', async () => {
    const ds = ((await dispatch(ctx, 'dataset.list', { projectId: EXAMPLES_ID })) as { id: string; dim: number; frames: number }[]).find((d) => d.dim === 66)!
    const model = ((await dispatch(ctx, 'model.list', { projectId: EXAMPLES_ID })) as { id: string }[])[0]!
    const params = { ...DEFAULT_RUN_PARAMS, mode: 'bridge-mh' as const, replicas: 32, frames: 3, seed: 4, dtPerFrame: 0.5, D: 0.0498868 }
    const job = (await dispatch(ctx, 'cluster.writeJob', { projectId: EXAMPLES_ID, modelId: model.id, datasetId: ds.id, params, folder: 'cluster/job-mh', replicaBlocks: 2 })) as { folder: string }
    const m = JSON.parse(readFileSync(path.join(job.folder, 'manifest.json'), 'utf8')) as SweepManifest & { app: { params: Record<string, unknown> } }
    // new bridge-mh settings get the covariance kernel, named in the tasks' flags with its frames
    expect(m.app.params.mhKernel).toBe('covariance')
    expect(m.runs[0]!.args.join(' ')).toContain(`--mh-kernel covariance --mh-frames-f32 ${path.join('runs', 'r0', 'mh-frames.f32')}`)
    const kept = readFileSync(path.join(job.folder, 'runs', 'r0', 'mh-frames.f32'))
    expect(kept.length).toBe(Math.min(ds.frames, MH_FRAMES) * 66 * 4)
    for (const k of [0, 1]) expect(await quiet(() => runShardTask(job.folder, k))).toBe(0)
    const run = (await dispatch(ctx, 'cluster.openJob', { projectId: EXAMPLES_ID, folder: job.folder })) as { id: string; path: string; params: Record<string, unknown>; acceptance: number[] }
    expect(run.params.mhKernel).toBe('covariance')
    // the run keeps the same frames, so resuming it in the app would use the same kernel
    expect(readFileSync(path.join(run.path, 'mh-frames.f32')).equals(kept)).toBe(true)
    // one process, the same flags: the same frames bit for bit
    const ref = path.join(home, 'ref-mh.json')
    const args = m.runs[0]!.args.map((a) => (a === 'models/m0.onnx' || a.endsWith('mh-frames.f32') ? path.join(job.folder, a) : a))
    expect(await quiet(() => simulate.run([...args, '--init-f32', path.join(job.folder, 'runs/r0/init.f32'), '--threads', '1', '--out', ref]))).toBe(0)
    const t = trajectoryFromJson(readFileSync(ref, 'utf8'), ref)
    const got = (await dispatch(ctx, 'run.get', { projectId: EXAMPLES_ID, runId: run.id })) as { framesBase64: string }
    const stored = new Float32Array(new Uint8Array(Buffer.from(got.framesBase64, 'base64')).buffer)
    const refRows = new Float32Array(3 * 32 * 66)
    for (let f = 0; f < 3; f++) for (let r = 0; r < 32; r++) refRows.set(t.data.subarray((r * 3 + f) * 66, (r * 3 + f + 1) * 66), (f * 32 + r) * 66)
    expect(Buffer.from(stored.buffer).equals(Buffer.from(refRows.buffer))).toBe(true)
    // 64 Metropolis tests at 0.5 ps, M = 10: the covariance kernel accepts ~25 % (em: ~0, bench/RESULTS.md)
    const mean = run.acceptance.reduce((a, b) => a + b, 0) / run.acceptance.length
    expect(mean).toBeGreaterThan(0.05)
    expect(t.meta.acceptance).toEqual(run.acceptance)
  }, 180_000)

  it('a bridge-mh job with the em kernel, and one written before kernels existed, open as em runs', async () => {
    const ds = ((await dispatch(ctx, 'dataset.list', { projectId: EXAMPLES_ID })) as { id: string; dim: number }[]).find((d) => d.dim === 66)!
    const model = ((await dispatch(ctx, 'model.list', { projectId: EXAMPLES_ID })) as { id: string }[])[0]!
    const params = { ...DEFAULT_RUN_PARAMS, mode: 'bridge-mh' as const, mhKernel: 'em' as const, replicas: 16, frames: 2, seed: 5, dtPerFrame: 0.5 }
    const job = (await dispatch(ctx, 'cluster.writeJob', { projectId: EXAMPLES_ID, modelId: model.id, datasetId: ds.id, params, folder: 'cluster/job-em' })) as { folder: string }
    const file = path.join(job.folder, 'manifest.json')
    const m = JSON.parse(readFileSync(file, 'utf8')) as SweepManifest & { app: { params: Record<string, unknown> } }
    expect(m.runs[0]!.args.join(' ')).toMatch(/--mh-kernel em$/)
    expect(existsSync(path.join(job.folder, 'runs', 'r0', 'mh-frames.f32'))).toBe(false)
    expect(await quiet(() => runShardTask(job.folder, 0))).toBe(0)
    // as an older app wrote it: no kernel in the settings
    delete m.app.params.mhKernel
    writeFileSync(file, JSON.stringify(m))
    const run = (await dispatch(ctx, 'cluster.openJob', { projectId: EXAMPLES_ID, folder: job.folder })) as { path: string; params: Record<string, unknown> }
    expect(run.params.mhKernel).toBe('em')
    expect(existsSync(path.join(run.path, 'mh-frames.f32'))).toBe(false)
  }, 120_000)

  it('refuses a folder in use and a folder diffmd sweep made (no app settings)', async () => {
    const ds = ((await dispatch(ctx, 'dataset.list', { projectId: EXAMPLES_ID })) as { id: string; dim: number }[]).find((d) => d.dim === 66)!
    const model = ((await dispatch(ctx, 'model.list', { projectId: EXAMPLES_ID })) as { id: string }[])[0]!
    await expect(dispatch(ctx, 'cluster.writeJob', { projectId: EXAMPLES_ID, modelId: model.id, datasetId: ds.id, params: DEFAULT_RUN_PARAMS, folder: 'cluster/job1' })).rejects.toThrow(/the folder is not empty/)
    await expect(dispatch(ctx, 'cluster.openJob', { projectId: EXAMPLES_ID, folder: 'nowhere' })).rejects.toThrow(/not a sweep job folder/)
  })
})
