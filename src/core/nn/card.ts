/**
 * The model card: the JSON that travels with every model.onnx (docs/architecture.md "One model
 * format"). All lengths in Å. Written by training/export, read by the registry, the CLI and the
 * ONNX score model (dimension, σ range, reference for re-alignment, trust region).
 */
import type { AtomRecord } from '../topology'
import { paramCount, type ArchName, type HeadScale } from './arch'
import { OPSET } from './graph'
import type { TrainResult } from './trainer'

export const CARD_FORMAT = 'diffmd-model-card'
export const CARD_VERSION = 1

export interface SigmaBandLoss {
  /** band edges, Å */
  lo: number
  hi: number
  /** mean λ-weighted validation loss of the band (EDM loss per coordinate) */
  loss: number
  samples: number
}

export interface SigmaDistribution {
  /** σ in units of σ_data: with probability 1 − uniformFraction ln σₙ ~ N(pMean, pStd²), else log-uniform on [min, max] */
  pMean: number
  pStd: number
  uniformFraction: number
  min: number
  max: number
}

export interface ModelCard {
  format: typeof CARD_FORMAT
  version: typeof CARD_VERSION
  /** display name */
  name: string
  architecture:
    | { arch: ArchName; width: number; depth: number; embDim: number; parameters: number; head?: HeadScale }
    | { arch: 'imported'; producer?: string; output: 'score' | 'energy' }
  /** d */
  dim: number
  /** true when the model sees centred, Kabsch-aligned molecular coordinates (rigidBody models) */
  aligned: boolean
  atoms?: {
    /** 'all' | 'heavy' | 'backbone' | 'ca', or 'custom' */
    selection: string
    /** 0-based indices into the source models' atoms */
    indices: number[]
    /** atom records of the selection (for writing PDB frames without the source file) */
    records?: AtomRecord[]
  }
  /** σ_data (Å): RMS of the aligned training coordinates about the mean structure (unknown for imported models) */
  sigmaData?: number
  /** mean structure (Å, length d); the model sees (x − mean)/σ_data (unknown for imported models) */
  mean?: number[]
  /** alignment reference (Å, length d; centred), present when aligned */
  reference?: number[]
  /** [σ_lo, σ_hi] (Å) the model was trained on (absent: unknown, an imported model) */
  sigmaRange?: [number, number]
  /** temperature of the data (K), when known */
  temperature?: number
  data: {
    /** project dataset id, when trained from one */
    datasetId?: string
    /** source file(s) as given */
    sources?: string[]
    frames: number
    trainFrames: number
    valFrames: number
  }
  training?: {
    seed: number
    steps: number
    stepsRun: number
    batch: number
    lr: number
    warmupSteps: number
    sigmaDistribution: SigmaDistribution
    /** mean training loss over the last evaluation interval */
    trainLoss: number
    /** validation loss (σ from the training distribution) at the kept parameters */
    valLoss: number | null
    valBands: SigmaBandLoss[]
    bestStep: number
    stoppedEarly: boolean
    cancelled: boolean
    wallSeconds: number
    samplesPerSecond: number
    /** decay of the weight EMA that was validated and exported (absent or 0: raw weights) */
    ema?: number
    /** antithetic noise pairs in the EDM loss */
    antithetic?: boolean
    /** heat-equation consistency penalty of energy models (docs/training.md) */
    consistency?: {
      weight: number
      /** σ range (Å) of the penalty's groups */
      sigmaRange: [number, number]
      groups: number
      groupSize: number
      /** Hutchinson probes per sample (absent: 1) */
      probes?: 2
      /** off-data points: groups noised at up to this factor × their σ (absent: 1) */
      spread?: number
      /** mean unweighted penalty over the last evaluation interval */
      trainPenalty: number | null
    }
  }
  /** present when the model is an ensemble: its members, whose mean score/energy it outputs (docs/training.md "Ensembles") */
  ensemble?: { file: string; sha256: string; seed?: number; steps?: number; valLoss?: number | null }[]
  /** the latest self-check (docs/self-check.md): where this model's dynamics can be trusted */
  selfCheck?: SelfCheckSummary
  /** docs/science.md "Guard against escapes": inside ⇔ √(Σᵢ((xᵢ − meanᵢ)/scaleᵢ)²) ≤ radius */
  trustRegion?: { mean: number[]; scale: number[]; radius: number }
  onnx: { sha256: string; bytes: number; opset?: number; inputs: string[]; outputs: string[] }
  appVersion: string
  createdAt: string
}

/** what a model card keeps of a self-check run (the full report is written beside it on request) */
export interface SelfCheckSummary {
  createdAt: string
  /** sampler settings the check ran with */
  diffusion: number
  mode: string
  denoiseSteps: number
  sigmaMin: number
  replicas: number
  /** replicas per run when the check ended (its rounds may have added some) */
  replicasUsed?: number
  nsPerReplica: number
  /** Δt (ps) → summary; recommendedDtPs is the Sample panel's default Δt */
  /** equilibriumUnresolved: the equilibrium did not differ but its error bars could not have seen a change */
  /** timescaleError ± timescaleSe: the fitted error of the ln kinetic time scale at this Δt (negative = too fast) */
  perDt: { dtPs: number; equilibriumOk: boolean; equilibriumUnresolved?: boolean; kineticsOk: boolean; jsd: number; acceptance?: number; timescaleError?: number; timescaleSe?: number }[]
  recommendedDtPs?: number
  /** reverse steps per adapter step recommended by the integrator-resolution run (docs/self-check.md) */
  recommendedDenoiseSteps?: number
  /** that run: Δt, M, its largest JSD against the i.i.d. samples and the check's own run's, what it found */
  resolution?: { dtPs: number; denoiseSteps: number; jsd: number; baseJsd: number; drifts: boolean; finding: 'fixed' | 'partly' | 'model' }
  verdict: string
}

/** a one-line reason when `card` is not a usable model card, else undefined */
export function cardProblem(card: unknown): string | undefined {
  if (!card || typeof card !== 'object') return 'not a JSON object'
  const c = card as Partial<ModelCard>
  if (c.format !== CARD_FORMAT) return `"format" is ${JSON.stringify(c.format)}, expected "${CARD_FORMAT}"`
  if (!(typeof c.dim === 'number' && Number.isInteger(c.dim) && c.dim > 0)) return '"dim" must be a positive integer'
  if (c.sigmaData !== undefined && !(typeof c.sigmaData === 'number' && c.sigmaData > 0)) return '"sigmaData" must be a positive number'
  if (c.mean !== undefined && (!Array.isArray(c.mean) || c.mean.length !== c.dim)) return `"mean" must have ${c.dim} numbers`
  if (c.reference !== undefined && (!Array.isArray(c.reference) || c.reference.length !== c.dim)) return `"reference" must have ${c.dim} numbers`
  if (c.sigmaRange !== undefined && (!Array.isArray(c.sigmaRange) || c.sigmaRange.length !== 2 || !(c.sigmaRange[0] >= 0) || !(c.sigmaRange[1] > c.sigmaRange[0]))) return '"sigmaRange" must be [lo, hi] with 0 ≤ lo < hi'
  if (c.trustRegion) {
    const t = c.trustRegion
    if (!Array.isArray(t.mean) || t.mean.length !== c.dim || !Array.isArray(t.scale) || t.scale.length !== c.dim || !(t.radius > 0)) {
      return '"trustRegion" must have mean and scale of length dim and a positive radius'
    }
  }
  if (!c.onnx || typeof c.onnx.sha256 !== 'string') return '"onnx.sha256" missing'
  return undefined
}

/** float32 values as the shortest decimals that round-trip (9 significant digits) */
export function compactNumbers(a: ArrayLike<number>): number[] {
  return Array.from(a, (v) => Number(Math.fround(v).toPrecision(9)))
}

export interface CardMeta {
  name: string
  datasetId?: string
  sources?: string[]
  atoms?: ModelCard['atoms']
  temperature?: number
  /** alignment reference (Å) for aligned molecular data */
  reference?: Float32Array
  aligned: boolean
  appVersion: string
  createdAt: string
}

/** the card of a freshly trained model */
export function buildCard(
  result: Omit<TrainResult, 'checkpoint'>,
  meta: CardMeta,
  onnx: { sha256: string; bytes: number }
): ModelCard {
  const o = result.options
  const sd = result.stats.sigmaData
  const card: ModelCard = {
    format: CARD_FORMAT,
    version: CARD_VERSION,
    name: meta.name,
    architecture: {
      arch: result.arch.arch,
      width: result.arch.width,
      depth: result.arch.depth,
      embDim: result.arch.embDim,
      parameters: paramCount(result.arch),
      ...(result.arch.head ? { head: result.arch.head } : {}),
    },
    dim: result.arch.dim,
    aligned: meta.aligned,
    sigmaData: sd,
    mean: compactNumbers(result.stats.mean),
    sigmaRange: [o.sigma.min * sd, o.sigma.max * sd],
    data: {
      frames: result.nTrain + result.nVal,
      trainFrames: result.nTrain,
      valFrames: result.nVal,
    },
    training: {
      seed: o.seed,
      steps: o.steps,
      stepsRun: result.final.stepsRun,
      batch: o.batch,
      lr: o.lr,
      warmupSteps: o.warmupSteps,
      sigmaDistribution: { ...o.sigma },
      trainLoss: result.final.trainLoss,
      valLoss: result.final.valLoss,
      valBands: result.final.bands,
      bestStep: result.final.bestStep,
      stoppedEarly: result.final.stoppedEarly,
      cancelled: result.final.cancelled,
      wallSeconds: result.final.wallSeconds,
      samplesPerSecond: result.final.samplesPerSecond,
      ...(o.ema > 0 ? { ema: o.ema } : {}),
      ...(o.antithetic ? { antithetic: true } : {}),
      ...(result.arch.arch === 'energy-mlp' && o.consistency && o.consistency.weight > 0
        ? {
            consistency: {
              weight: o.consistency.weight,
              sigmaRange: [o.consistency.sigmaMin * sd, o.consistency.sigmaMax * sd] as [number, number],
              groups: o.consistency.groups,
              groupSize: o.consistency.groupSize,
              ...(o.consistency.probes === 2 ? { probes: 2 as const } : {}),
              ...((o.consistency.spread ?? 1) > 1 ? { spread: o.consistency.spread } : {}),
              trainPenalty: result.history.length ? (result.history[result.history.length - 1]!.trainConsistency ?? null) : null,
            },
          }
        : {}),
    },
    trustRegion: { mean: compactNumbers(result.trustRegion.mean), scale: compactNumbers(result.trustRegion.scale), radius: result.trustRegion.radius },
    onnx: { sha256: onnx.sha256, bytes: onnx.bytes, opset: OPSET, inputs: ['x', 'sigma'], outputs: result.arch.arch === 'energy-mlp' ? ['score', 'energy'] : ['score'] },
    appVersion: meta.appVersion,
    createdAt: meta.createdAt,
  }
  if (meta.datasetId) card.data.datasetId = meta.datasetId
  if (meta.sources) card.data.sources = meta.sources
  if (meta.atoms) card.atoms = meta.atoms
  if (meta.temperature !== undefined) card.temperature = meta.temperature
  if (meta.aligned && meta.reference) card.reference = compactNumbers(meta.reference)
  return card
}
