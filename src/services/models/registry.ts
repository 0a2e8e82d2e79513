/**
 * A project's models: `models/<id>/model.onnx` + `models/<id>/card.json` (docs/architecture.md "One model format", "On disk").
 * A model exists once its card is written (the ONNX first, the card last, both atomically), so a
 * crash mid-write never shows a half model. Training writes `models/<id>/train-checkpoint.bin`
 * after every validation; it stays after a cancel so the job can be resumed, and is removed when
 * the model is complete.
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { UserError } from '../../core/errors'
import { VERSION } from '../../core/version'
import { buildCard, CARD_FORMAT, CARD_VERSION, type ModelCard } from '../../core/nn/card'
import { decodeModel } from '../../core/nn/onnx-proto'
import type { TrainOptions } from '../../core/nn/trainer'
import { writeFileAtomic, writeJsonAtomic } from '../fs/atomic'
import { readDataset } from '../datasets/store'
import { sha256Hex } from './hash'
import { openModelFile, readCardFile, findCard } from './open'
import { startTrainingJob, type TrainJobHooks, type TrainJobOptions } from './train-job'
import type { TrainJobOutput } from './train-run'
import type { EnsembleMember } from '../../core/nn/ensemble'
import { assembleEnsemble, inLanes, readFinishedMember } from './ensemble'
import { availableParallelism } from 'node:os'
import { checkId as checkSharedId, isValidId } from '../../api/ids'

export const MODEL_FILE = 'model.onnx'
export const CARD_FILE = 'card.json'
export const CHECKPOINT_FILE = 'train-checkpoint.bin'
/** where an ensemble's members are kept inside its model folder */
export const MEMBERS_DIR = 'members'
export const MAX_MEMBERS = 16

export interface ModelEntry {
  id: string
  dir: string
  onnxFile: string
  card: ModelCard
}

export function modelsDir(projectDir: string): string {
  return path.join(projectDir, 'models')
}

function checkId(id: string): void {
  checkSharedId(id, 'model')
}

function checkName(name: string): string {
  const clean = name.trim()
  if (clean.length === 0 || clean.length > 200 || /[\r\n]/.test(clean)) throw new UserError(`model name must be 1–200 characters on one line (got '${name.slice(0, 40)}')`, 'bad-input')
  return clean
}

function newId(name: string): string {
  const slug = name.toLowerCase().normalize('NFKD').replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40) || 'model'
  return `${slug}-${randomBytes(3).toString('hex')}`
}

function entryOf(projectDir: string, id: string, card: ModelCard): ModelEntry {
  const dir = path.join(modelsDir(projectDir), id)
  return { id, dir, onnxFile: path.join(dir, MODEL_FILE), card }
}

export async function readModelCard(projectDir: string, id: string): Promise<ModelCard> {
  checkId(id)
  const file = path.join(modelsDir(projectDir), id, CARD_FILE)
  try {
    await fs.access(file)
  } catch {
    throw new UserError(`model '${id}' not found in ${modelsDir(projectDir)}`, 'not-found')
  }
  return readCardFile(file)
}

export async function getModel(projectDir: string, id: string): Promise<ModelEntry> {
  return entryOf(projectDir, id, await readModelCard(projectDir, id))
}

/** complete models (those with a readable card), newest first; unreadable ones are reported in `problems` */
export async function listModels(projectDir: string): Promise<{ models: ModelEntry[]; problems: string[] }> {
  let names: string[]
  try {
    names = await fs.readdir(modelsDir(projectDir))
  } catch {
    return { models: [], problems: [] }
  }
  const models: ModelEntry[] = []
  const problems: string[] = []
  for (const id of names.sort()) {
    if (!isValidId(id)) continue
    const file = path.join(modelsDir(projectDir), id, CARD_FILE)
    try {
      await fs.access(file)
    } catch {
      continue // in training, cancelled, or not a model folder
    }
    try {
      models.push(entryOf(projectDir, id, await readCardFile(file)))
    } catch (err) {
      problems.push((err as Error).message)
    }
  }
  models.sort((a, b) => (a.card.createdAt < b.card.createdAt ? 1 : a.card.createdAt > b.card.createdAt ? -1 : 0))
  return { models, problems }
}

export async function renameModel(projectDir: string, id: string, name: string): Promise<ModelCard> {
  const clean = checkName(name)
  const card = await readModelCard(projectDir, id)
  const updated: ModelCard = { ...card, name: clean }
  await writeJsonAtomic(path.join(modelsDir(projectDir), id, CARD_FILE), updated)
  return updated
}

export async function deleteModel(projectDir: string, id: string): Promise<void> {
  checkId(id)
  const dir = path.join(modelsDir(projectDir), id)
  try {
    await fs.access(dir)
  } catch {
    throw new UserError(`model '${id}' not found in ${modelsDir(projectDir)}`, 'not-found')
  }
  // remove the card first: the model disappears from listings at once, even if the rest fails
  await fs.rm(path.join(dir, CARD_FILE), { force: true })
  await fs.rm(dir, { recursive: true, force: true })
}

/** writes model.onnx then card.json (atomically) into a new or given model folder */
export async function writeModel(projectDir: string, id: string, onnx: Uint8Array, card: ModelCard): Promise<ModelEntry> {
  checkId(id)
  const dir = path.join(modelsDir(projectDir), id)
  await writeFileAtomic(path.join(dir, MODEL_FILE), onnx)
  await writeJsonAtomic(path.join(dir, CARD_FILE), card)
  return entryOf(projectDir, id, card)
}

export interface ImportOptions {
  name?: string
  /** a card JSON for the model (default: the card beside the file, if any) */
  cardFile?: string
  /** σ range (Å) to record when the model has no card */
  sigmaRange?: [number, number]
}

/**
 * Imports an ONNX score model (ours or third-party): checks the contract (x[B,d], sigma[B] →
 * score[B,d] [, energy[B]]) and a probe batch, then copies it into the project with its card
 * (its own card when it has one, else a minimal 'imported' card).
 */
export async function importModel(projectDir: string, file: string, opts: ImportOptions = {}): Promise<ModelEntry> {
  let given: ModelCard | undefined
  if (opts.cardFile) given = await readCardFile(opts.cardFile)
  else given = (await findCard(file))?.card
  const opened = await openModelFile(file, { card: given })
  try {
    const bytes = opened.bytes
    let producer: string | undefined
    try {
      const m = decodeModel(bytes)
      producer = [m.producerName, m.producerVersion].filter(Boolean).join(' ') || undefined
    } catch {
      producer = undefined
    }
    const name = checkName(opts.name ?? given?.name ?? path.basename(file).replace(/\.onnx$/i, ''))
    const sha256 = sha256Hex(bytes)
    const card: ModelCard = given
      ? { ...given, name, onnx: { ...given.onnx, sha256, bytes: bytes.length } }
      : {
          format: CARD_FORMAT,
          version: CARD_VERSION,
          name,
          architecture: { arch: 'imported', producer, output: opened.model.hasEnergy ? 'energy' : 'score' },
          dim: opened.model.dim,
          aligned: false,
          data: { frames: 0, trainFrames: 0, valFrames: 0, sources: [path.resolve(file)] },
          onnx: { sha256, bytes: bytes.length, inputs: ['x', 'sigma'], outputs: opened.model.hasEnergy ? ['score', 'energy'] : ['score'] },
          appVersion: VERSION,
          createdAt: new Date().toISOString(),
        }
    if (!given && opts.sigmaRange) card.sigmaRange = opts.sigmaRange
    return await writeModel(projectDir, newId(name), bytes, card)
  } finally {
    await opened.model.dispose()
  }
}

export interface ProjectTrainRequest {
  datasetId: string
  name?: string
  options: TrainOptions
  /** continue the cancelled training of this model id (its checkpoint) */
  resumeId?: string
  /** temperature of the data (K), recorded in the card */
  temperature?: number
  /** train an ensemble of this many members (seeds S … S+K−1; default 1, a single model) */
  members?: number
  /** members trained at once (default: the machine's cores) */
  parallel?: number
}

export interface ProjectTrainJob {
  id: string
  /** resolves with the new model, or null when cancelled (the checkpoint stays for a resume) */
  done: Promise<ModelEntry | null>
  cancel(): void
}

/** trains a model on a project dataset as a cancellable job (worker thread unless jobOpts.inProcess) */
export async function trainProjectModel(projectDir: string, req: ProjectTrainRequest, hooks: TrainJobHooks = {}, jobOpts: TrainJobOptions = {}): Promise<ProjectTrainJob> {
  const ds = await readDataset(projectDir, req.datasetId)
  const m = ds.manifest
  const name = checkName(req.name ?? `${m.name} ${req.options.arch}`)
  const id = req.resumeId ?? newId(name)
  checkId(id)
  const members = req.members ?? 1
  if (!(Number.isSafeInteger(members) && members >= 1 && members <= MAX_MEMBERS)) throw new UserError(`model.train: members must be a whole number from 1 to ${MAX_MEMBERS} (got ${members})`, 'bad-input')
  const dir = path.join(modelsDir(projectDir), id)
  // one checkpoint per member (members > 1: train-checkpoint.m1.bin …), and finished members in members/
  const ckptOf = (k: number) => path.join(dir, members === 1 ? CHECKPOINT_FILE : CHECKPOINT_FILE.replace(/\.bin$/, `.m${k + 1}.bin`))
  const memberFile = (k: number) => path.join(dir, MEMBERS_DIR, `m${k + 1}.onnx`)
  const exists = (f: string) => fs.access(f).then(() => true, () => false)
  if (req.resumeId) {
    const any = (await Promise.all(Array.from({ length: members }, (_, k) => exists(ckptOf(k))))).some(Boolean)
    if (!any) throw new UserError(`model '${id}' has no training checkpoint to resume`, 'not-found')
  }
  await fs.mkdir(dir, { recursive: true })
  const nAtoms = m.atoms.count
  const reference = m.aligned ? ds.coords.slice(m.referenceFrame * m.dim, (m.referenceFrame + 1) * m.dim) : undefined
  const cardOf = (out: TrainJobOutput): ModelCard =>
    buildCard(
      out.result,
      {
        name,
        datasetId: m.id,
        atoms: { selection: m.atoms.selection, indices: m.atoms.indices, records: ds.topology.atoms },
        aligned: m.aligned && nAtoms * 3 === m.dim,
        reference,
        temperature: req.temperature,
        appVersion: VERSION,
        createdAt: new Date().toISOString(),
      },
      { sha256: sha256Hex(out.onnx), bytes: out.onnx.length }
    )
  if (members === 1) {
    const checkpointFile = ckptOf(0)
    const job = startTrainingJob(
      { data: { frames: ds.coords, nFrames: m.frames, dim: m.dim }, options: req.options, checkpointFile, resumeFile: req.resumeId ? checkpointFile : undefined },
      hooks,
      jobOpts
    )
    const done = job.done.then(async (out: TrainJobOutput) => {
      if (out.result.final.cancelled) return null
      const entry = await writeModel(projectDir, id, out.onnx, cardOf(out))
      await fs.rm(checkpointFile, { force: true })
      return entry
    })
    return { id, done, cancel: () => job.cancel() }
  }

  // an ensemble (docs/training.md "Ensembles"): members with seeds S … S+K−1, one worker thread
  // each, as many at once as the machine has cores; progress is member 1's loss with the mean step
  const seed = req.options.seed ?? 0
  const parallel = Math.min(members, req.parallel ?? availableParallelism())
  const jobs: { cancel(): void }[] = []
  let cancelled = false
  const steps = new Array<number>(members).fill(0)
  const results: ({ bytes: Uint8Array; card: ModelCard } | undefined)[] = new Array(members)
  const member = async (k: number): Promise<boolean> => {
    if (cancelled) return false
    // a member finished before a cancel is kept: a resume does not train it again
    const prev = req.resumeId ? await readFinishedMember(memberFile(k)) : undefined
    if (prev) {
      results[k] = prev
      steps[k] = prev.card.training?.stepsRun ?? 0
      return true
    }
    const resumeFile = req.resumeId && (await exists(ckptOf(k))) ? ckptOf(k) : undefined
    const job = startTrainingJob(
      { data: { frames: ds.coords, nFrames: m.frames, dim: m.dim }, options: { ...req.options, seed: seed + k }, checkpointFile: ckptOf(k), resumeFile },
      {
        onProgress: (p) => {
          steps[k] = p.step
          if (k !== 0 && p.phase === 'train') return
          const mean = Math.floor(steps.reduce((a, b) => a + b, 0) / members)
          hooks.onProgress?.({ ...p, step: k === 0 ? p.step : mean, etaSec: p.etaSec * Math.ceil(members / parallel) })
        },
        onLog: (line) => hooks.onLog?.(`[member ${k + 1}/${members}] ${line}`),
      },
      jobOpts
    )
    jobs.push(job)
    if (cancelled) job.cancel()
    const out = await job.done
    if (out.result.final.cancelled) {
      cancelled = true
      return false
    }
    const card = cardOf(out)
    await fs.mkdir(path.join(dir, MEMBERS_DIR), { recursive: true })
    await writeFileAtomic(memberFile(k), out.onnx)
    await writeJsonAtomic(memberFile(k).replace(/\.onnx$/, '.card.json'), card)
    await fs.rm(ckptOf(k), { force: true })
    results[k] = { bytes: out.onnx, card }
    return true
  }
  const done = inLanes(members, parallel, member).then(async () => {
    if (cancelled || results.some((r) => !r)) return null
    const ms: EnsembleMember[] = results.map((r, k) => ({ bytes: r!.bytes, card: r!.card, file: `${MEMBERS_DIR}/m${k + 1}.onnx` }))
    const ens = assembleEnsemble(ms, name)
    return writeModel(projectDir, id, ens.bytes, ens.card)
  })
  return {
    id,
    done,
    cancel: () => {
      cancelled = true
      for (const j of jobs) j.cancel()
    },
  }
}

