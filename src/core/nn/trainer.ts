/**
 * The training loop (docs/science.md "Training"), runtime injected: builds the train-step and evaluation
 * graphs, draws batches on the fly (fresh noise every step), runs Adam through onnxruntime,
 * validates per σ band, schedules the learning rate (linear warm-up, cosine decay), stops early,
 * reports progress, honours cancellation and checkpoints so that a resumed run equals an
 * uninterrupted one bit for bit (all randomness is counter-based on (seed, step)).
 *
 * Units: the data are aligned coordinates in Å; the graphs see u = (x − mean)/σ_data and
 * σₙ = σ/σ_data (so σ_d = 1 in the EDM formulas).
 *
 * σ distribution (normalised): with probability 1 − uniformFraction, ln σₙ ~ N(P_mean, P_std²)
 * (EDM: −1.2, 1.2), else log-uniform on [σ_min, σ_max] = [0.002, 80]; both clamped to that range.
 * The log-uniform quarter puts ≈ 4 % of all samples below σₙ = 0.01 and ≈ 10 % below 0.05, where
 * the EDM log-normal alone has 0.2 % and 7 %: the adapter sampler's σ_min (≈ 0.05 σ_data, and
 * down to 0.003 Å ≈ 0.006 σ_data in docs/science.md "The adapter step") is inside the trained range and trained on.
 */
import { fillNormals } from '../rng/normals'
import { buildEvalGraph, buildTrainStepGraph, adamScalars, DEFAULT_ADAM, pName, mName, vName, next, usesConsistency, type AdamConfig } from './train-graph'
import { checkConsistency, DEFAULT_CONSISTENCY, emaUpdate, type ConsistencyConfig } from './consistency'
import { checkArch, initParams, paramDefs, DEFAULT_ARCH, type ArchConfig, type ArchName, type HeadScale } from './arch'
import { fillUniforms, permutation } from './random'
import { cpuSessionOptions, type OrtRuntime, type OrtSession, type OrtTensor } from './runtime'
import type { SigmaDistribution } from './card'
import type { NormStats } from './export'

export const DEFAULT_SIGMA: SigmaDistribution = { pMean: -1.2, pStd: 1.2, uniformFraction: 0.25, min: 0.002, max: 80 }
/**
 * The default recipe (docs/training.md, chosen from the measurements recorded there): the output
 * head, the EMA decay, and the consistency weight applied when the architecture is energy-mlp.
 */
/**
 * Optimiser steps of the default recipe: 40 000 × 512. On ala2 the validation loss still fell
 * between 20 000 and 40 000 steps for both seeds tried (0.4246 → 0.4172, 0.4350 → 0.4283) and the
 * dynamics' fidelity misses went 12 → 8 and 6 → 7 (docs/training.md "The shipped alanine-dipeptide model").
 */
export const DEFAULT_STEPS = 40000

export const DEFAULT_RECIPE = {
  arch: 'energy-mlp' as ArchName,
  head: 'edm' as HeadScale,
  ema: 0.999,
  antithetic: true,
  consistency: { weight: 0.1 },
}

/** interior band edges (σ/σ_data) of the validation report */
export const BAND_EDGES = [0.01, 0.03, 0.1, 0.3, 1, 3, 10]

// random streams (of the training seed)
const S_SPLIT = 0x7e000001
const S_INDEX = 0x7e000002
const S_SIGMA_U = 0x7e000003
const S_SIGMA_N = 0x7e000004
const S_NOISE = 0x7e000005
const S_VAL_U = 0x7e000011
const S_VAL_N = 0x7e000012
const S_VAL_NOISE = 0x7e000013
const S_CONS_INDEX = 0x7e000021
const S_CONS_SIGMA = 0x7e000022
const S_CONS_NOISE = 0x7e000023
const S_CONS_PROBE = 0x7e000024
const S_CONS_PROBE2 = 0x7e000025
const S_CONS_SPREAD = 0x7e000026

export interface TrainOptions {
  arch: ArchName
  width?: number
  depth?: number
  embDim?: number
  /** output scaling with σ (arch.ts HeadScale; default 'edm') */
  head?: HeadScale
  steps: number
  batch?: number
  lr?: number
  /** linear warm-up steps (default min(1000, 5 % of steps)) */
  warmupSteps?: number
  /** cosine decay ends at lr·minLrFactor (default 0.02) */
  minLrFactor?: number
  /** fraction of frames held out for validation (default 0.1) */
  valFraction?: number
  seed: number
  sigma?: Partial<SigmaDistribution>
  /** validate every this many steps (default max(50, steps/40)) */
  evalEvery?: number
  /** stop after this many validations without improvement (default 10; 0 = never) */
  patience?: number
  /** validation samples with σ from the training distribution (default 2048) */
  valSamples?: number
  /** validation samples per σ band (default 256) */
  bandSamples?: number
  adam?: Partial<AdamConfig>
  /** onnxruntime intra-op threads (default 1; results are deterministic for a fixed count) */
  threads?: number
  /** progress events every this many steps (default steps/200) */
  progressEvery?: number
  /** heat-equation consistency term of energy models (docs/training.md); weight 0 = off (default) */
  consistency?: Partial<ConsistencyConfig>
  /** decay of the exponential moving average of the weights that is validated and exported (0 = off, the default) */
  ema?: number
  /** antithetic noise pairs: sample 2i+1 is sample 2i with the noise negated (default false) */
  antithetic?: boolean
}

export interface ResolvedTrainOptions {
  arch: ArchName
  width: number
  depth: number
  embDim: number
  head: HeadScale
  steps: number
  batch: number
  lr: number
  warmupSteps: number
  minLrFactor: number
  valFraction: number
  seed: number
  sigma: SigmaDistribution
  evalEvery: number
  patience: number
  valSamples: number
  bandSamples: number
  adam: AdamConfig
  threads: number
  progressEvery: number
  consistency: ConsistencyConfig
  ema: number
  antithetic: boolean
}

export interface TrainData {
  /** aligned coordinates (Å), [nFrames, dim] */
  frames: Float32Array
  nFrames: number
  dim: number
}

export interface EvalRecord {
  step: number
  /** mean training loss since the previous evaluation */
  trainLoss: number
  valLoss: number | null
  /** loss per σ band (same order as bands of the result) */
  bands: number[]
  lr: number
  /** mean (unweighted) consistency penalty since the previous evaluation (runs with the term) */
  trainConsistency?: number
}

export interface TrainProgress {
  phase: 'train' | 'eval' | 'done'
  step: number
  steps: number
  /** mean training loss since the last progress event */
  loss: number
  valLoss: number | null
  bestValLoss: number | null
  lr: number
  samplesPerSec: number
  etaSec: number
  elapsedSec: number
  /** latest per-band validation losses, with the band edges (Å) */
  bands?: { lo: number; hi: number; loss: number }[]
}

export interface TrainCheckpoint {
  version: 1
  options: ResolvedTrainOptions
  dataHash: string
  /** steps completed */
  step: number
  params: Float32Array[]
  m: Float32Array[]
  v: Float32Array[]
  /** the EMA of the weights (runs with ema > 0) */
  ema?: Float32Array[]
  best: { step: number; valLoss: number; params: Float32Array[] } | null
  evalsSinceBest: number
  history: EvalRecord[]
  lossSum: number
  lossCount: number
  consSum?: number
  wallSeconds: number
  samplesDone: number
}

export interface TrustRegionData {
  mean: Float32Array
  scale: Float32Array
  radius: number
}

export interface TrainResult {
  arch: ArchConfig
  options: ResolvedTrainOptions
  /** the kept parameters (best validation, else the last) */
  params: Float32Array[]
  stats: NormStats
  trustRegion: TrustRegionData
  history: EvalRecord[]
  /** σ band edges (Å) of the per-band validation losses */
  bandEdges: number[]
  final: {
    stepsRun: number
    bestStep: number
    trainLoss: number
    valLoss: number | null
    bands: { lo: number; hi: number; loss: number; samples: number }[]
    stoppedEarly: boolean
    cancelled: boolean
    wallSeconds: number
    samplesPerSecond: number
  }
  nTrain: number
  nVal: number
  checkpoint: TrainCheckpoint
}

export interface TrainHooks {
  onProgress?(p: TrainProgress): void
  /** polled before every step; true ends training (result.final.cancelled) */
  shouldStop?(): boolean
  /** after every validation (and at the end) with the state to resume from */
  onCheckpoint?(ck: TrainCheckpoint): void | Promise<void>
  /** one-line log messages (validation table rows) */
  onLog?(line: string): void
}

export function resolveTrainOptions(o: TrainOptions): ResolvedTrainOptions {
  const steps = o.steps
  if (!(Number.isInteger(steps) && steps >= 1)) throw new RangeError(`train: steps must be a positive integer (got ${steps})`)
  const sigma = { ...DEFAULT_SIGMA, ...(o.sigma ?? {}) }
  if (!(sigma.min > 0 && sigma.max > sigma.min)) throw new RangeError(`train: σ range must satisfy 0 < min < max (got ${sigma.min}, ${sigma.max})`)
  if (!(sigma.uniformFraction >= 0 && sigma.uniformFraction <= 1)) throw new RangeError('train: sigma.uniformFraction must be in [0, 1]')
  const r: ResolvedTrainOptions = {
    arch: o.arch,
    width: o.width ?? DEFAULT_ARCH.width,
    depth: o.depth ?? DEFAULT_ARCH.depth,
    embDim: o.embDim ?? DEFAULT_ARCH.embDim,
    head: o.head ?? 'edm',
    steps,
    batch: o.batch ?? 512,
    lr: o.lr ?? 1e-3,
    warmupSteps: o.warmupSteps ?? Math.min(1000, Math.round(0.05 * steps)),
    minLrFactor: o.minLrFactor ?? 0.02,
    valFraction: o.valFraction ?? 0.1,
    seed: o.seed,
    sigma,
    evalEvery: o.evalEvery ?? Math.max(50, Math.round(steps / 40)),
    patience: o.patience ?? 10,
    valSamples: o.valSamples ?? 2048,
    bandSamples: o.bandSamples ?? 256,
    adam: { ...DEFAULT_ADAM, ...(o.adam ?? {}) },
    threads: o.threads ?? 1,
    progressEvery: o.progressEvery ?? Math.max(1, Math.round(steps / 200)),
    consistency: { ...DEFAULT_CONSISTENCY, ...(o.consistency ?? {}) },
    ema: o.ema ?? 0,
    antithetic: o.antithetic ?? false,
  }
  checkConsistency(r.consistency)
  if (!(r.ema >= 0 && r.ema < 1)) throw new RangeError(`train: ema decay must be in [0, 1) (got ${r.ema})`)
  if (!(Number.isInteger(r.batch) && r.batch >= 1)) throw new RangeError(`train: batch must be a positive integer (got ${r.batch})`)
  if (!(r.lr > 0)) throw new RangeError(`train: lr must be positive (got ${r.lr})`)
  if (!(r.valFraction >= 0 && r.valFraction < 1)) throw new RangeError(`train: valFraction must be in [0, 1) (got ${r.valFraction})`)
  if (!Number.isSafeInteger(r.seed) || r.seed < 0) throw new RangeError(`train: seed must be a whole number ≥ 0 (got ${r.seed})`)
  return r
}

/** learning rate before step t (0-based): linear warm-up to lr, then cosine to lr·minLrFactor */
export function learningRate(o: ResolvedTrainOptions, t: number): number {
  if (o.warmupSteps > 0 && t < o.warmupSteps) return (o.lr * (t + 1)) / o.warmupSteps
  const span = Math.max(1, o.steps - o.warmupSteps)
  const f = Math.min(1, (t - o.warmupSteps) / span)
  return o.lr * (o.minLrFactor + (1 - o.minLrFactor) * 0.5 * (1 + Math.cos(Math.PI * f)))
}

/** FNV-1a over the float32 bytes and shape: guards a resume against different data */
export function dataHash(data: TrainData): string {
  const bytes = new Uint8Array(data.frames.buffer, data.frames.byteOffset, data.nFrames * data.dim * 4)
  let h1 = 0x811c9dc5
  let h2 = 0x01000193 ^ data.dim
  for (let i = 0; i < bytes.length; i++) {
    h1 = Math.imul(h1 ^ bytes[i]!, 0x01000193)
    h2 = Math.imul(h2 ^ bytes[i]!, 0x5bd1e995)
  }
  return `${data.nFrames}x${data.dim}-${(h1 >>> 0).toString(16)}${(h2 >>> 0).toString(16)}`
}

/** mean structure, σ_data (RMS about the mean over all frames and coordinates) and the trust region */
export function dataStatistics(data: TrainData): { stats: NormStats; trustRegion: TrustRegionData } {
  const { frames, nFrames: F, dim: d } = data
  const mean = new Float64Array(d)
  for (let f = 0; f < F; f++) for (let k = 0; k < d; k++) mean[k]! += frames[f * d + k]!
  for (let k = 0; k < d; k++) mean[k]! /= F
  const sq = new Float64Array(d)
  for (let f = 0; f < F; f++) {
    for (let k = 0; k < d; k++) {
      const v = frames[f * d + k]! - mean[k]!
      sq[k]! += v * v
    }
  }
  let total = 0
  for (let k = 0; k < d; k++) total += sq[k]!
  const sigmaData = Math.sqrt(total / (F * d))
  if (!(sigmaData > 0)) throw new RangeError('train: the training frames are all identical (σ_data = 0)')
  // trust region: per-coordinate standard deviation, floored at 0.05 σ_data so that a coordinate
  // the data barely move (or the sampler's σ_min noise) cannot dominate the whitened distance
  const scale = new Float32Array(d)
  for (let k = 0; k < d; k++) scale[k] = Math.max(Math.sqrt(sq[k]! / F), 0.05 * sigmaData)
  let rmax = 0
  for (let f = 0; f < F; f++) {
    let s = 0
    for (let k = 0; k < d; k++) {
      const z = (frames[f * d + k]! - mean[k]!) / scale[k]!
      s += z * z
    }
    rmax = Math.max(rmax, Math.sqrt(s))
  }
  const mean32 = Float32Array.from(mean)
  return { stats: { mean: mean32, sigmaData }, trustRegion: { mean: Float32Array.from(mean), scale, radius: 1.1 * rmax } }
}

/** validation/training split: a seeded permutation; the first round(valFraction·n) frames validate */
export function splitFrames(n: number, valFraction: number, seed: number): { train: Int32Array; val: Int32Array } {
  const p = permutation(n, seed, S_SPLIT)
  let nVal = Math.round(valFraction * n)
  if (valFraction > 0 && nVal === 0 && n >= 10) nVal = 1
  if (nVal >= n) nVal = n - 1
  return { val: p.slice(0, nVal), train: p.slice(nVal) }
}

/** draws σₙ for samples [start, start+count) of the (uniform, normal) streams into out */
function drawSigmas(out: Float32Array, s: SigmaDistribution, seed: number, su: number, sn: number, start: number, count: number, scratchU: Float64Array, scratchN: Float32Array): void {
  fillUniforms(scratchU, seed, su, 2 * start, 2 * count)
  fillNormals(scratchN, seed, sn, start, 0, count)
  const lmin = Math.log(s.min)
  const lmax = Math.log(s.max)
  for (let i = 0; i < count; i++) {
    let l: number
    if (scratchU[2 * i]! < s.uniformFraction) l = lmin + scratchU[2 * i + 1]! * (lmax - lmin)
    else l = s.pMean + s.pStd * scratchN[i]!
    out[i] = Math.exp(Math.min(lmax, Math.max(lmin, l)))
  }
}

/** n draws of σₙ from the training distribution (samples 0…n−1 of the training σ streams) */
export function sampleSigmas(dist: SigmaDistribution, seed: number, n: number): Float32Array {
  const out = new Float32Array(n)
  drawSigmas(out, dist, seed, S_SIGMA_U, S_SIGMA_N, 0, n, new Float64Array(2 * n), new Float32Array(n))
  return out
}

interface ValSet {
  u0: Float32Array
  noise: Float32Array
  sn: Float32Array
  /** band of each sample: −1 for the main (training-distribution) part */
  band: Int32Array
  n: number
  edges: number[]
}

function buildValSet(o: ResolvedTrainOptions, norm: Float32Array, d: number, valIdx: Int32Array): ValSet | null {
  if (valIdx.length === 0) return null
  const edges = [o.sigma.min, ...BAND_EDGES.filter((e) => e > o.sigma.min && e < o.sigma.max), o.sigma.max]
  const nb = edges.length - 1
  const n = o.valSamples + nb * o.bandSamples
  const u0 = new Float32Array(n * d)
  const noise = new Float32Array(n * d)
  const sn = new Float32Array(n)
  const band = new Int32Array(n)
  const u = new Float64Array(2 * n)
  const z = new Float32Array(n)
  drawSigmas(sn, o.sigma, o.seed, S_VAL_U, S_VAL_N, 0, o.valSamples, u, z)
  fillUniforms(u, o.seed, S_VAL_U + 0x100, 0, n)
  for (let i = 0; i < n; i++) {
    const f = valIdx[i % valIdx.length]!
    u0.set(norm.subarray(f * d, (f + 1) * d), i * d)
    if (i < o.valSamples) band[i] = -1
    else {
      const b = Math.floor((i - o.valSamples) / o.bandSamples)
      band[i] = b
      const lo = Math.log(edges[b]!)
      const hi = Math.log(edges[b + 1]!)
      sn[i] = Math.exp(lo + u[i]! * (hi - lo))
    }
  }
  fillNormals(noise, o.seed, S_VAL_NOISE, 0)
  return { u0, noise, sn, band, n, edges }
}

function f32(ort: OrtRuntime, data: Float32Array, dims: readonly number[]): OrtTensor {
  return new ort.Tensor('float32', data, dims)
}

async function evaluate(ort: OrtRuntime, session: OrtSession, cfg: ArchConfig, params: Float32Array[], vs: ValSet): Promise<{ main: number; bands: number[] }> {
  const d = cfg.dim
  const defs = paramDefs(cfg)
  const feedsP: Record<string, OrtTensor> = {}
  defs.forEach((p, i) => (feedsP[pName(p.name)] = f32(ort, params[i]!, p.shape)))
  const chunk = 1024
  let mainSum = 0
  let mainN = 0
  const nb = vs.edges.length - 1
  const bandSum = new Float64Array(nb)
  const bandN = new Float64Array(nb)
  for (let s = 0; s < vs.n; s += chunk) {
    const c = Math.min(chunk, vs.n - s)
    const out = await session.run({
      ...feedsP,
      u0: f32(ort, vs.u0.subarray(s * d, (s + c) * d), [c, d]),
      noise: f32(ort, vs.noise.subarray(s * d, (s + c) * d), [c, d]),
      sn: f32(ort, vs.sn.subarray(s, s + c), [c]),
    })
    const l = out.loss!.data as Float32Array
    for (let i = 0; i < c; i++) {
      const b = vs.band[s + i]!
      if (b < 0) {
        mainSum += l[i]!
        mainN++
      } else {
        bandSum[b]! += l[i]!
        bandN[b]!++
      }
    }
  }
  return { main: mainSum / Math.max(1, mainN), bands: Array.from(bandSum, (v, i) => v / Math.max(1, bandN[i]!)) }
}

const now = (): number => (typeof performance !== 'undefined' ? performance.now() : Date.now())

/**
 * Trains a model on `data`. With `resume`, continues a checkpoint of the same options and data
 * (the continuation is identical to a run that was never interrupted).
 */
/** the options a run uses: resolved fresh, or the checkpoint's (a resume may only extend --steps) */
function runOptions(options: TrainOptions, data: TrainData, resume?: TrainCheckpoint): { o: ResolvedTrainOptions; cfg: ArchConfig; hash: string } {
  const o: ResolvedTrainOptions = resume
    ? {
        ...resume.options,
        sigma: { ...resume.options.sigma },
        adam: { ...resume.options.adam },
        consistency: { ...DEFAULT_CONSISTENCY, ...(resume.options.consistency ?? {}) },
        ema: resume.options.ema ?? 0,
        antithetic: resume.options.antithetic ?? false,
      }
    : resolveTrainOptions(options)
  const d = data.dim
  const cfg: ArchConfig = { arch: o.arch, dim: d, width: o.width, depth: o.depth, embDim: o.embDim, ...(o.head && o.head !== 'edm' ? { head: o.head } : {}) }
  checkArch(cfg)
  if (data.frames.length < data.nFrames * d) throw new RangeError(`train: ${data.frames.length} values for ${data.nFrames} frames of ${d}`)
  if (data.nFrames < 2) throw new RangeError('train: need at least 2 frames')
  const hash = dataHash(data)
  if (resume) {
    if (resume.version !== 1) throw new RangeError(`train: checkpoint version ${resume.version} is not supported`)
    if (resume.dataHash !== hash) throw new RangeError('train: the checkpoint was made with different training data')
    if (options.steps !== undefined && options.steps > o.steps) o.steps = options.steps
  }
  return { o, cfg, hash }
}

/** the data in normalised units, the train/validation split and the validation set */
function prepareData(data: TrainData, o: ResolvedTrainOptions) {
  const d = data.dim
  const { stats, trustRegion } = dataStatistics(data)
  const norm = new Float32Array(data.nFrames * d)
  const inv = 1 / stats.sigmaData
  for (let f = 0; f < data.nFrames; f++) for (let k = 0; k < d; k++) norm[f * d + k] = (data.frames[f * d + k]! - stats.mean[k]!) * inv
  const split = splitFrames(data.nFrames, o.valFraction, o.seed)
  const vs = buildValSet(o, norm, d, split.val)
  const edgesA = vs ? vs.edges.map((e) => e * stats.sigmaData) : []
  return { stats, trustRegion, norm, split, vs, edgesA }
}

/** parameters, Adam moments, EMA and the running tallies: fresh, or continued from a checkpoint */
interface TrainState {
  step: number
  params: Float32Array[]
  ms: Float32Array[]
  vsq: Float32Array[]
  ema: Float32Array[] | null
  best: TrainCheckpoint['best']
  evalsSinceBest: number
  history: EvalRecord[]
  lossSum: number
  lossCount: number
  consSum: number
  samplesDone: number
  wallBefore: number
}

function initialState(cfg: ArchConfig, o: ResolvedTrainOptions, resume?: TrainCheckpoint): TrainState {
  const copy = (a: Float32Array[]) => a.map((x) => Float32Array.from(x))
  if (resume) {
    return {
      step: resume.step,
      params: copy(resume.params),
      ms: copy(resume.m),
      vsq: copy(resume.v),
      ema: o.ema > 0 ? copy(resume.ema ?? resume.params) : null,
      best: resume.best ? { ...resume.best, params: copy(resume.best.params) } : null,
      evalsSinceBest: resume.evalsSinceBest,
      history: [...resume.history],
      lossSum: resume.lossSum,
      lossCount: resume.lossCount,
      consSum: resume.consSum ?? 0,
      samplesDone: resume.samplesDone,
      wallBefore: resume.wallSeconds,
    }
  }
  const params = initParams(cfg, o.seed)
  return {
    step: 0,
    params,
    ms: params.map((p) => new Float32Array(p.length)),
    vsq: params.map((p) => new Float32Array(p.length)),
    ema: o.ema > 0 ? copy(params) : null,
    best: null,
    evalsSinceBest: 0,
    history: [],
    lossSum: 0,
    lossCount: 0,
    consSum: 0,
    samplesDone: 0,
    wallBefore: 0,
  }
}

/**
 * The feeds of train step `step`, a pure function of (seed, step): the EDM batch (antithetic pairs
 * when asked) and, for the consistency term, G groups of K noisy frames sharing one log-uniform σ
 * with their Rademacher probes. Buffers are allocated once.
 */
class BatchBuilder {
  private readonly u0: Float32Array
  private readonly noise: Float32Array
  private readonly sn: Float32Array
  private readonly idxU: Float64Array
  private readonly sigU: Float64Array
  private readonly sigN: Float32Array
  private readonly Bc: number
  private readonly uc: Float32Array
  private readonly snc: Float32Array
  private readonly vc: Float32Array
  private readonly vc2: Float32Array
  private readonly wc: Float32Array
  private readonly cSpreadU: Float64Array
  private readonly cIdxU: Float64Array
  private readonly cSigU: Float64Array
  private readonly cProbeU: Float64Array

  constructor(
    private readonly ort: OrtRuntime,
    private readonly o: ResolvedTrainOptions,
    private readonly d: number,
    private readonly norm: Float32Array,
    private readonly train: Int32Array,
    private readonly withCons: boolean
  ) {
    const B = o.batch
    this.u0 = new Float32Array(B * d)
    this.noise = new Float32Array(B * d)
    this.sn = new Float32Array(B)
    this.idxU = new Float64Array(B)
    this.sigU = new Float64Array(2 * B)
    this.sigN = new Float32Array(B)
    const cc = o.consistency
    this.Bc = withCons ? cc.groups * cc.groupSize : 0
    this.uc = new Float32Array(this.Bc * d)
    this.snc = new Float32Array(this.Bc)
    this.vc = new Float32Array(this.Bc * d)
    this.vc2 = new Float32Array(withCons && cc.probes === 2 ? this.Bc * d : 0)
    const spreading = withCons && (cc.spread ?? 1) > 1
    this.wc = new Float32Array(spreading ? cc.groups : 0)
    this.cSpreadU = new Float64Array(spreading ? cc.groups : 0)
    this.cIdxU = new Float64Array(this.Bc)
    this.cSigU = new Float64Array(cc.groups)
    this.cProbeU = new Float64Array(this.Bc * d)
  }

  private frame(u: number): number {
    const n = this.train.length
    return this.train[Math.min(n - 1, Math.floor(u * n))]!
  }

  feeds(step: number): Record<string, OrtTensor> {
    const { o, d, ort, u0, noise, sn } = this
    const B = o.batch
    fillUniforms(this.idxU, o.seed, S_INDEX, step * B)
    for (let i = 0; i < B; i++) {
      const f = this.frame(this.idxU[i]!)
      u0.set(this.norm.subarray(f * d, (f + 1) * d), i * d)
    }
    drawSigmas(sn, o.sigma, o.seed, S_SIGMA_U, S_SIGMA_N, step * B, B, this.sigU, this.sigN)
    fillNormals(noise, o.seed, S_NOISE, step * B * d)
    if (o.antithetic) {
      // pairs (x₀ + σn, x₀ − σn): the noise term of the loss gradient cancels to first order in σ
      for (let i = 1; i < B; i += 2) {
        u0.copyWithin(i * d, (i - 1) * d, i * d)
        sn[i] = sn[i - 1]!
        for (let k = 0; k < d; k++) noise[i * d + k] = -noise[(i - 1) * d + k]!
      }
    }
    const sc = adamScalars(o.adam, learningRate(o, step), step + 1)
    const feeds: Record<string, OrtTensor> = {
      u0: f32(ort, u0, [B, d]),
      noise: f32(ort, noise, [B, d]),
      sn: f32(ort, sn, [B]),
      lr: f32(ort, Float32Array.of(sc.lr), []),
      eps: f32(ort, Float32Array.of(sc.eps), []),
    }
    if (this.withCons) this.consistencyFeeds(step, feeds)
    return feeds
  }

  private consistencyFeeds(step: number, feeds: Record<string, OrtTensor>): void {
    const { o, d, ort, Bc, uc, snc, vc } = this
    const cc = o.consistency
    fillUniforms(this.cIdxU, o.seed, S_CONS_INDEX, step * Bc)
    fillUniforms(this.cSigU, o.seed, S_CONS_SIGMA, step * cc.groups)
    fillNormals(vc, o.seed, S_CONS_NOISE, step * Bc * d)
    fillUniforms(this.cProbeU, o.seed, S_CONS_PROBE, step * Bc * d)
    const la = Math.log(cc.sigmaMin)
    const lb = Math.log(cc.sigmaMax)
    const spreading = this.wc.length > 0
    // off-data points: group g noised at σ' = σ·spread^U, its residual taken at σ, weighted (σ/σ')⁴
    if (spreading) {
      fillUniforms(this.cSpreadU, o.seed, S_CONS_SPREAD, step * cc.groups)
      for (let gi = 0; gi < cc.groups; gi++) this.wc[gi] = Math.pow(cc.spread!, -4 * this.cSpreadU[gi]!)
    }
    for (let i = 0; i < Bc; i++) {
      const gi = Math.floor(i / cc.groupSize)
      const s = Math.exp(la + this.cSigU[gi]! * (lb - la))
      snc[i] = s
      const sn = spreading ? s * Math.pow(cc.spread!, this.cSpreadU[gi]!) : s
      const f = this.frame(this.cIdxU[i]!)
      for (let k = 0; k < d; k++) uc[i * d + k] = this.norm[f * d + k]! + sn * vc[i * d + k]!
    }
    rademacher(this.cProbeU, vc)
    feeds.uc = f32(ort, uc, [Bc, d])
    feeds.snc = f32(ort, snc, [Bc])
    feeds.vc = f32(ort, vc, [Bc, d])
    if (spreading) feeds.wc = f32(ort, this.wc, [cc.groups])
    if (this.vc2.length > 0) {
      // the second probe from its own stream: the one-probe feeds stay what they were
      fillUniforms(this.cProbeU, o.seed, S_CONS_PROBE2, step * Bc * d)
      rademacher(this.cProbeU, this.vc2)
      feeds.vc2 = f32(ort, this.vc2, [Bc, d])
    }
  }
}

/** out[k] = ±1 from uniforms u[k] (< ½: −1): a Rademacher probe */
function rademacher(u: Float64Array, out: Float32Array): void {
  for (let k = 0; k < out.length; k++) out[k] = u[k]! < 0.5 ? -1 : 1
}

/** one Adam step through the train-step graph; updates the state's parameters, moments and tallies */
async function trainStep(ort: OrtRuntime, session: OrtSession, defs: ReturnType<typeof paramDefs>, st: TrainState, feeds: Record<string, OrtTensor>, o: ResolvedTrainOptions, withCons: boolean): Promise<number> {
  defs.forEach((p, i) => {
    feeds[pName(p.name)] = f32(ort, st.params[i]!, p.shape)
    feeds[mName(p.name)] = f32(ort, st.ms[i]!, p.shape)
    feeds[vName(p.name)] = f32(ort, st.vsq[i]!, p.shape)
  })
  const out = await session.run(feeds)
  const loss = (out.loss!.data as Float32Array)[0]!
  if (!Number.isFinite(loss)) {
    throw new RangeError(`train: the loss became ${loss} at step ${st.step + 1}; lower the learning rate (--lr) or check the data`)
  }
  st.params = defs.map((p) => out[next(pName(p.name))]!.data as Float32Array)
  st.ms = defs.map((p) => out[next(mName(p.name))]!.data as Float32Array)
  st.vsq = defs.map((p) => out[next(vName(p.name))]!.data as Float32Array)
  st.step++
  if (st.ema) emaUpdate(st.ema, st.params, o.ema, st.step)
  if (withCons) st.consSum += (out.cons!.data as Float32Array)[0]!
  st.samplesDone += o.batch
  st.lossSum += loss
  st.lossCount++
  return loss
}

/** an evaluation point: validation of the EMA (or raw) weights, best-so-far, the history record and its log line */
async function evaluationPoint(
  ort: OrtRuntime,
  session: OrtSession | undefined,
  vs: ValSet | null,
  cfg: ArchConfig,
  st: TrainState,
  o: ResolvedTrainOptions,
  withCons: boolean,
  hooks: TrainHooks
): Promise<{ main: number; bands: number[] } | null> {
  const trainLoss = st.lossSum / Math.max(1, st.lossCount)
  const trainConsistency = withCons ? st.consSum / Math.max(1, st.lossCount) : undefined
  st.consSum = 0
  st.lossSum = 0
  st.lossCount = 0
  let evaluated: { main: number; bands: number[] } | null = null
  if (vs && session) {
    const weights = st.ema ?? st.params
    evaluated = await evaluate(ort, session, cfg, weights, vs)
    if (!st.best || evaluated.main < st.best.valLoss) {
      st.best = { step: st.step, valLoss: evaluated.main, params: weights.map((a) => Float32Array.from(a)) }
      st.evalsSinceBest = 0
    } else st.evalsSinceBest++
  }
  const valLoss = evaluated ? evaluated.main : null
  const bands = evaluated ? evaluated.bands : []
  const lr = learningRate(o, st.step - 1)
  st.history.push({ step: st.step, trainLoss, valLoss, bands, lr, ...(trainConsistency !== undefined ? { trainConsistency } : {}) })
  hooks.onLog?.(
    `step ${st.step}/${o.steps}  lr ${lr.toExponential(2)}  train ${trainLoss.toFixed(4)}` +
      (trainConsistency !== undefined ? `  consistency ${trainConsistency.toFixed(4)}` : '') +
      (valLoss !== null ? `  val ${valLoss.toFixed(4)}  bands ${bands.map((b) => b.toFixed(3)).join(' ')}` : '')
  )
  return evaluated
}

export async function trainModel(ort: OrtRuntime, data: TrainData, options: TrainOptions, hooks: TrainHooks = {}, resume?: TrainCheckpoint): Promise<TrainResult> {
  const { o, cfg, hash } = runOptions(options, data, resume)
  const d = data.dim
  const { stats, trustRegion, norm, split, vs, edgesA } = prepareData(data, o)
  const sessOpts = cpuSessionOptions(o.threads)
  const withCons = usesConsistency(cfg, o.consistency)
  const stepSession = await ort.InferenceSession.create(buildTrainStepGraph(cfg, o.adam, 'float32', withCons ? o.consistency : undefined).toBytes(), sessOpts)
  const evalSession = vs ? await ort.InferenceSession.create(buildEvalGraph(cfg).toBytes(), sessOpts) : undefined
  const defs = paramDefs(cfg)
  const st = initialState(cfg, o, resume)
  const batch = new BatchBuilder(ort, o, d, norm, split.train, withCons)
  const t0 = now()
  const stepsAtStart = st.step
  let progLossSum = 0
  let progLossCount = 0
  let cancelled = false
  let stoppedEarly = false
  let lastTrainLoss = NaN
  let lastEval: { main: number; bands: number[] } | null = null

  const makeCheckpoint = (): TrainCheckpoint => ({
    version: 1,
    options: { ...o },
    dataHash: hash,
    step: st.step,
    params: st.params,
    m: st.ms,
    v: st.vsq,
    ...(st.ema ? { ema: st.ema } : {}),
    best: st.best,
    evalsSinceBest: st.evalsSinceBest,
    history: [...st.history],
    lossSum: st.lossSum,
    lossCount: st.lossCount,
    consSum: st.consSum,
    wallSeconds: st.wallBefore + (now() - t0) / 1000,
    samplesDone: st.samplesDone,
  })
  const progress = (phase: TrainProgress['phase']) => {
    const el = (now() - t0) / 1000
    const sps = el > 0 ? ((st.step - stepsAtStart) * o.batch) / el : 0
    hooks.onProgress?.({
      phase,
      step: st.step,
      steps: o.steps,
      loss: progLossCount ? progLossSum / progLossCount : lastTrainLoss,
      valLoss: lastEval ? lastEval.main : null,
      bestValLoss: st.best ? st.best.valLoss : null,
      lr: learningRate(o, Math.min(st.step, o.steps - 1)),
      samplesPerSec: sps,
      etaSec: sps > 0 ? ((o.steps - st.step) * o.batch) / sps : NaN,
      elapsedSec: st.wallBefore + el,
      bands: lastEval ? lastEval.bands.map((loss, i) => ({ lo: edgesA[i]!, hi: edgesA[i + 1]!, loss })) : undefined,
    })
    progLossSum = 0
    progLossCount = 0
  }

  try {
    while (st.step < o.steps) {
      if (hooks.shouldStop?.()) {
        cancelled = true
        break
      }
      const loss = await trainStep(ort, stepSession, defs, st, batch.feeds(st.step), o, withCons)
      progLossSum += loss
      progLossCount++
      lastTrainLoss = loss
      if (st.step % o.evalEvery === 0 || st.step === o.steps) {
        lastEval = (await evaluationPoint(ort, evalSession, vs, cfg, st, o, withCons, hooks)) ?? lastEval
        progress('eval')
        await hooks.onCheckpoint?.(makeCheckpoint())
        if (o.patience > 0 && st.evalsSinceBest >= o.patience && st.step < o.steps) {
          stoppedEarly = true
          break
        }
      } else if (st.step % o.progressEvery === 0) progress('train')
    }
    // a cancelled run checkpoints where it stopped, so a resume repeats nothing
    if (cancelled) await hooks.onCheckpoint?.(makeCheckpoint())
  } finally {
    await stepSession.release()
    if (evalSession) await evalSession.release()
  }
  const result = trainResult(st, o, cfg, { stats, trustRegion, edgesA, vs, split }, { stoppedEarly, cancelled, lastTrainLoss, wallSeconds: st.wallBefore + (now() - t0) / 1000 }, makeCheckpoint())
  progress('done')
  return result
}

/** the kept parameters (best validation, else EMA, else raw) and the run's summary */
function trainResult(
  st: TrainState,
  o: ResolvedTrainOptions,
  cfg: ArchConfig,
  dat: { stats: NormStats; trustRegion: TrustRegionData; edgesA: number[]; vs: ValSet | null; split: { train: Int32Array; val: Int32Array } },
  end: { stoppedEarly: boolean; cancelled: boolean; lastTrainLoss: number; wallSeconds: number },
  checkpoint: TrainCheckpoint
): TrainResult {
  const { best, history } = st
  const kept = best ? best.params : (st.ema ?? st.params)
  const keptRecord = best ? history.find((h) => h.step === best.step) : history[history.length - 1]
  const lastTrain = history.length ? history[history.length - 1]!.trainLoss : end.lastTrainLoss
  const { edgesA } = dat
  return {
    arch: cfg,
    options: o,
    params: kept,
    stats: dat.stats,
    trustRegion: dat.trustRegion,
    history,
    bandEdges: edgesA,
    final: {
      stepsRun: st.step,
      bestStep: best ? best.step : st.step,
      trainLoss: lastTrain,
      valLoss: best ? best.valLoss : null,
      bands: keptRecord && dat.vs ? keptRecord.bands.map((loss, i) => ({ lo: edgesA[i]!, hi: edgesA[i + 1]!, loss, samples: o.bandSamples })) : [],
      stoppedEarly: end.stoppedEarly,
      cancelled: end.cancelled,
      wallSeconds: end.wallSeconds,
      samplesPerSecond: end.wallSeconds > 0 ? st.samplesDone / end.wallSeconds : 0,
    },
    nTrain: dat.split.train.length,
    nVal: dat.split.val.length,
    checkpoint,
  }
}

