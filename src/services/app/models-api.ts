/**
 * The model.* API over the models service (registry + training jobs): size presets, training jobs
 * with progress events, the loss history kept beside the model, and model bytes for the renderer's
 * onnxruntime-web session (one path for IPC and HTTP alike).
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { UserError } from '../../core/errors'
import type { ModelCard } from '../../core/nn/card'
import { DEFAULT_RECIPE, DEFAULT_STEPS, type TrainOptions, type TrainProgress } from '../../core/nn/trainer'
import { deleteModel, getModel, importModel, listModels, readModelCard, renameModel, trainProjectModel, type ModelEntry } from '../models/registry'
import type { TrainJobOptions } from '../models/train-job'
import type { ServiceContext } from '../context'
import { markModified, projectDir } from '../project/store'
import { writeJsonAtomic } from '../fs/atomic'
import { folderBytes } from '../fs/paths'
import { datasetReference } from './datasets-api'

export type Preset = 'tiny' | 'small' | 'default'

/** size presets: score-MLP width × depth and the default number of Adam steps */
export const PRESETS: Record<Preset, { width: number; depth: number; steps: number; batch: number }> = {
  tiny: { width: 64, depth: 2, steps: 300, batch: 256 },
  small: { width: 128, depth: 3, steps: 3000, batch: 512 },
  default: { width: 256, depth: 3, steps: DEFAULT_STEPS, batch: 512 },
}

export const HISTORY_FILE = 'loss-history.json'

interface LossPoint {
  step: number
  loss: number
  valLoss?: number
}

interface JobRecord {
  jobId: string
  projectId: string
  datasetId: string
  name: string
  preset: Preset
  steps: number
  seed: number
  started: string
  state: 'running' | 'done' | 'failed' | 'cancelled'
  points: LossPoint[]
  last: { jobId: string; projectId: string; step: number; steps: number; loss: number; valLoss: number | null; samplesPerSec: number; etaSeconds: number } | null
  modelId: string | null
  error: string | null
  cancel: () => void
}

const jobs = new Map<string, JobRecord>()
/** finished jobs are kept this long for model.jobs (a reload shortly after still sees the result) */
const KEEP_FINISHED_MS = 10 * 60 * 1000
/** test hook: run training on this thread instead of a worker */
export const trainJobOptions: TrainJobOptions = {}

function publicJob(j: JobRecord) {
  const { cancel: _cancel, ...rest } = j
  return { ...rest, points: rest.points.slice() }
}

async function summarise(entry: ModelEntry) {
  let lossHistory: LossPoint[] | undefined
  try {
    const h = JSON.parse(await fs.readFile(path.join(entry.dir, HISTORY_FILE), 'utf8')) as { points?: LossPoint[] }
    if (Array.isArray(h.points)) lossHistory = h.points
  } catch {
    lossHistory = undefined
  }
  return {
    id: entry.id,
    name: entry.card.name,
    created: entry.card.createdAt,
    sizeBytes: await folderBytes(entry.dir),
    card: entry.card as ModelCard & Record<string, unknown>,
    ...(lossHistory ? { lossHistory } : {}),
  }
}

export async function listModelSummaries(home: string, projectId: string) {
  const { models } = await listModels(projectDir(home, projectId))
  return Promise.all(models.map(summarise))
}

function progressOf(j: JobRecord, p: TrainProgress): NonNullable<JobRecord['last']> {
  return {
    jobId: j.jobId,
    projectId: j.projectId,
    step: p.step,
    steps: p.steps,
    loss: p.loss,
    valLoss: p.valLoss,
    samplesPerSec: p.samplesPerSec,
    etaSeconds: p.etaSec,
  }
}

export async function startTraining(
  ctx: ServiceContext,
  input: { projectId: string; datasetId: string; preset: Preset; steps?: number; seed?: number; name?: string; arch?: 'score-mlp' | 'energy-mlp'; consistency?: number; ema?: number; members?: number }
) {
  const dir = projectDir(ctx.home, input.projectId)
  const preset = PRESETS[input.preset]
  const steps = input.steps ?? preset.steps
  const seed = input.seed ?? 1
  // the recipe: `diffmd train`'s default one unless the request says otherwise (docs/training.md)
  const arch = input.arch ?? DEFAULT_RECIPE.arch
  const consistency = arch === 'energy-mlp' ? (input.consistency ?? DEFAULT_RECIPE.consistency.weight) : 0
  if (input.consistency && arch !== 'energy-mlp') throw new UserError('model.train: the consistency term needs the energy architecture (arch energy-mlp)', 'bad-input')
  const options: TrainOptions = {
    arch,
    width: preset.width,
    depth: preset.depth,
    steps,
    seed,
    batch: preset.batch,
    // at least every 20 steps: an energy model's step is slower, and the panel should move within seconds
    progressEvery: Math.max(1, Math.min(20, Math.floor(steps / 200))),
    head: DEFAULT_RECIPE.head,
    ema: input.ema ?? DEFAULT_RECIPE.ema,
    antithetic: DEFAULT_RECIPE.antithetic,
    consistency: { ...DEFAULT_RECIPE.consistency, weight: consistency },
  }
  // the data's temperature, when the dataset's reference says (e.g. the ala2 example: 300 K)
  const ref = await datasetReference(ctx.home, input.projectId, input.datasetId).catch(() => ({ reference: null }))
  const T = ref.reference?.temperature_K
  const jobId = `train-${Date.now().toString(36)}-${randomBytes(2).toString('hex')}`
  const record: JobRecord = {
    jobId,
    projectId: input.projectId,
    datasetId: input.datasetId,
    name: input.name ?? '',
    preset: input.preset,
    steps,
    seed,
    started: new Date().toISOString(),
    state: 'running',
    points: [],
    last: null,
    modelId: null,
    error: null,
    cancel: () => undefined,
  }
  let lastEmit = 0
  const job = await trainProjectModel(
    dir,
    { datasetId: input.datasetId, ...(input.name ? { name: input.name } : {}), options, ...(typeof T === 'number' ? { temperature: T } : {}), ...(input.members ? { members: input.members } : {}) },
    {
      onProgress: (p) => {
        const point: LossPoint = { step: p.step, loss: p.loss, ...(p.valLoss !== null ? { valLoss: p.valLoss } : {}) }
        if (Number.isFinite(p.loss)) {
          const prev = record.points.at(-1)
          if (prev && prev.step === p.step) record.points[record.points.length - 1] = { ...prev, ...point }
          else record.points.push(point)
        }
        record.last = progressOf(record, p)
        const now = Date.now()
        if (now - lastEmit < 150 && p.phase === 'train') return
        lastEmit = now
        ctx.emit({ topic: 'model.train.progress', payload: record.last })
      },
    },
    trainJobOptions
  )
  record.cancel = () => job.cancel()
  record.name = record.name || job.id
  jobs.set(jobId, record)
  const finish = (state: JobRecord['state'], modelId: string | null, error: string | null): void => {
    record.state = state
    record.modelId = modelId
    record.error = error
    ctx.emit({ topic: 'model.train.done', payload: { jobId, projectId: input.projectId, state, modelId, error } })
    setTimeout(() => jobs.delete(jobId), KEEP_FINISHED_MS).unref?.()
  }
  job.done.then(
    async (entry) => {
      if (!entry) return finish('cancelled', null, null)
      try {
        await writeJsonAtomic(path.join(entry.dir, HISTORY_FILE), { jobId, preset: input.preset, points: record.points })
      } catch {
        // the model is complete without its loss history
      }
      await markModified(ctx.home, input.projectId)
      finish('done', entry.id, null)
    },
    (err: unknown) => finish('failed', null, err instanceof UserError ? err.message : `training failed: ${(err as Error).message}`)
  )
  return publicJob(record)
}

export function listJobs(projectId?: string) {
  return [...jobs.values()].filter((j) => !projectId || j.projectId === projectId).map(publicJob)
}

export function cancelJob(jobId: string): { cancelled: boolean } {
  const j = jobs.get(jobId)
  if (!j || j.state !== 'running') return { cancelled: false }
  j.cancel()
  return { cancelled: true }
}

export async function modelCard(home: string, projectId: string, modelId: string) {
  return (await readModelCard(projectDir(home, projectId), modelId)) as ModelCard & Record<string, unknown>
}

export async function importModelApi(home: string, i: { projectId: string; onnxPath: string; cardPath?: string; name?: string }) {
  const entry = await importModel(projectDir(home, i.projectId), i.onnxPath, { ...(i.name ? { name: i.name } : {}), ...(i.cardPath ? { cardFile: i.cardPath } : {}) })
  return summarise(entry)
}

export async function renameModelApi(home: string, projectId: string, modelId: string, name: string) {
  await renameModel(projectDir(home, projectId), modelId, name)
  return summarise(await getModel(projectDir(home, projectId), modelId))
}

export async function deleteModelApi(home: string, projectId: string, modelId: string) {
  await deleteModel(projectDir(home, projectId), modelId)
  return { deleted: modelId }
}

export async function modelBytes(home: string, projectId: string, modelId: string) {
  const entry = await getModel(projectDir(home, projectId), modelId)
  let bytes: Buffer
  try {
    bytes = await fs.readFile(entry.onnxFile)
  } catch (err) {
    throw new UserError(`${entry.onnxFile}: cannot read the model (${(err as Error).message}); delete the model and import or train it again`, 'io')
  }
  return { base64: bytes.toString('base64'), card: entry.card as ModelCard & Record<string, unknown> }
}
