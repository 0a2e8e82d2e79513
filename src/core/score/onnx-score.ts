/**
 * A ScoreModel over an ONNX inference session (onnxruntime-node or -web, injected): the app's
 * own models and third-party ones (e.g. exported from PyTorch) that follow the contract
 *   inputs  x[B, d] float32 (Å), sigma[B] float32 (Å)
 *   output  score[B, d] float32 (Å⁻¹)   (energy[B] may be present too)
 * Our own models name sigma's size SIGMA_DIM and also take sigma[1], one σ for every row; the
 * wrapper passes that when a batch shares its σ (docs/speed.md "One σ for the whole batch").
 * checkModelContract() names the offending tensor with expected and actual shapes;
 * probeModel() refuses a model that gives non-finite values on a probe batch, or that names
 * sigma's size SIGMA_DIM but gives other outputs for sigma[1] than for sigma[B].
 */
import type { InferenceSession, Tensor, TensorConstructor } from 'onnxruntime-common'
import type { ScoreModel } from './types'
import { UserError } from '../errors'

export interface OrtLike {
  Tensor: TensorConstructor
}

export interface ModelContract {
  dim: number
  hasScore: boolean
  hasEnergy: boolean
  /** the model's sigma is [SIGMA_DIM]: it takes sigma[1] for a batch that shares one σ */
  sharedSigma: boolean
}

/**
 * The symbolic size of the app's exported models' sigma input: B (one σ per row) or 1 (one σ
 * broadcast to every row; the σ-embedding is then computed once per call instead of per row).
 * A model whose sigma carries another name (third-party exports) always gets sigma[B].
 */
export const SIGMA_DIM = 'B_or_1'

/** whether a model's sigma input of this shape takes sigma[1] (its size is named SIGMA_DIM) */
export function takesOneSigma(shape: readonly (number | string | null)[] | undefined): boolean {
  return shape !== undefined && shape.length === 1 && shape[0] === SIGMA_DIM
}

function fmtShape(shape: readonly (number | string)[] | undefined): string {
  if (!shape || shape.length === 0) return '[] (unknown)'
  return `[${shape.map((d) => (typeof d === 'number' && d < 0 ? '?' : String(d))).join(', ')}]`
}

function meta(list: readonly InferenceSession.ValueMetadata[], name: string): InferenceSession.ValueMetadata | undefined {
  return list.find((m) => m.name === name)
}

/** fixed (numeric, ≥ 0) dimension or undefined when symbolic/unknown */
function fixed(d: number | string | undefined): number | undefined {
  return typeof d === 'number' && d >= 0 ? d : undefined
}

/**
 * Checks the session's inputs and outputs against the contract; `file` names the model in errors;
 * `dim` is the expected d when known (from a card). Returns d and which outputs exist.
 */
export function checkModelContract(session: InferenceSession, file: string, dim?: number): ModelContract {
  const bad = (m: string): never => {
    throw new UserError(`${file}: ${m}`, 'bad-model')
  }
  const inNames = session.inputNames
  const outNames = session.outputNames
  for (const n of ['x', 'sigma']) if (!inNames.includes(n)) bad(`the model has no input '${n}' (inputs: ${inNames.join(', ') || 'none'}); expected inputs x[B, d] and sigma[B]`)
  const extra = inNames.filter((n) => n !== 'x' && n !== 'sigma')
  if (extra.length) bad(`the model has inputs besides x and sigma (${extra.join(', ')}); expected exactly x[B, d] and sigma[B]`)
  const hasScore = outNames.includes('score')
  const hasEnergy = outNames.includes('energy')
  if (!hasScore && !hasEnergy) bad(`the model has no output 'score' (outputs: ${outNames.join(', ') || 'none'}); expected score[B, d] (and optionally energy[B])`)
  if (!hasScore) bad(`the model outputs only 'energy'; add an output score[B, d] = −∇ₓ energy when exporting (e.g. torch.autograd.grad in the exported forward)`)
  const x = meta(session.inputMetadata, 'x')
  const s = meta(session.inputMetadata, 'sigma')
  const sc = meta(session.outputMetadata, 'score')
  const en = hasEnergy ? meta(session.outputMetadata, 'energy') : undefined
  const checkType = (m: InferenceSession.ValueMetadata | undefined, name: string, kind: string) => {
    if (m && !m.isTensor) bad(`${kind} '${name}' is not a tensor`)
    if (m && m.isTensor && m.type !== 'float32') bad(`${kind} '${name}' has element type ${m.type}, expected float32`)
  }
  checkType(x, 'x', 'input')
  checkType(s, 'sigma', 'input')
  checkType(sc, 'score', 'output')
  checkType(en, 'energy', 'output')
  let d = dim
  const shapeOf = (m: InferenceSession.ValueMetadata | undefined) => (m && m.isTensor ? m.shape : undefined)
  const xs = shapeOf(x)
  if (xs && xs.length > 0) {
    if (xs.length !== 2) bad(`input 'x' has shape ${fmtShape(xs)}, expected [B, ${d ?? 'd'}] (rank 2)`)
    const xd = fixed(xs[1])
    if (xd !== undefined) {
      if (d !== undefined && xd !== d) bad(`input 'x' has shape ${fmtShape(xs)}, expected [B, ${d}]`)
      d = xd
    }
    const b = fixed(xs[0])
    if (b !== undefined) bad(`input 'x' has a fixed batch size (shape ${fmtShape(xs)}); expected [B, ${d ?? 'd'}] with a dynamic B (export with dynamic_axes / dynamic_shapes)`)
  }
  const ss = shapeOf(s)
  if (ss && ss.length > 0) {
    if (ss.length !== 1) bad(`input 'sigma' has shape ${fmtShape(ss)}, expected [B] (one σ per row of x)`)
    if (fixed(ss[0]) !== undefined) bad(`input 'sigma' has a fixed size (shape ${fmtShape(ss)}); expected [B] with a dynamic B`)
  }
  const scs = shapeOf(sc)
  if (scs && scs.length > 0) {
    if (scs.length !== 2) bad(`output 'score' has shape ${fmtShape(scs)}, expected [B, ${d ?? 'd'}]`)
    const sd = fixed(scs[1])
    if (sd !== undefined && d !== undefined && sd !== d) bad(`output 'score' has shape ${fmtShape(scs)}, expected [B, ${d}] like input x`)
    if (sd !== undefined && d === undefined) d = sd
  }
  const ens = shapeOf(en)
  if (ens && ens.length > 0 && ens.length !== 1) bad(`output 'energy' has shape ${fmtShape(ens)}, expected [B]`)
  if (d === undefined) bad(`the dimension d of input 'x' is not fixed in the file and no model card gives it; export x with shape [B, d]`)
  return { dim: d!, hasScore, hasEnergy, sharedSigma: takesOneSigma(ss) }
}

export interface OnnxScoreOptions {
  /** display name (logs, metadata) */
  name: string
  /** [σ_lo, σ_hi] (Å) the model is trustworthy on (imported models without a card: [0, Infinity]) */
  sigmaRange?: readonly [number, number]
  /** aligned reference structure: makes the model a rigidBody model (d must be 3N) */
  reference?: Float32Array
  /** d expected from a card */
  dim?: number
  /** file name used in error messages */
  file?: string
  /** the runtime computes run() on the calling thread (onnxruntime-node); see ScoreModel.computesOnCaller */
  computesOnCaller?: boolean
  /** false: always pass sigma[B], even to a model that takes sigma[1] (benchmarks compare the two) */
  oneSigmaRow?: boolean
}

/** whether sigma[0 … n) all hold one value (a NaN never matches) */
function sameValue(sigma: Float32Array, n: number): boolean {
  const s0 = sigma[0]!
  for (let i = 1; i < n; i++) if (sigma[i] !== s0) return false
  return s0 === s0
}

/** ScoreModel over an inference session; score() is asynchronous */
export class OnnxScoreModel implements ScoreModel {
  readonly dim: number
  readonly sigmaRange: readonly [number, number]
  readonly smoothed = true
  readonly rigidBody: boolean
  readonly reference?: Float32Array
  readonly name: string
  readonly hasEnergy: boolean
  readonly file: string
  readonly computesOnCaller: boolean
  /** the model takes sigma[1] for a batch that shares one σ (ModelContract.sharedSigma) */
  readonly sharedSigma: boolean

  private constructor(
    readonly ort: OrtLike,
    readonly session: InferenceSession,
    contract: ModelContract,
    opts: OnnxScoreOptions
  ) {
    this.dim = contract.dim
    this.hasEnergy = contract.hasEnergy
    this.sharedSigma = contract.sharedSigma && opts.oneSigmaRow !== false
    this.name = opts.name
    this.file = opts.file ?? opts.name
    this.computesOnCaller = opts.computesOnCaller === true
    this.sigmaRange = opts.sigmaRange ?? [0, Infinity]
    if (opts.reference) {
      if (opts.reference.length !== this.dim || this.dim % 3 !== 0) {
        throw new UserError(`${this.file}: the reference structure has ${opts.reference.length} coordinates, the model d = ${this.dim}`, 'bad-model')
      }
      this.reference = opts.reference
      this.rigidBody = true
    } else this.rigidBody = false
  }

  /** checks the contract and wraps the session (no probe; see probeModel) */
  static wrap(ort: OrtLike, session: InferenceSession, opts: OnnxScoreOptions): OnnxScoreModel {
    const contract = checkModelContract(session, opts.file ?? opts.name, opts.dim)
    return new OnnxScoreModel(ort, session, contract, opts)
  }

  private async run(x: Float32Array, sigma: Float32Array, batch: number): Promise<InferenceSession.ReturnType> {
    const d = this.dim
    const xt = new this.ort.Tensor('float32', x.subarray(0, batch * d), [batch, d])
    // every sampler call has one σ for all its rows; the model then computes its σ-embedding once.
    // The outputs are the same bits either way (tests/unit/nn/onnx-score.test.ts)
    const one = this.sharedSigma && batch > 1 && sameValue(sigma, batch)
    const st = one ? new this.ort.Tensor('float32', sigma.subarray(0, 1), [1]) : new this.ort.Tensor('float32', sigma.subarray(0, batch), [batch])
    return this.session.run({ x: xt, sigma: st })
  }

  async score(x: Float32Array, sigma: Float32Array, batch: number, out: Float32Array): Promise<void> {
    const res = await this.run(x, sigma, batch)
    const s = res.score as Tensor | undefined
    if (!s) throw new UserError(`${this.file}: the model returned no 'score'`, 'bad-model')
    const data = s.data as Float32Array
    if (data.length !== batch * this.dim) {
      throw new UserError(`${this.file}: output 'score' has shape [${s.dims.join(', ')}] for a batch of ${batch}, expected [${batch}, ${this.dim}]`, 'bad-model')
    }
    out.set(data.subarray(0, batch * this.dim))
    s.dispose?.()
  }

  /** energies E(x_b, σ_b) (energy models only) */
  async energy(x: Float32Array, sigma: Float32Array, batch: number, out: Float32Array): Promise<void> {
    if (!this.hasEnergy) throw new UserError(`${this.file}: the model has no 'energy' output`, 'bad-model')
    const res = await this.run(x, sigma, batch)
    const e = res.energy as Tensor
    out.set((e.data as Float32Array).subarray(0, batch))
  }

  async dispose(): Promise<void> {
    await this.session.release()
  }
}

/**
 * Runs the model on a probe batch: `center` (e.g. the mean structure; zeros when absent) plus
 * ±0.1·scale offsets, at σ = the given levels. Refuses (UserError) non-finite outputs or wrong
 * output shapes, naming the σ.
 */
export async function probeModel(model: OnnxScoreModel, center: Float32Array | undefined, sigmas: readonly number[], scale = 1): Promise<void> {
  const d = model.dim
  const B = Math.max(2, sigmas.length)
  const x = new Float32Array(B * d)
  const sigma = new Float32Array(B)
  for (let b = 0; b < B; b++) {
    sigma[b] = sigmas[b % sigmas.length]!
    for (let i = 0; i < d; i++) x[b * d + i] = (center ? center[i]! : 0) + 0.1 * scale * Math.sin(1.7 * i + 0.9 * b)
  }
  const out = new Float32Array(B * d)
  try {
    await model.score(x, sigma, B, out)
  } catch (err) {
    if (err instanceof UserError) throw err
    throw new UserError(`${model.file}: running the model on a probe batch of ${B} failed (${(err as Error).message.split('\n')[0]})`, 'bad-model')
  }
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < d; i++) {
      if (!Number.isFinite(out[b * d + i]!)) {
        throw new UserError(`${model.file}: output 'score' is ${out[b * d + i]} on a probe batch (row ${b}, σ = ${sigma[b]} Å, coordinate ${i}); the model is refused`, 'bad-model')
      }
    }
  }
  if (model.hasEnergy) {
    const e = new Float32Array(B)
    await model.energy(x, sigma, B, e)
    for (let b = 0; b < B; b++) if (!Number.isFinite(e[b]!)) throw new UserError(`${model.file}: output 'energy' is ${e[b]} on a probe batch (σ = ${sigma[b]} Å); the model is refused`, 'bad-model')
  }
  if (model.sharedSigma) await probeSharedSigma(model, x, B, sigmas[Math.floor(sigmas.length / 2)]!)
}

/**
 * A model that names sigma's size SIGMA_DIM promises that sigma[1] means "this σ for every row".
 * The probe batch at one σ, passed both ways, must then give the same outputs (ours give the same
 * bits; the tolerance leaves room for a third-party graph that takes another kernel path). A model
 * that breaks the promise is refused: the sampler would pass it sigma[1] on every call.
 */
async function probeSharedSigma(model: OnnxScoreModel, x: Float32Array, B: number, sg: number): Promise<void> {
  const d = model.dim
  const refuse = (what: string): never => {
    throw new UserError(
      `${model.file}: input 'sigma' has size '${SIGMA_DIM}', which promises that sigma[1] applies to every row, but ${what}; export sigma with another size name (e.g. 'B')`,
      'bad-model'
    )
  }
  const sigma = new Float32Array(B).fill(sg)
  let one: InferenceSession.ReturnType
  try {
    one = await model.session.run({ x: new model.ort.Tensor('float32', x, [B, d]), sigma: new model.ort.Tensor('float32', sigma.subarray(0, 1), [1]) })
  } catch (err) {
    return refuse(`a probe batch of ${B} rows with sigma[1] failed (${(err as Error).message.split('\n')[0]})`)
  }
  const each = await model.session.run({ x: new model.ort.Tensor('float32', x, [B, d]), sigma: new model.ort.Tensor('float32', sigma, [B]) })
  for (const name of model.hasEnergy ? ['score', 'energy'] : ['score']) {
    const a = one[name]!.data as Float32Array
    const b = each[name]!.data as Float32Array
    if (a.length !== b.length) refuse(`its '${name}' has ${a.length} values with sigma[1] and ${b.length} with sigma[${B}]`)
    let scale = 0
    for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]!))
    for (let i = 0; i < b.length; i++) {
      if (!(Math.abs(a[i]! - b[i]!) <= SHARED_SIGMA_TOLERANCE * (1 + scale))) {
        refuse(`its '${name}' differs with sigma[1] and sigma[${B}] at σ = ${sg} Å (${a[i]} against ${b[i]}, value ${i})`)
      }
    }
  }
}

/** relative tolerance of the sigma[1] probe: a few float32 roundings of the largest output */
export const SHARED_SIGMA_TOLERANCE = 1e-5
