/**
 * Sampler checkpoints: everything needed to continue a run to exactly (bit-for-bit) the frames an
 * uninterrupted run gives. The noise is counter-based (replica r, adapter step t uses normals
 * [t·P, (t+1)·P) of stream r), so the RNG state is just `step`.
 * JSON form: positions as base64 of little-endian float32.
 */
import type { ReverseScheme, SamplerMode, SamplerParams } from './params'
import { noiseOf, schemeOf } from './params'
import type { NoiseKind } from '../rng/normals'
import { UserError } from '../errors'
import { jsonSyntaxProblem } from '../json-error'
import { bytesToBase64, decodeBase64 } from '../base64'

export const CHECKPOINT_VERSION = 1

/** the parameters a resumed run must share with the run that wrote the checkpoint */
export interface CheckpointParams {
  mode: SamplerMode
  eta: number
  innerSteps: number
  denoiseSteps: number
  /** the bridge's reverse step; absent in checkpoints written before schemes existed (they used em) */
  scheme?: ReverseScheme
  sigmaMin: number
  replicas: number
  seed: number
  dim: number
  model: string
  /** whether a trust region was in force (its arrays live with the model, not here) */
  trustRegion: boolean
  /** the normals' kind; absent in checkpoints written before noise kinds existed (they used box-muller) */
  noise?: NoiseKind
  /** bridge-mh's down kernel; absent before kernels existed and for other modes (em) */
  mhKernel?: string
}

/** the noise kind a checkpoint's run used */
export function checkpointNoise(cp: Checkpoint): NoiseKind {
  return cp.params.noise ?? 'box-muller'
}

/**
 * The params a resumed run continues with: the checkpoint's noise kind when the caller did not
 * name one, so a run made before ziggurat normals continues bit for bit as it would have.
 */
export function resumeNoise(p: SamplerParams, cp: Checkpoint | undefined): SamplerParams {
  return cp && p.noise === undefined ? { ...p, noise: checkpointNoise(cp) } : p
}

export interface Checkpoint {
  version: number
  /** adapter steps done (the RNG position: the next step is number `step`) */
  step: number
  /** frames saved so far, frame 0 = the initial state included; positions are frame framesDone − 1 */
  framesDone: number
  /** current state [R·d] (Å) */
  positions: Float32Array
  /** rejected steps per replica so far */
  rejections: number[]
  /** model calls so far */
  modelCalls: number
  /** bridge-mh: accepted steps per replica so far */
  accepted?: number[]
  params: CheckpointParams
}

export function checkpointParamsOf(p: SamplerParams, dim: number, modelName: string): CheckpointParams {
  return {
    mode: p.mode,
    eta: p.eta,
    innerSteps: p.innerSteps,
    denoiseSteps: p.denoiseSteps,
    scheme: schemeOf(p),
    sigmaMin: p.sigmaMin,
    replicas: p.replicas,
    seed: p.seed,
    dim,
    model: modelName,
    trustRegion: p.trustRegion !== undefined,
    noise: noiseOf(p),
    ...(p.mode === 'bridge-mh' ? { mhKernel: p.mhKernel ?? 'em' } : {}),
  }
}

/** throws a UserError naming the first parameter in which the checkpoint and this run differ */
export function assertCompatible(cp: Checkpoint, asked: SamplerParams, dim: number, modelName: string): void {
  // an unset noise kind follows the checkpoint's (resumeNoise); a named one must match it
  const p = resumeNoise(asked, cp)
  if (cp.version !== CHECKPOINT_VERSION) throw new UserError(`checkpoint version ${cp.version} is not supported (expected ${CHECKPOINT_VERSION})`, 'bad-checkpoint')
  const want = checkpointParamsOf(p, dim, modelName)
  // a checkpoint from before reverse schemes existed (no `scheme` key) continues with this run's scheme:
  // its frames so far are kept, the continuation is no longer bit-identical to an old uninterrupted run
  const have: CheckpointParams = {
    ...cp.params,
    scheme: 'scheme' in cp.params ? cp.params.scheme : want.scheme,
    noise: checkpointNoise(cp),
    ...(cp.params.mode === 'bridge-mh' ? { mhKernel: cp.params.mhKernel ?? 'em' } : {}),
  }
  for (const key of Object.keys(want) as (keyof CheckpointParams)[]) {
    if (have[key] !== want[key]) {
      throw new UserError(`checkpoint was written with ${key} = ${String(have[key])}, this run has ${String(want[key])}: resume with the same settings`, 'bad-checkpoint')
    }
  }
  if (cp.positions.length !== p.replicas * dim) throw new UserError(`checkpoint holds ${cp.positions.length} coordinates, expected ${p.replicas * dim}`, 'bad-checkpoint')
  if (cp.accepted !== undefined && cp.accepted.length !== p.replicas) throw new UserError(`checkpoint holds ${cp.accepted.length} acceptance counts, expected ${p.replicas}`, 'bad-checkpoint')
  if (cp.rejections.length !== p.replicas) throw new UserError(`checkpoint holds ${cp.rejections.length} rejection counts, expected ${p.replicas}`, 'bad-checkpoint')
  if (!Number.isInteger(cp.framesDone) || cp.framesDone < 1) throw new UserError(`checkpoint framesDone = ${cp.framesDone} is invalid`, 'bad-checkpoint')
  if (cp.step !== (cp.framesDone - 1) * p.innerSteps) throw new UserError(`checkpoint step ${cp.step} does not match ${cp.framesDone} frames of ${p.innerSteps} steps`, 'bad-checkpoint')
  if (cp.framesDone > p.frames) throw new UserError(`checkpoint is at frame ${cp.framesDone - 1}, beyond the ${p.frames} frames asked for`, 'bad-checkpoint')
}

export { bytesToBase64 } from '../base64'

export function base64ToBytes(s: string): Uint8Array {
  const bytes = decodeBase64(s)
  if (!bytes) throw new UserError('checkpoint: positions are not valid base64', 'bad-checkpoint')
  return bytes
}

function float32ToBase64(a: Float32Array): string {
  const bytes = new Uint8Array(a.length * 4)
  const view = new DataView(bytes.buffer)
  for (let i = 0; i < a.length; i++) view.setFloat32(4 * i, a[i]!, true)
  return bytesToBase64(bytes)
}

function base64ToFloat32(s: string): Float32Array {
  const bytes = base64ToBytes(s)
  if (bytes.length % 4 !== 0) throw new UserError('checkpoint: positions are not a whole number of float32 values', 'bad-checkpoint')
  const view = new DataView(bytes.buffer)
  const out = new Float32Array(bytes.length / 4)
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true)
  return out
}

export function checkpointToJson(cp: Checkpoint): string {
  return JSON.stringify({ ...cp, positions: float32ToBase64(cp.positions), positionsEncoding: 'base64-float32le' })
}

/** parses checkpointToJson's output; `source` names the file in error messages */
export function checkpointFromJson(text: string, source = 'checkpoint'): Checkpoint {
  let o: unknown
  try {
    o = JSON.parse(text)
  } catch (err) {
    throw new UserError(`${source}: not valid JSON (${jsonSyntaxProblem(err, text)})`, 'bad-checkpoint')
  }
  const c = o as Partial<Omit<Checkpoint, 'positions'>> & { positions?: unknown }
  if (!c || typeof c !== 'object' || typeof c.positions !== 'string' || typeof c.step !== 'number' || typeof c.framesDone !== 'number' || !Array.isArray(c.rejections) || !c.params || typeof c.version !== 'number') {
    throw new UserError(`${source}: not a sampler checkpoint (expected version, step, framesDone, positions, rejections, params)`, 'bad-checkpoint')
  }
  return {
    version: c.version,
    step: c.step,
    framesDone: c.framesDone,
    positions: base64ToFloat32(c.positions),
    rejections: c.rejections.map(Number),
    modelCalls: typeof c.modelCalls === 'number' ? c.modelCalls : 0,
    ...(Array.isArray(c.accepted) ? { accepted: c.accepted.map(Number) } : {}),
    params: c.params,
  }
}
