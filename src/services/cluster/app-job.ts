/**
 * The Sample panel's "Run on a cluster…" (docs/cluster.md "From the app"): the chosen settings,
 * model and dataset written as a sweep job folder (one run, split into shards of replicas) with
 * its Slurm script; and a finished job folder opened as a run of the project (merged, then stored
 * through the runs service like a run the app made itself).
 */
import { existsSync, promises as fs } from 'node:fs'
import path from 'node:path'
import { UserError } from '../../core/errors'
import { VERSION } from '../../core/version'
import { DEFAULT_NOISE } from '../../core/sampler/params'
import { checkRunParams, firstError, newRunParams, type RunParams } from '../../api/run-params'
import type { ServiceContext } from '../context'
import { writeFileAtomic, writeJsonAtomic } from '../fs/atomic'
import { projectDir } from '../project/store'
import { MODEL_FILE } from '../models/registry'
import { datasetSource, modelSource } from '../runs/sources'
import { appendRunFrames, createRun, finishRun, initFrameIndices, MH_FRAMES, spreadFrames, type RunSummary } from '../runs/store'
import { findBundledWorker } from '../models/worker-path'
import { modelReplicaQuantum, splitReplicas } from './blocks'
import { MANIFEST, SBATCH, readManifest, sbatchScript, type SweepManifest } from './job'
import { mergeJob } from './merge'

export interface AppJobRequest {
  projectId: string
  modelId: string
  datasetId: string
  params: RunParams
  /** the job folder to create (absolute, or relative to the app's home) */
  folder: string
  /** shards, each a block of the replicas (default 1) */
  replicaBlocks?: number
  /** most array tasks at once (default 8) */
  throttle?: number
}

/** what the app needs to open the finished folder as a run */
export interface AppJobInfo {
  projectId: string
  modelId: string
  datasetId: string
  params: RunParams
  /** relative to the job folder */
  topology: string
}

/** where a job keeps the frames of bridge-mh's covariance down kernel (relative to the job folder) */
const MH_FRAMES_PATH = path.join('runs', 'r0', 'mh-frames.f32')

async function readF32(file: string): Promise<Float32Array> {
  const b = await fs.readFile(file).catch(() => {
    throw new UserError(`${file}: missing; the job's covariance down kernel needs it (write the job again)`, 'not-found')
  })
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength))
}

/** the run settings as diffmd simulate flags (Δt of one adapter step = Δt per frame / inner steps) */
export function simulateFlags(p: RunParams, model: string): string[] {
  const n = (v: number): string => String(v)
  return [
    '--model', model,
    '--mode', p.mode,
    '--dt', n(p.dtPerFrame / p.innerSteps),
    '--diffusion', n(p.D),
    '--temperature', n(p.temperature),
    '--inner-steps', n(p.innerSteps),
    '--denoise-steps', n(p.denoiseSteps),
    '--sigma-min', n(p.sigmaMin),
    '--replicas', n(p.replicas),
    '--frames', n(p.frames),
    '--seed', n(p.seed),
    '--noise', p.noise ?? DEFAULT_NOISE,
    // calibrated time as the app's run had it (the shard reads the calibration from the same card)
    '--time-calibration', p.timeCalibration ? 'on' : 'off',
    // bridge-mh names its down kernel (a job written before kernels existed ran em)
    ...(p.mode === 'bridge-mh' ? ['--mh-kernel', p.mhKernel ?? 'em'] : []),
    ...(p.mode === 'bridge-mh' && p.mhKernel === 'covariance' ? ['--mh-frames-f32', MH_FRAMES_PATH] : []),
  ]
}

/** node and bin/diffmd.js as a compute node runs them (Electron runs as node with ELECTRON_RUN_AS_NODE) */
function diffmdCommand(): string[] {
  const env = process.env.DIFFMD_BIN
  const bundle = findBundledWorker('diffmd.mjs', 'DIFFMD_CLI_BUNDLE')
  const bin = env ? path.resolve(env) : bundle ? path.resolve(path.dirname(bundle), '..', '..', 'bin', 'diffmd.js') : undefined
  if (!bin || !existsSync(bin)) return ['diffmd']
  return process.versions.electron ? ['env', 'ELECTRON_RUN_AS_NODE=1', process.execPath, bin] : [process.execPath, bin]
}

export async function writeAppJob(ctx: ServiceContext, req: AppJobRequest): Promise<{ folder: string; script: string; shards: number; command: string }> {
  const folder = path.resolve(ctx.home, req.folder)
  const [model, dataset] = await Promise.all([modelSource(ctx.home, req.projectId, req.modelId), datasetSource(ctx.home, req.projectId, req.datasetId)])
  const err = firstError(checkRunParams(req.params, { ...model.limits, dim: model.dim }))
  if (err) throw new UserError(`run settings: ${err}`, 'bad-param')
  const R = req.params.replicas
  const d = model.dim
  // the job names its noise kind (the tasks' --noise, and the run the opened job becomes) and, for
  // bridge-mh, its down kernel
  const params = newRunParams(req.params, d)
  if (dataset.coords.length !== dataset.nFrames * d) {
    throw new UserError(`dataset ${dataset.name} has ${dataset.coords.length / Math.max(1, dataset.nFrames) / 3} atoms but model ${model.name} expects ${d / 3}: pick the dataset the model was trained on`, 'mismatch')
  }
  try {
    if ((await fs.readdir(folder)).length > 0) throw new UserError(`${folder}: the folder is not empty; give a new folder for the job`, 'bad-request')
  } catch (e) {
    if (e instanceof UserError) throw e
  }
  // the replicas start where a run made in the app would (dataset frames spread by the seed)
  const init = new Float32Array(R * d)
  initFrameIndices(R, dataset.nFrames, req.params.seed).forEach((f, r) => init.set(dataset.coords.subarray(f * d, (f + 1) * d), r * d))
  for (const sub of ['models', 'logs', path.join('runs', 'r0')]) await fs.mkdir(path.join(folder, sub), { recursive: true })
  const modelDir = path.join(projectDir(ctx.home, req.projectId), 'models', req.modelId)
  await fs.copyFile(path.join(modelDir, MODEL_FILE), path.join(folder, 'models', 'm0.onnx'))
  await fs.copyFile(path.join(modelDir, 'card.json'), path.join(folder, 'models', 'm0.card.json'))
  await writeFileAtomic(path.join(folder, 'runs', 'r0', 'init.f32'), new Uint8Array(init.buffer))
  await writeFileAtomic(path.join(folder, 'runs', 'r0', 'topology.pdb'), dataset.topologyPdb)
  // the covariance down kernel's frames: the ones a run made in the app would keep
  if (params.mode === 'bridge-mh' && params.mhKernel === 'covariance') {
    const f = spreadFrames(dataset.coords, dataset.nFrames, d, MH_FRAMES)
    await writeFileAtomic(path.join(folder, MH_FRAMES_PATH), new Uint8Array(f.buffer))
  }
  const shards = splitReplicas(0, R, req.replicaBlocks ?? 1, modelReplicaQuantum(d)).map(([a, n], task) => ({ task, run: 'r0', replicaStart: a, replicaCount: n }))
  const app: AppJobInfo = { projectId: req.projectId, modelId: req.modelId, datasetId: req.datasetId, params, topology: path.join('runs', 'r0', 'topology.pdb') }
  const manifest: SweepManifest & { app: AppJobInfo } = {
    format: 'diffmd-sweep',
    version: 1,
    createdBy: `DiffMD Studio ${VERSION}`,
    createdAt: new Date().toISOString(),
    threadsPerTask: 1,
    throttle: req.throttle ?? 8,
    runs: [{ id: 'r0', label: `${model.name} · ${req.params.mode} · ${req.params.dtPerFrame} ps/frame · seed ${req.params.seed}`, args: simulateFlags(params, path.join('models', 'm0.onnx')), replicas: R, frames: req.params.frames, dim: d, init: path.join('runs', 'r0', 'init.f32') }],
    shards,
    app,
  }
  await writeJsonAtomic(path.join(folder, MANIFEST), manifest)
  const script = path.join(folder, SBATCH)
  await writeFileAtomic(script, sbatchScript(folder, manifest, diffmdCommand()))
  await fs.chmod(script, 0o755)
  return { folder, script, shards: shards.length, command: `sbatch ${script}` }
}

/** merges a finished job folder written by writeAppJob and stores it as a finished run of the project */
export async function openAppJob(ctx: ServiceContext, req: { projectId: string; folder: string }): Promise<RunSummary> {
  const folder = path.resolve(ctx.home, req.folder)
  const m = (await readManifest(folder)) as SweepManifest & { app?: AppJobInfo }
  if (!m.app) throw new UserError(`${folder}: this job folder was made by diffmd sweep, not by the app; run diffmd merge ${folder} and import merged/r0.json as a trajectory`, 'bad-request')
  const model = await modelSource(ctx.home, req.projectId, m.app.modelId).catch(() => {
    throw new UserError(`${folder}: its model (${m.app!.modelId}) is not in this project; open the folder from the project it was made in`, 'not-found')
  })
  const { runs } = await mergeJob(folder)
  const t = runs[0]!.trajectory
  const R = t.replicas
  const d = t.dim
  // the runs service stores frames time-major [F, R·d]
  const rows = new Float32Array(t.frames * R * d)
  for (let f = 0; f < t.frames; f++) for (let r = 0; r < R; r++) rows.set(t.data.subarray((r * t.frames + f) * d, (r * t.frames + f + 1) * d), (f * R + r) * d)
  const init = new Float32Array(R * d)
  for (let r = 0; r < R; r++) init.set(t.data.subarray(r * t.frames * d, (r * t.frames + 1) * d), r * d)
  const topologyPdb = await fs.readFile(path.join(folder, m.app.topology), 'latin1')
  // the dataset stays linked when it is still in the project (analysis compares with it)
  const dataset = await datasetSource(ctx.home, req.projectId, m.app.datasetId).catch(() => null)
  // a bridge-mh job written before down kernels existed ran em: say so, or the run would get today's default
  const params: RunParams = m.app.params.mode === 'bridge-mh' && !m.app.params.mhKernel ? { ...m.app.params, mhKernel: 'em' } : m.app.params
  const mhFrames = params.mode === 'bridge-mh' && params.mhKernel === 'covariance' ? await readF32(path.join(folder, MH_FRAMES_PATH)) : undefined
  const run = await createRun(ctx.home, { projectId: req.projectId, name: `cluster · ${m.runs[0]!.label}`, params, init, topologyPdb, ...(mhFrames ? { mhFrames } : {}) }, { model, dataset })
  await appendRunFrames(ctx.home, req.projectId, run.id, 0, new Uint8Array(rows.buffer))
  const rejections = Array.isArray(t.meta.rejections) ? (t.meta.rejections as number[]) : undefined
  const acceptance = Array.isArray(t.meta.acceptance) ? (t.meta.acceptance as number[]) : undefined
  return finishRun(ctx.home, req.projectId, run.id, { status: t.meta.stopped ? 'stopped' : 'finished', ...(rejections ? { rejections } : {}), ...(acceptance ? { acceptance } : {}) })
}
