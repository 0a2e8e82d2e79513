/**
 * The model self-check over the API (docs/self-check.md): model.selfCheck runs the check on a
 * registry model (models/<id>/model.onnx + card.json) as a job in a worker thread, with
 * `model.selfCheck.progress` events (stage, overall fraction, ETA) and `model.selfCheck.done`;
 * the verdict and recommended Δt land in the card (card.selfCheck), the full report beside it
 * (self-check.json) for model.selfCheckReport. One check runs at a time: each takes every core.
 *
 * The training snapshots: the dataset asked for, else the model's own dataset (card.data.datasetId),
 * else the files its card names, else a project dataset with the model's atoms (the Examples
 * project's default model was imported, so its card names a file outside the project).
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { UserError } from '../../core/errors'
import type { ModelCard } from '../../core/nn/card'
import type { SamplerMode } from '../../core/sampler/params'
import { PlanProgress } from '../../core/selfcheck/plan'
import { SELF_CHECK_DEFAULTS } from '../../core/selfcheck/self-check'
import type { SelfCheckJob, SelfCheckSettings, SelfCheckSummary } from '../../api/selfcheck'
import type { ServiceContext } from '../context'
import { projectDir } from '../project/store'
import { getModel, type ModelEntry } from '../models/registry'
import { listDatasets, readDataset, type DatasetManifest } from '../datasets'
import { startSelfCheckJob, type SelfCheckJobOptions } from '../models/self-check-job'
import { writeJsonAtomic } from '../fs/atomic'

/** the full report of the last completed check, beside the card */
export const REPORT_FILE = 'self-check.json'
/** D (Å²/ps) when none is given: the ala2 example's GROMACS BD friction at 300 K (as `diffmd check`) */
export const DEFAULT_DIFFUSION = 0.0498868
/** finished jobs are kept this long for model.selfCheckJobs */
const KEEP_FINISHED_MS = 10 * 60 * 1000
/** progress events at most this often */
const EMIT_MS = 250

interface JobRecord extends Omit<SelfCheckJob, 'elapsedSeconds'> {
  startedMs: number
  endedMs: number | null
  cancel: () => void
}

const jobs = new Map<string, JobRecord>()
/** test hook: run checks on this thread instead of a worker */
export const selfCheckJobOptions: SelfCheckJobOptions = {}

function publicJob(j: JobRecord): SelfCheckJob {
  const { cancel: _c, startedMs, endedMs, ...rest } = j
  return { ...rest, elapsedSeconds: ((endedMs ?? Date.now()) - startedMs) / 1000 }
}

/** NaN and ±∞ become null, as JSON does: the same report over IPC and HTTP */
function jsonSafe<T>(v: T): unknown {
  return JSON.parse(JSON.stringify(v)) as unknown
}

function sameAtoms(card: ModelCard, m: DatasetManifest): boolean {
  if (m.dim !== card.dim) return false
  const ci = card.atoms?.indices
  if (ci && m.atoms.indices.length === ci.length) return ci.every((v, i) => v === m.atoms.indices[i])
  return !ci
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.access(p)
    return true
  } catch {
    return false
  }
}

interface SnapshotSource {
  datasetId: string | null
  label: string
  snapshots?: Float32Array
}

async function fromDataset(dir: string, card: ModelCard, id: string): Promise<SnapshotSource> {
  const ds = await readDataset(dir, id)
  if (!sameAtoms(card, ds.manifest)) {
    throw new UserError(`dataset '${ds.manifest.name}' has ${ds.manifest.dim / 3} atoms (selection ${ds.manifest.atoms.selection}), not the ${card.dim / 3} atoms model '${card.name}' was trained on; pick the dataset it was trained on`, 'bad-input')
  }
  return { datasetId: id, label: `dataset ${ds.manifest.name}`, snapshots: ds.coords.subarray(0, ds.manifest.frames * ds.manifest.dim) }
}

/** where the model's training snapshots come from (see the header) */
export async function snapshotSource(dir: string, entry: ModelEntry, datasetId?: string): Promise<SnapshotSource> {
  const card = entry.card
  if (datasetId) return fromDataset(dir, card, datasetId)
  const manifests = await listDatasets(dir)
  const own = card.data.datasetId
  if (own && manifests.some((m) => m.id === own)) return fromDataset(dir, card, own)
  const sources = card.data.sources ?? []
  for (const s of sources) {
    const file = path.isAbsolute(s) ? s : path.resolve(entry.dir, s)
    if (await exists(file)) return { datasetId: null, label: path.basename(file) }
  }
  const names = new Set(sources.map((s) => path.basename(s)))
  const fits = manifests.filter((m) => sameAtoms(card, m))
  const pick = fits.find((m) => m.sources.some((s) => names.has(s.name))) ?? fits.at(-1)
  if (pick) return fromDataset(dir, card, pick.id)
  throw new UserError(
    `model '${card.name}': its training snapshots were not found (${sources.join(', ') || 'its card names none'}) and no dataset of this project has its ${card.dim / 3} atoms; import the data it was trained on as a dataset, then run the check again`,
    'not-found'
  )
}

export async function startSelfCheck(ctx: ServiceContext, input: { projectId: string; modelId: string; datasetId?: string; settings?: SelfCheckSettings }): Promise<SelfCheckJob> {
  const running = [...jobs.values()].find((j) => j.state === 'running')
  if (running) throw new UserError(`a self-check is already running (model ${running.modelId}); cancel it or wait for it to finish — each check uses every core`, 'busy')
  const dir = projectDir(ctx.home, input.projectId)
  const entry = await getModel(dir, input.modelId)
  // what the check needs from the card, refused here rather than as a failed job
  const card = entry.card
  if (!card.atoms?.records || card.atoms.records.length * 3 !== card.dim) throw new UserError(`model '${card.name}' has no atom names on its card (an imported model?); the self-check needs them to find φ/ψ`, 'bad-model')
  if (!card.mean || !card.sigmaData) throw new UserError(`model '${card.name}' has no mean structure or σ_data on its card (an imported model?); the self-check needs them`, 'bad-model')
  const source = await snapshotSource(dir, entry, input.datasetId)
  const s = input.settings ?? {}
  const D = SELF_CHECK_DEFAULTS
  const settings: Required<SelfCheckSettings> = {
    dtPs: s.dtPs ?? [...D.dtPs],
    nsPerReplica: s.nsPerReplica ?? D.nsPerReplica,
    replicas: s.replicas ?? D.replicas,
    maxReplicas: s.maxReplicas ?? Math.max(s.replicas ?? D.replicas, D.maxReplicas),
    diffusion: s.diffusion ?? DEFAULT_DIFFUSION,
    mode: s.mode ?? 'bridge',
    denoiseSteps: s.denoiseSteps ?? D.denoiseSteps,
    iidSamples: s.iidSamples ?? D.iidSamples,
    iidSteps: s.iidSteps ?? D.iidSteps,
    resolution: s.resolution ?? D.resolution,
    seed: s.seed ?? 1,
  }
  const plan = new PlanProgress({ ...settings, mode: settings.mode as SamplerMode })
  const jobId = `check-${Date.now().toString(36)}-${randomBytes(2).toString('hex')}`
  const startedMs = Date.now()
  const record: JobRecord = {
    jobId,
    projectId: input.projectId,
    modelId: input.modelId,
    datasetId: source.datasetId,
    dataLabel: source.label,
    settings,
    started: new Date(startedMs).toISOString(),
    startedMs,
    endedMs: null,
    state: 'running',
    stage: 'opening the model',
    fraction: 0,
    etaSeconds: null,
    summary: null,
    report: null,
    error: null,
    cancel: () => undefined,
  }
  let lastEmit = 0
  const progress = (): void => {
    const p = publicJob(record)
    ctx.emit({ topic: 'model.selfCheck.progress', payload: { jobId, projectId: p.projectId, modelId: p.modelId, stage: p.stage, fraction: p.fraction, elapsedSeconds: p.elapsedSeconds, etaSeconds: p.etaSeconds } })
  }
  const handle = startSelfCheckJob(
    {
      modelFile: entry.onnxFile,
      ...(source.snapshots ? { snapshots: source.snapshots } : {}),
      diffusion: settings.diffusion,
      dtPs: settings.dtPs,
      nsPerReplica: settings.nsPerReplica,
      replicas: settings.replicas,
      maxReplicas: settings.maxReplicas,
      mode: settings.mode as SamplerMode,
      denoiseSteps: settings.denoiseSteps,
      iidSamples: settings.iidSamples,
      iidSteps: settings.iidSteps,
      resolution: settings.resolution,
      seed: settings.seed,
      save: true,
    },
    {
      onProgress: (stage, done, total) => {
        const f = plan.fraction(stage, done, total)
        record.stage = stage
        if (f !== undefined && f >= record.fraction) record.fraction = f
        const elapsed = (Date.now() - startedMs) / 1000
        // the ETA follows the cost-weighted fraction once a few per cent are done
        record.etaSeconds = record.fraction >= 0.02 ? (elapsed * (1 - record.fraction)) / record.fraction : null
        const now = Date.now()
        if (now - lastEmit < EMIT_MS) return
        lastEmit = now
        progress()
      },
    },
    selfCheckJobOptions
  )
  record.cancel = () => handle.cancel()
  jobs.set(jobId, record)
  const finish = (state: JobRecord['state'], error: string | null): void => {
    record.state = state
    record.error = error
    record.endedMs = Date.now()
    record.etaSeconds = state === 'done' ? 0 : null
    if (state === 'done') record.fraction = 1
    ctx.emit({ topic: 'model.selfCheck.done', payload: { jobId, projectId: input.projectId, modelId: input.modelId, state, error, summary: record.summary } })
    setTimeout(() => jobs.delete(jobId), KEEP_FINISHED_MS).unref?.()
  }
  handle.done.then(
    async (res) => {
      if (!res) return finish('cancelled', null)
      record.summary = jsonSafe(res.summary) as SelfCheckSummary
      record.report = jsonSafe(res.report)
      record.stage = 'done'
      try {
        await writeJsonAtomic(path.join(entry.dir, REPORT_FILE), { summary: record.summary, report: record.report, dataLabel: source.label })
      } catch {
        // the card has the verdict; the full report is a convenience
      }
      finish('done', null)
    },
    (err: unknown) => finish('failed', err instanceof UserError ? err.message : `self-check failed: ${(err as Error).message}`)
  )
  return publicJob(record)
}

export function listSelfCheckJobs(projectId?: string): SelfCheckJob[] {
  return [...jobs.values()].filter((j) => !projectId || j.projectId === projectId).map(publicJob)
}

/** cancels a running self-check; false when there is none with this id */
export function cancelSelfCheck(jobId: string): boolean {
  const j = jobs.get(jobId)
  if (!j || j.state !== 'running') return false
  j.cancel()
  return true
}

/** the last stored report, when it belongs to the summary in the card (null otherwise) */
export async function storedSelfCheck(home: string, projectId: string, modelId: string): Promise<{ summary: SelfCheckSummary; report: unknown; dataLabel: string } | null> {
  const entry = await getModel(projectDir(home, projectId), modelId)
  const inCard = entry.card.selfCheck
  if (!inCard) return null
  try {
    const v = JSON.parse(await fs.readFile(path.join(entry.dir, REPORT_FILE), 'utf8')) as { summary?: SelfCheckSummary; report?: unknown; dataLabel?: string }
    if (!v.summary || v.summary.createdAt !== inCard.createdAt || !v.report) return null
    return { summary: v.summary, report: v.report, dataLabel: typeof v.dataLabel === 'string' ? v.dataLabel : '' }
  } catch {
    return null
  }
}
