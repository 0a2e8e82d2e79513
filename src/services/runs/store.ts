/**
 * Runs: a run is a folder `<project>/runs/<id>/` holding
 *   run.json         every parameter (as typed and derived: k, η, σ_K, Δt, D, T), model, dataset,
 *                    backend, status, timings — written atomically
 *   topology.pdb     the atoms (one model), so the run stays readable if its dataset is deleted
 *   frames.f32       frames as they arrive, [F, R·d] float32, appended with fsync (frames.ts)
 *   checkpoint.json  the sampler state at a stored frame (core/sampler/checkpoint format)
 *   mh-frames.f32    bridge-mh with the covariance down kernel: the dataset frames whose covariance
 *                    preconditions the kernel ([n, d] float32, ≤ MH_FRAMES frames spread over the
 *                    dataset), kept so a resume uses the same kernel even if the dataset goes
 *   exports/         trajectories written by run.export
 * The sampler itself runs in the renderer (Web Worker, WebGPU/WASM); this service stores what it makes.
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { UserError } from '../../core/errors'
import { jsonSyntaxProblem } from '../../core/json-error'
import { checkpointFromJson, checkpointToJson } from '../../core/sampler/checkpoint'
import { checkRunParams, deriveParams, firstError, newRunParams, type DerivedParams, type ModelLimits, type RunParams } from '../../api/run-params'
import { writeFileAtomic, writeJsonAtomic } from '../fs/atomic'
import { projectDir } from '../project/store'
import { appendFrames, readFrames, storedFrames, truncateFrames } from './frames'
import { withFileLock } from '../fs/lock'
import { checkId } from '../../api/ids'
import { dtAdviceOf } from '../../api/selfcheck'

export type RunStatus = 'running' | 'finished' | 'stopped' | 'failed'

export interface RunFile {
  format: 'diffmd-run'
  version: 1
  id: string
  name: string
  projectId: string
  modelId: string
  modelName: string
  datasetId: string | null
  datasetName: string | null
  created: string
  modified: string
  status: RunStatus
  /** d = 3N */
  dim: number
  nAtoms: number
  params: RunParams
  derived: DerivedParams
  /** indices of the dataset frames the replicas start from */
  initFrames: number[]
  backendUsed: 'webgpu' | 'wasm' | null
  framesPerSecond: number | null
  rejections: number[] | null
  /** mode bridge-mh: accepted fraction of Metropolis-tested steps per replica */
  acceptance?: number[] | null
  /** what the model's self-check said of this run's Δt when it was made (RunSelfCheck); absent: no check */
  selfCheck?: RunSelfCheck | null
  error: string | null
  finished: string | null
}

/** a run's Δt judged by its model's self-check at creation (dtAdviceOf; docs/self-check.md "Using the verdict") */
export interface RunSelfCheck {
  recommendedDtPs: number | null
  checkedOn: string
  /** the check does not vouch for this Δt */
  outside: boolean
  /** why, when outside */
  line: string | null
}

/** the self-check's word on a run's step, for its metadata (null: the model has no check) */
export function runSelfCheckOf(card: unknown, params: RunParams, dtStep: number): RunSelfCheck | null {
  const a = dtAdviceOf(card, dtStep, params.D, params.timeCalibration)
  return a ? { recommendedDtPs: a.recommendedDtPs ?? null, checkedOn: a.checkedOn, outside: a.outside, line: a.line ?? null } : null
}

export interface RunSummary extends RunFile {
  framesStored: number
  sizeBytes: number
  path: string
}

/** What run.create needs to know about the model and the data (the dispatch layer reads them from their services). */
export interface RunSources {
  /** card: the model's card, whose self-check judges the run's Δt (runSelfCheckOf) */
  model: { id: string; name: string; dim: number; limits: ModelLimits; card?: unknown }
  /** null for runs whose initial states come with the request */
  dataset: { id: string; name: string; topologyPdb: string; coords: Float32Array; nFrames: number } | null
}

export interface CreateRunRequest {
  projectId: string
  name?: string
  params: RunParams
  /** initial states [R·d]; default: dataset frames spread over the data, offset by the seed */
  init?: Float32Array
  /** topology when there is no dataset */
  topologyPdb?: string
  /** bridge-mh with the covariance kernel: the frames [n, d] of its covariance (default: the dataset's, spread) */
  mhFrames?: Float32Array
}

const FRAMES = 'frames.f32'
const META = 'run.json'
const TOPOLOGY = 'topology.pdb'
const CHECKPOINT = 'checkpoint.json'
const INIT = 'init.f32'
const MH_FRAMES_FILE = 'mh-frames.f32'
/**
 * Most dataset frames kept for the covariance down kernel: its covariance's sampling error at n
 * frames is ~√(2/n) per mode (2 % here), far below what changes the acceptance; the file stays
 * ≤ 20 MB at the kernel's 1200 coordinates.
 */
export const MH_FRAMES = 4096

/** n of the frames [nFrames, d] evenly spread over them (all when there are no more than n), in order */
export function spreadFrames(coords: Float32Array, nFrames: number, d: number, n: number): Float32Array {
  const k = Math.min(n, nFrames)
  const out = new Float32Array(k * d)
  for (let i = 0; i < k; i++) {
    const f = Math.floor((i * nFrames) / k)
    out.set(coords.subarray(f * d, (f + 1) * d), i * d)
  }
  return out
}

function validId(id: string, what: string): void {
  checkId(id, what)
}

export function runsDir(home: string, projectId: string): string {
  return path.join(projectDir(home, projectId), 'runs')
}

export function runDir(home: string, projectId: string, runId: string): string {
  validId(runId, 'run')
  return path.join(runsDir(home, projectId), runId)
}

function rowBytes(meta: Pick<RunFile, 'dim' | 'params'>): number {
  return meta.params.replicas * meta.dim * 4
}

function newRunId(): string {
  const t = new Date()
  const p = (n: number, w = 2): string => String(n).padStart(w, '0')
  return `run-${t.getFullYear()}${p(t.getMonth() + 1)}${p(t.getDate())}-${p(t.getHours())}${p(t.getMinutes())}${p(t.getSeconds())}-${randomBytes(2).toString('hex')}`
}

/** dataset frame each replica starts from: evenly spread over the data, rotated by the seed */
export function initFrameIndices(replicas: number, nFrames: number, seed: number): number[] {
  const golden = 0.6180339887498949
  const shift = (seed * golden) % 1
  const out: number[] = []
  for (let r = 0; r < replicas; r++) out.push(Math.floor(((r + shift) / replicas) * nFrames) % nFrames)
  return out
}

export async function readRunFile(dir: string): Promise<RunFile> {
  const file = path.join(dir, META)
  let text: string
  try {
    text = await fs.readFile(file, 'utf8')
  } catch {
    throw new UserError(`${file}: no run here (run.json is missing); it may have been deleted`, 'not-found')
  }
  let meta: RunFile
  try {
    meta = JSON.parse(text) as RunFile
  } catch (err) {
    throw new UserError(`${file}: run.json is not valid JSON (${jsonSyntaxProblem(err, text)})`, 'parse')
  }
  if (meta.format !== 'diffmd-run' || typeof meta.dim !== 'number' || !meta.params) throw new UserError(`${file}: not a DiffMD Studio run file`, 'parse')
  return meta
}

async function summarise(dir: string, meta: RunFile): Promise<RunSummary> {
  const framesStored = await storedFrames(path.join(dir, FRAMES), rowBytes(meta))
  let sizeBytes = 0
  for (const e of await fs.readdir(dir, { withFileTypes: true }).catch(() => [])) {
    if (e.isFile()) sizeBytes += (await fs.stat(path.join(dir, e.name)).catch(() => ({ size: 0 }))).size
  }
  return { ...meta, framesStored, sizeBytes, path: dir }
}

export async function createRun(home: string, req: CreateRunRequest, sources: RunSources): Promise<RunSummary> {
  // the run records its noise kind and down kernel, so resuming or remaking it later uses the same ones
  const { model, dataset } = sources
  const params = newRunParams(req.params, model.dim)
  const check = checkRunParams(params, { ...model.limits, dim: model.dim })
  const err = firstError(check)
  if (err) throw new UserError(`run settings: ${err}`, 'bad-param')
  const R = params.replicas
  const d = model.dim
  if (d % 3 !== 0) throw new UserError(`model ${model.name}: d = ${d} is not 3 × atoms`, 'bad-input')
  let init: Float32Array
  let initFrames: number[] = []
  if (req.init) {
    if (req.init.length !== R * d) throw new UserError(`run.create: init holds ${req.init.length} coordinates, expected replicas × d = ${R} × ${d}`, 'bad-request')
    init = req.init
  } else {
    if (!dataset) throw new UserError('run.create: give a dataset (its frames are the initial states) or init coordinates', 'bad-request')
    const dd = dataset.coords.length / Math.max(1, dataset.nFrames)
    if (dd !== d) {
      throw new UserError(`dataset ${dataset.name} has ${dd / 3} atoms but model ${model.name} expects ${d / 3}: pick the dataset the model was trained on (or one with the same atom selection)`, 'mismatch')
    }
    initFrames = initFrameIndices(R, dataset.nFrames, params.seed)
    init = new Float32Array(R * d)
    initFrames.forEach((f, r) => init.set(dataset.coords.subarray(f * d, (f + 1) * d), r * d))
  }
  const topologyPdb = dataset?.topologyPdb ?? req.topologyPdb
  if (!topologyPdb) throw new UserError('run.create: no topology: give a dataset or topologyPdb', 'bad-request')
  let mhFrames: Float32Array | undefined
  if (params.mhKernel === 'covariance' && req.mhFrames) {
    if (req.mhFrames.length % d !== 0 || req.mhFrames.length < 2 * d) throw new UserError(`run.create: the covariance kernel's frames hold ${req.mhFrames.length} numbers, not 2 or more frames of d = ${d}`, 'bad-request')
    mhFrames = req.mhFrames
  } else if (params.mhKernel === 'covariance') {
    if (!dataset || dataset.nFrames < 2) throw new UserError('run settings: the covariance down kernel needs a dataset of at least 2 frames (their covariance): pick one, or the em kernel', 'bad-param')
    mhFrames = spreadFrames(dataset.coords, dataset.nFrames, d, MH_FRAMES)
  }

  const root = runsDir(home, req.projectId)
  await fs.mkdir(root, { recursive: true })
  const id = newRunId()
  const now = new Date().toISOString()
  const derived = deriveParams(params)
  const meta: RunFile = {
    format: 'diffmd-run',
    version: 1,
    id,
    name: req.name?.trim() || `${params.mode} · ${params.dtPerFrame} ps/frame · ${params.replicas}×${params.frames}`,
    projectId: req.projectId,
    modelId: model.id,
    modelName: model.name,
    datasetId: dataset?.id ?? null,
    datasetName: dataset?.name ?? null,
    created: now,
    modified: now,
    status: 'running',
    dim: d,
    nAtoms: d / 3,
    params,
    derived,
    initFrames,
    backendUsed: null,
    framesPerSecond: null,
    rejections: null,
    selfCheck: runSelfCheckOf(model.card, params, derived.dtStep),
    error: null,
    finished: null,
  }
  // a run appears whole or not at all
  const tmp = path.join(root, `.${id}.creating`)
  await fs.mkdir(tmp, { recursive: true })
  await writeFileAtomic(path.join(tmp, TOPOLOGY), topologyPdb)
  await writeFileAtomic(path.join(tmp, INIT), new Uint8Array(init.buffer, init.byteOffset, init.byteLength))
  await writeFileAtomic(path.join(tmp, FRAMES), new Uint8Array(0))
  if (mhFrames) await writeFileAtomic(path.join(tmp, MH_FRAMES_FILE), new Uint8Array(mhFrames.buffer, mhFrames.byteOffset, mhFrames.byteLength))
  await writeJsonAtomic(path.join(tmp, META), meta)
  const dir = path.join(root, id)
  await fs.rename(tmp, dir)
  return summarise(dir, meta)
}

export async function listRuns(home: string, projectId: string): Promise<RunSummary[]> {
  const root = runsDir(home, projectId)
  let entries: string[]
  try {
    entries = await fs.readdir(root)
  } catch {
    return []
  }
  const out: RunSummary[] = []
  for (const e of entries.sort()) {
    if (e.startsWith('.')) continue
    const dir = path.join(root, e)
    try {
      out.push(await summarise(dir, await readRunFile(dir)))
    } catch {
      // not a run folder (or a damaged one): skipped
    }
  }
  return out.sort((a, b) => b.created.localeCompare(a.created))
}

export async function getRunSummary(home: string, projectId: string, runId: string): Promise<RunSummary> {
  const dir = runDir(home, projectId, runId)
  return summarise(dir, await readRunFile(dir))
}

export async function readRunTopology(home: string, projectId: string, runId: string): Promise<string> {
  return fs.readFile(path.join(runDir(home, projectId, runId), TOPOLOGY), 'utf8')
}

/**
 * The frames of a bridge-mh run's covariance down kernel (mh-frames.f32), or undefined when the run
 * does not use it. A covariance run whose file is gone cannot resume with the same kernel: that is
 * a one-line error, not a silent change of kernel.
 */
export async function readRunMhFrames(home: string, projectId: string, runId: string, meta: Pick<RunFile, 'name' | 'params'>): Promise<Uint8Array | undefined> {
  if (meta.params.mode !== 'bridge-mh' || meta.params.mhKernel !== 'covariance') return undefined
  try {
    return new Uint8Array(await fs.readFile(path.join(runDir(home, projectId, runId), MH_FRAMES_FILE)))
  } catch {
    throw new UserError(`run ${meta.name}: ${MH_FRAMES_FILE} (the frames of its covariance down kernel) is missing from the run folder; it cannot resume with the same kernel: start a new run`, 'bad-checkpoint')
  }
}

export async function readRunInit(home: string, projectId: string, runId: string): Promise<Uint8Array> {
  return new Uint8Array(await fs.readFile(path.join(runDir(home, projectId, runId), INIT)))
}

/** Frames [start, start+count) as bytes ([n, R·d] float32), clipped to what is stored. */
export async function readRunFrames(home: string, projectId: string, runId: string, start = 0, count = Infinity): Promise<{ meta: RunSummary; start: number; count: number; bytes: Uint8Array }> {
  const meta = await getRunSummary(home, projectId, runId)
  const r = await readFrames(path.join(meta.path, FRAMES), rowBytes(meta), start, count)
  return { meta, ...r }
}

export async function appendRunFrames(
  home: string,
  projectId: string,
  runId: string,
  start: number,
  bytes: Uint8Array,
  checkpointJson?: string
): Promise<{ framesStored: number; written: number }> {
  const dir = runDir(home, projectId, runId)
  const meta = await readRunFile(dir)
  const res = await appendFrames(path.join(dir, FRAMES), rowBytes(meta), start, bytes, meta.params.frames, `run ${meta.name}`)
  if (checkpointJson !== undefined) await saveCheckpoint(dir, meta, checkpointJson, res.framesStored)
  return res
}

async function saveCheckpoint(dir: string, meta: RunFile, json: string, framesStored: number): Promise<void> {
  const cp = checkpointFromJson(json, `run ${meta.name}: checkpoint`)
  if (cp.positions.length !== meta.params.replicas * meta.dim) {
    throw new UserError(`run ${meta.name}: checkpoint holds ${cp.positions.length} coordinates, expected ${meta.params.replicas * meta.dim}`, 'bad-checkpoint')
  }
  if (cp.framesDone > framesStored) {
    throw new UserError(`run ${meta.name}: checkpoint is at frame ${cp.framesDone} but only ${framesStored} frames are stored; append the frames first`, 'bad-checkpoint')
  }
  await withFileLock(path.join(dir, CHECKPOINT), async () => {
    // never step a checkpoint backwards (a late retry of an older one)
    try {
      const old = checkpointFromJson(await fs.readFile(path.join(dir, CHECKPOINT), 'utf8'))
      if (old.framesDone > cp.framesDone) return
    } catch {
      // none yet, or unreadable: replace
    }
    await writeFileAtomic(path.join(dir, CHECKPOINT), json)
  })
}

export async function checkpointRun(home: string, projectId: string, runId: string, checkpointJson: string): Promise<{ framesDone: number }> {
  const dir = runDir(home, projectId, runId)
  const meta = await readRunFile(dir)
  const stored = await storedFrames(path.join(dir, FRAMES), rowBytes(meta))
  await saveCheckpoint(dir, meta, checkpointJson, stored)
  return { framesDone: checkpointFromJson(checkpointJson).framesDone }
}

/**
 * Where a run that stopped early (crash, closed window, stop) continues: the stored checkpoint moved
 * forward to the last whole stored frame. The sampler's state is its positions (frame framesDone − 1)
 * and the RNG position (adapter step count), so this continues to exactly the frames an
 * uninterrupted run gives. A torn last row (crash mid-write) is discarded here.
 */
export async function resumeState(home: string, projectId: string, runId: string): Promise<{ meta: RunSummary; checkpointJson: string | null }> {
  const dir = runDir(home, projectId, runId)
  const meta0 = await readRunFile(dir)
  const rb = rowBytes(meta0)
  const file = path.join(dir, FRAMES)
  const stored = await storedFrames(file, rb)
  await truncateFrames(file, rb, stored)
  let cpJson: string | null = null
  try {
    cpJson = await fs.readFile(path.join(dir, CHECKPOINT), 'utf8')
  } catch {
    cpJson = null
  }
  if (cpJson !== null) {
    const cp = checkpointFromJson(cpJson, `run ${meta0.name}: checkpoint.json`)
    if (stored >= cp.framesDone) {
      if (stored > cp.framesDone) {
        const last = await readFrames(file, rb, stored - 1, 1)
        cp.positions = new Float32Array(last.bytes.slice().buffer)
        cp.step += (stored - cp.framesDone) * meta0.params.innerSteps
        cp.framesDone = stored
      }
      const meta = await updateRunFile(dir, { status: 'running', error: null, finished: null })
      return { meta: await summarise(dir, meta), checkpointJson: checkpointToJson(cp) }
    }
    // frames were lost behind the checkpoint's back (a hand-edited folder): it no longer applies
    await fs.rm(path.join(dir, CHECKPOINT), { force: true })
  }
  // No usable checkpoint: the sampler starts again from the initial states. It is deterministic
  // (counter-based noise), so it re-makes the stored frames exactly and appendFrames skips them.
  const meta = await updateRunFile(dir, { status: 'running', error: null, finished: null })
  return { meta: await summarise(dir, meta), checkpointJson: null }
}

async function updateRunFile(dir: string, patch: Partial<RunFile>): Promise<RunFile> {
  return withFileLock(path.join(dir, META), async () => {
    const meta = await readRunFile(dir)
    const next: RunFile = { ...meta, ...patch, modified: new Date().toISOString() }
    await writeJsonAtomic(path.join(dir, META), next)
    return next
  })
}

export interface FinishRequest {
  status: Exclude<RunStatus, 'running'>
  backendUsed?: 'webgpu' | 'wasm'
  framesPerSecond?: number
  rejections?: number[]
  acceptance?: number[]
  error?: string
}

export async function finishRun(home: string, projectId: string, runId: string, req: FinishRequest): Promise<RunSummary> {
  const dir = runDir(home, projectId, runId)
  const meta = await updateRunFile(dir, {
    status: req.status,
    finished: new Date().toISOString(),
    ...(req.backendUsed ? { backendUsed: req.backendUsed } : {}),
    ...(req.framesPerSecond !== undefined ? { framesPerSecond: req.framesPerSecond } : {}),
    ...(req.rejections ? { rejections: req.rejections } : {}),
    ...(req.acceptance ? { acceptance: req.acceptance } : {}),
    error: req.error ?? null,
  })
  return summarise(dir, meta)
}

export async function setRunBackend(home: string, projectId: string, runId: string, backendUsed: 'webgpu' | 'wasm'): Promise<void> {
  await updateRunFile(runDir(home, projectId, runId), { backendUsed })
}

export async function renameRun(home: string, projectId: string, runId: string, name: string): Promise<RunSummary> {
  const dir = runDir(home, projectId, runId)
  const trimmed = name.trim()
  if (!trimmed) throw new UserError('run name: must not be empty', 'bad-input')
  return summarise(dir, await updateRunFile(dir, { name: trimmed }))
}

export async function deleteRun(home: string, projectId: string, runId: string): Promise<void> {
  const dir = runDir(home, projectId, runId)
  await readRunFile(dir)
  // rename first so a half-deleted folder is never listed as a run
  const trash = path.join(path.dirname(dir), `.${runId}.deleting-${randomBytes(3).toString('hex')}`)
  await fs.rename(dir, trash)
  await fs.rm(trash, { recursive: true, force: true })
}
