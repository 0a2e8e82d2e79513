/**
 * Opens a learned model for `diffmd simulate --model FILE`: the ONNX file with onnxruntime-node,
 * its card (`FILE.card.json` beside `FILE.onnx`, or `card.json` in the same folder), the contract
 * check and a probe batch; the starting pool (--init, else the training data the card points to,
 * else the card's reference/mean structure); the topology (--topology, else the card's atoms, else
 * the --init PDB) and the trust region of the card.
 */
import { alignedCovariancePreconditioner, covariancePreconditioner, type MhPreconditioner } from '../core/sampler/metropolis'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import type { ScoreModel } from '../core/score/types'
import type { Topology } from '../core/topology'
import { UserError } from '../core/errors'
import type { ModelCard } from '../core/nn/card'
import { readPdb } from '../core/formats/pdb'
import { maybeGunzip } from '../core/formats/gzip'
import { openModelFile, trustRegionOf } from '../services/models/open'
import { loadTrainingFrames } from '../services/models/training-data'
import { fromLittleEndian } from '../services/datasets/store'

/**
 * --mh-frames-f32 FILE: the covariance down kernel's preconditioner from raw little-endian float32
 * frames [n, d] (the app's cluster jobs write the run's dataset frames so), aligned to the model's
 * reference first when the model is rigid-body and `align` holds, as its training frames would be.
 */
export async function mhPreconditionerFromF32(file: string, model: Pick<ScoreModel, 'dim' | 'rigidBody' | 'reference'>, align: boolean): Promise<MhPreconditioner> {
  let b: Buffer
  try {
    b = await fs.readFile(file)
  } catch (err) {
    throw new UserError(`--mh-frames-f32 ${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, 'bad-flag')
  }
  const d = model.dim
  const n = Math.floor(b.length / (4 * d))
  if (b.length !== n * d * 4 || n < 2) throw new UserError(`--mh-frames-f32 ${file}: holds ${b.length} bytes, not 2 or more frames of d = ${d} float32 (${d * 4} bytes each)`, 'bad-flag')
  return alignedCovariancePreconditioner(fromLittleEndian(b), n, d, align && model.rigidBody ? model.reference : undefined)
}

export interface CliModelOptions {
  model: string
  topology?: string
  init?: string
  align: boolean
  /** onnxruntime intra-op threads of the session (default 1) */
  threads?: number
  /** also build the bridge-mh preconditioner from the training data the card names (--mh-kernel covariance) */
  mhCovariance?: boolean
}

export interface CliModel {
  model: ScoreModel
  /** pool of starting frames [n, d] (replicas start from frames drawn from it) */
  initPool: Float32Array
  topology?: Topology
  card: Record<string, unknown>
  trustRegion?: { mean: Float32Array; scale: Float32Array; radius: number }
  /** with mhCovariance: the covariance of the training frames (aligned as the model sees them), eigen-decomposed */
  mhPreconditioner?: MhPreconditioner
  dispose(): Promise<void>
}

/** the card without its long arrays (for run metadata): provenance stays via onnx.sha256 */
export function cardSummary(card: ModelCard | undefined): Record<string, unknown> {
  if (!card) return {}
  const { mean: _m, reference: _r, trustRegion, atoms, ...rest } = card
  const out: Record<string, unknown> = { ...rest }
  if (trustRegion) out.trustRegion = { radius: trustRegion.radius }
  if (atoms) out.atoms = { selection: atoms.selection, count: atoms.indices.length }
  return out
}

async function readTopology(file: string, card: ModelCard | undefined, dim: number): Promise<Topology> {
  let bytes: Uint8Array
  try {
    bytes = await fs.readFile(file)
  } catch (err) {
    throw new UserError(`--topology ${file}: cannot read (${(err as Error).message})`, 'not-found')
  }
  const { topology } = readPdb(new TextDecoder('latin1').decode(maybeGunzip(bytes, file)), file)
  const n = dim / 3
  if (topology.atoms.length === n) return topology
  const idx = card?.atoms?.indices
  if (idx && idx.length === n && idx.every((i) => i < topology.atoms.length)) return { ...topology, atoms: idx.map((i) => topology.atoms[i]!) }
  throw new UserError(`--topology ${file}: has ${topology.atoms.length} atoms, the model has ${n}${idx ? ` (a selection of ${idx.length} of the source atoms)` : ''}`, 'bad-flag')
}

export async function openModelForCli(opts: CliModelOptions): Promise<CliModel> {
  const opened = await openModelFile(opts.model, { threads: opts.threads })
  const { model, card } = opened
  try {
    const d = model.dim
    const molecular = d % 3 === 0 && (card?.aligned === true || card?.atoms !== undefined)
    let topology: Topology | undefined
    if (opts.topology) topology = await readTopology(opts.topology, card, d)
    else if (card?.atoms?.records && card.atoms.records.length * 3 === d) topology = { atoms: card.atoms.records }

    const loadPool = async (file: string, flag: string): Promise<Float32Array> => {
      const sourceAtoms = card?.atoms?.indices
      const lf = await loadTrainingFrames(file, {
        indices: molecular && sourceAtoms ? sourceAtoms : undefined,
        align: opts.align && model.rigidBody,
        reference: model.rigidBody ? model.reference : undefined,
      }).catch(async (err: unknown) => {
        // a file with exactly the model's atoms (already a selection): take it as is
        if (err instanceof UserError && sourceAtoms && /selection uses atom/.test(err.message)) {
          return loadTrainingFrames(file, { align: opts.align && model.rigidBody, reference: model.rigidBody ? model.reference : undefined })
        }
        throw err
      })
      if (lf.dim !== d) throw new UserError(`${flag} ${file}: frames have ${lf.dim} coordinates, the model d = ${d}`, 'bad-input')
      if (!topology && lf.topology && lf.topology.atoms.length * 3 === d) topology = lf.topology
      return lf.frames.subarray(0, lf.nFrames * d)
    }

    const trainingPool = async (): Promise<Float32Array | undefined> => {
      for (const src of card?.data.sources ?? []) {
        const file = path.isAbsolute(src) ? src : path.resolve(path.dirname(opts.model), src)
        try {
          await fs.access(file)
        } catch {
          continue
        }
        return loadPool(file, 'the training data')
      }
      return undefined
    }
    let initPool: Float32Array | undefined
    let training: Float32Array | undefined
    if (opts.init) initPool = await loadPool(opts.init, '--init')
    else {
      initPool = training = await trainingPool()
      if (!initPool) {
        const one = card?.reference ?? card?.mean
        if (!one) throw new UserError(`${opts.model}: no --init frames given and the model card names no training data or structure; pass --init FILE`, 'bad-flag')
        initPool = Float32Array.from(one)
      }
    }
    let mhPreconditioner: MhPreconditioner | undefined
    if (opts.mhCovariance) {
      training ??= await trainingPool()
      const n = training ? training.length / d : 0
      if (!training || n < 2) throw new UserError(`--mh-kernel covariance: ${opts.model}'s training data (${(card?.data.sources ?? []).join(', ') || 'the card names none'}) was not found; it needs those frames for their covariance (or use --mh-kernel em)`, 'bad-flag')
      mhPreconditioner = covariancePreconditioner(training, n, d)
    }
    return {
      model,
      initPool,
      ...(mhPreconditioner ? { mhPreconditioner } : {}),
      topology,
      card: cardSummary(card),
      trustRegion: card ? trustRegionOf(card) : undefined,
      dispose: () => model.dispose(),
    }
  } catch (err) {
    await model.dispose()
    throw err
  }
}
