/**
 * The sampling engine the worker runs, with the onnxruntime module injected (onnxruntime-web in the
 * worker; onnxruntime-node in unit tests), so the same code is tested in Node and used in the browser.
 *
 * Two ways to make frames, equal within float32 rounding (the core sampler's noise layout: replica
 * r, adapter step t uses normals [t·P, (t+1)·P) of fillNormalsOf(noise kind, seed, r); the same trust-region and
 * instability rules; the same checkpoints):
 *  - fused: one session run per K adapter steps (src/core/nn/fused-sampler.ts), with the core
 *    sampler's per-step rules inside the graph (rigid-body superposition, trust region, explosion
 *    test, and bridge-mh's Metropolis test with its acceptance counts). The state and the counters
 *    are carried from call to call as the session's output tensors, which stay on the GPU on WebGPU
 *    (preferredOutputLocation 'gpu-buffer'); only calls that finish a saved frame read anything
 *    back (docs/speed.md "WebGPU: state on the device").
 *    Langevin modes of rigid-body models (projection needed), Picard windows and bridge-mh on a
 *    model without an energy output fall back to stepwise.
 *  - stepwise: runTrajectory (src/core/sampler/runner.ts) over OnnxScoreModel, one run per
 *    denoising step.
 */
import type { InferenceSession } from 'onnxruntime-common'
import type { OrtRuntime } from '../../../core/nn/runtime'
import { OnnxScoreModel } from '../../../core/score/onnx-score'
import { runTrajectory } from '../../../core/sampler/runner'
import { isBridgeMode, validateParams, schemeOf, noiseOf, type SamplerParams } from '../../../core/sampler/params'
import type { TrustRegion } from '../../../core/sampler/trust-region'
import { bridgeGrid, evaluationsPerStep, modelCallsPerStep, noisePerStep } from '../../../core/sampler/adapter-step'
import { sigmaKOf } from '../../../core/units/conversions'
import { unstableMessage } from '../../../core/sampler/run-state'
import { assertCompatible, checkpointFromJson, checkpointParamsOf, checkpointToJson, resumeNoise, CHECKPOINT_VERSION, type Checkpoint } from '../../../core/sampler/checkpoint'
import { FusedSampler, fusedOutputs, fusedRefusal, onnxEmitter, type FusedDriver, type FusedMode, type FusedSpec } from '../../../core/nn/fused-sampler'
import { capturedDriver, type GpuDevice } from './graph-capture'
import { fillNormalsOf } from '../../../core/rng/normals'
import { UserError } from '../../../core/errors'
import { alignedCovariancePreconditioner, type MhPreconditioner } from '../../../core/sampler/metropolis'
import type { ClientSamplerParams, SamplingResult } from './protocol'

export interface EngineInput {
  model: Uint8Array
  card: Record<string, unknown>
  init: Float32Array
  params: ClientSamplerParams
  resumeFrom?: unknown
  checkpointEvery?: number
  engine?: 'auto' | 'fused' | 'stepwise'
  /** stepwise: float32 values of frames held per chunk (tests make it small) */
  chunkValues?: number
  /** params.mhKernel 'covariance': frames [n, d] whose covariance preconditions bridge-mh's down kernel */
  mhFrames?: Float32Array
  /** WebGPU fused runs: replay a captured graph when onnxruntime can capture it (default true) */
  graphCapture?: boolean
}

export interface EngineIO {
  signal: AbortSignal
  /** frames start … start+count−1 as [count, R·d]; `data` is the engine's to give away (transfer) */
  emitFrames(start: number, count: number, data: Float32Array): void
  emitCheckpoint?(json: string): void
  /** largest wait between frame messages (ms) */
  flushMs?: number
}

export type EngineResult = Omit<SamplingResult, 'backend'>

/** what the engine needs from a model card (src/core/nn/card.ts), checked with readable errors */
export interface CardInfo {
  name: string
  dim: number
  sigmaRange: [number, number]
  reference?: Float32Array
  trustRegion?: TrustRegion
}

function numArray(v: unknown, n: number, what: string): Float32Array {
  if (!Array.isArray(v) || v.length !== n || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    throw new UserError(`model card: ${what} must be ${n} finite numbers`, 'bad-model')
  }
  return Float32Array.from(v as number[])
}

export function cardInfo(card: Record<string, unknown>): CardInfo {
  const dim = card.dim
  if (typeof dim !== 'number' || !Number.isInteger(dim) || dim < 1) throw new UserError('model card: "dim" must be a positive whole number', 'bad-model')
  const name = typeof card.name === 'string' && card.name ? card.name : 'model'
  const sr = card.sigmaRange
  const sigmaRange: [number, number] = Array.isArray(sr) && sr.length === 2 && typeof sr[0] === 'number' && typeof sr[1] === 'number' ? [sr[0], sr[1]] : [0, Infinity]
  const info: CardInfo = { name, dim, sigmaRange }
  if (card.aligned !== false && card.reference !== undefined) info.reference = numArray(card.reference, dim, '"reference"')
  const tr = card.trustRegion as { mean?: unknown; scale?: unknown; radius?: unknown } | undefined
  if (tr) info.trustRegion = { mean: numArray(tr.mean, dim, 'trustRegion.mean'), scale: numArray(tr.scale, dim, 'trustRegion.scale'), radius: Number(tr.radius) }
  return info
}

export function samplerParams(p: ClientSamplerParams, card: CardInfo): SamplerParams {
  const d = card.dim
  let trustRegion: TrustRegion | undefined = card.trustRegion
  if (p.trustRegion) {
    trustRegion = { mean: numArray(p.trustRegion.mean, d, 'trustRegion.mean'), scale: numArray(p.trustRegion.scale, d, 'trustRegion.scale'), radius: p.trustRegion.radius }
  }
  const parallel = p.parallel ? { kind: 'picard' as const, window: p.parallel.window, tol: p.parallel.tol } : undefined
  return { mode: p.mode, scheme: p.scheme, eta: p.eta, innerSteps: p.innerSteps, denoiseSteps: p.denoiseSteps, sigmaMin: p.sigmaMin, replicas: p.replicas, frames: p.frames, seed: p.seed, trustRegion, ...(parallel ? { parallel } : {}), ...(p.noise ? { noise: p.noise } : {}), ...(p.mhKernel ? { mhKernel: p.mhKernel } : {}) }
}

/**
 * The covariance down kernel's preconditioner (core/sampler/metropolis.ts) from frames [n, d]:
 * aligned to the model's reference first, as the sampler's own frames are, so V is the covariance
 * the model sees (the CLI's --mh-kernel covariance does the same with the card's training data).
 */
export function mhPreconditionerOf(frames: Float32Array | undefined, info: CardInfo): MhPreconditioner {
  const d = info.dim
  const n = frames ? Math.floor(frames.length / d) : 0
  if (!frames || n < 2 || frames.length !== n * d) {
    throw new UserError(`the covariance down kernel needs at least 2 frames of ${d} coordinates (the run's dataset frames); got ${frames ? frames.length : 0} numbers`, 'bad-param')
  }
  return alignedCovariancePreconditioner(frames, n, d, info.reference)
}

export function parseCheckpoint(v: unknown): Checkpoint | undefined {
  if (v === undefined || v === null) return undefined
  if (typeof v === 'string') return checkpointFromJson(v, 'resume checkpoint')
  const o = v as Partial<Checkpoint> & { positions?: unknown }
  if (o.positions instanceof Float32Array) return o as Checkpoint
  return checkpointFromJson(JSON.stringify(v), 'resume checkpoint')
}

/**
 * Collects consecutive frames and hands them on in batches: when `maxFrames` are waiting, or
 * `flushMs` after the first waiting frame was added (checked on each push), and at flush().
 */
export class FrameBatcher {
  private buf: Float32Array
  private n = 0
  private start = 0
  private since = 0

  constructor(
    private readonly rowLen: number,
    private readonly emit: (start: number, count: number, data: Float32Array) => void,
    private readonly flushMs = 100,
    private readonly maxFrames = Math.max(1, Math.min(256, Math.floor((4 << 20) / Math.max(1, rowLen))))
  ) {
    this.buf = new Float32Array(this.maxFrames * rowLen)
  }

  /** frame `index` (must follow the previous one) from positions[0 … rowLen) */
  push(index: number, positions: Float32Array, offset = 0): void {
    if (this.n > 0 && index !== this.start + this.n) this.flush()
    if (this.n === 0) {
      this.start = index
      this.since = Date.now()
    }
    this.buf.set(positions.subarray(offset, offset + this.rowLen), this.n * this.rowLen)
    this.n++
    if (this.n >= this.maxFrames || Date.now() - this.since >= this.flushMs) this.flush()
  }

  flush(): void {
    if (this.n === 0) return
    const out = this.n === this.maxFrames ? this.buf : this.buf.slice(0, this.n * this.rowLen)
    if (out === this.buf) this.buf = new Float32Array(this.maxFrames * this.rowLen)
    const { start, n } = this
    this.n = 0
    this.emit(start, n, out)
  }
}

/**
 * Adapter steps per fused call: about 128 network evaluations per call (graph size and session
 * start-up grow with it), never more than the run needs.
 */
export function fusedStepsPerCall(p: SamplerParams, stepsLeft: number): number {
  const evals = evaluationsPerStep(p.mode, p.denoiseSteps, schemeOf(p))
  return Math.max(1, Math.min(64, Math.floor(128 / evals), stepsLeft))
}

/** replicas from which the WASM backend's 'auto' runs bridge-mh fused (bench/RESULTS.md "bridge-mh in the fused graph") */
export const WASM_FUSED_MH_REPLICAS = 16

/**
 * The engine 'auto' means on the CPU (onnxruntime-web WASM): step by step, which measured faster
 * there for bridge (bench:ui), except bridge-mh with R ≥ 16 replicas, where the fused graph (the
 * whole Metropolis test in one call per K steps) made 1.6× the frames per second in Chromium
 * (R = 16 and 64; R = 1: ×0.84, R = 4: ×1.15) for 5–7 s more start-up.
 */
export function cpuEngine(p: Pick<ClientSamplerParams, 'mode' | 'replicas' | 'parallel'>): 'fused' | 'stepwise' {
  return p.mode === 'bridge-mh' && !p.parallel && p.replicas >= WASM_FUSED_MH_REPLICAS ? 'fused' : 'stepwise'
}

/** a model and its sessions, ready to run one request */
export interface OpenEngine {
  readonly engine: 'fused' | 'stepwise'
  /** why the fused graph was not used (stepwise only) */
  readonly fallbackReason?: string
  run(io: EngineIO): Promise<EngineResult>
  release(): Promise<void>
}

/**
 * Opens the sessions for a request: the fused K-step graph when the engine choice and the model
 * allow it, else (or when building it fails) the plain model for runTrajectory. Session creation
 * errors propagate (the worker falls back from WebGPU to WASM on them).
 */
export async function openEngine(ort: OrtRuntime, input: EngineInput, sessionOptions: InferenceSession.SessionOptions): Promise<OpenEngine> {
  const info = cardInfo(input.card)
  const params = samplerParams(input.params, info)
  const R = params.replicas
  const d = info.dim
  const resume = parseCheckpoint(input.resumeFrom)
  if (!resume && input.init.length !== R * d) {
    throw new UserError(`initial positions hold ${input.init.length} numbers, expected replicas × d = ${R} × ${d} = ${R * d}`, 'bad-param')
  }
  const rigid = !!info.reference
  const mh = params.mode === 'bridge-mh'
  // bridge-mh's covariance kernel: the dataset frames' covariance, once per request (fused and stepwise alike)
  const mhPreconditioner = mh && params.mhKernel === 'covariance' ? cachedPreconditioner(input, info) : undefined
  let reason: string | undefined
  if (input.engine !== 'stepwise') {
    const refused = fusedRefusal(params.mode)
    if (refused) reason = refused
    else if (params.parallel) reason = 'Picard windows run step by step (one batched call of R·W rows per denoising step)'
    else if (rigid && params.mode !== 'bridge' && !mh) reason = `mode ${params.mode} needs the rigid-body projection at every step, which the fused graph does not do`
    else {
      let emitter: ReturnType<typeof onnxEmitter> | undefined
      try {
        emitter = onnxEmitter(input.model)
        if (mh && !emitter.energy) {
          reason = 'mode bridge-mh needs the model\'s energy output'
          emitter = undefined
        }
      } catch (err) {
        reason = (err as Error).message
      }
      if (emitter) {
        const stepsLeft = (params.frames - 1) * params.innerSteps - (resume ? resume.step : 0)
        const K = fusedStepsPerCall(params, stepsLeft)
        // on a GPU the carried state and the frames stay in GPU buffers until the engine reads them
        const onGpu = (sessionOptions.executionProviders ?? []).some((ep) => (typeof ep === 'string' ? ep : ep.name) === 'webgpu')
        const mode = params.mode as FusedMode
        const options = onGpu ? { ...sessionOptions, preferredOutputLocation: Object.fromEntries(fusedOutputs(mode).map((o) => [o, 'gpu-buffer' as const])) } : sessionOptions
        // bridge-mh never re-aligns (alignment is not density-preserving), as the core sampler
        const spec: FusedSpec = { mode, scheme: schemeOf(params), dim: d, K, M: params.denoiseSteps, score: emitter.emit, sharedSigma: emitter.sharedSigma, opset: Math.max(emitter.opset, 18), reference: mh ? undefined : info.reference, trustRegion: params.trustRegion, ...(mh ? { energy: emitter.energy, mhPreconditioner } : {}) }
        const sessions: FusedSampler[] = []
        let captureRefused: string | undefined
        let makeDriver: (x: Float32Array, grid: ArrayLike<number>) => Promise<FusedDriver>
        // graph capture first (the session starts onnxruntime's WebGPU backend, whose device the
        // driver's buffers must live on); when onnxruntime cannot capture this graph, the plain GPU-resident driver
        let captured: FusedSampler | undefined
        if (onGpu && input.graphCapture !== false) {
          try {
            // fixed shapes, all K frames out; onnxruntime's refusal is ours to report, not a console error
            captured = await FusedSampler.create(ort, { ...spec, saveAll: true, batch: R }, { ...options, enableGraphCapture: true, logSeverityLevel: 4 })
          } catch (err) {
            captureRefused = err instanceof Error ? err.message.replace(/\s+/g, ' ') : String(err)
          }
        }
        const device = captured ? await webgpuDevice(ort) : undefined
        if (captured && !device) {
          captureRefused = 'the WebGPU device of onnxruntime-web was not reachable'
          await captured.dispose().catch(() => undefined)
        }
        if (captured && device) {
          sessions.push(captured)
          makeDriver = async (x, grid) => {
            try {
              return await capturedDriver(ort, captured, device, x, R, grid)
            } catch (err) {
              captureRefused = err instanceof Error ? err.message.split('\n')[0] : String(err)
              const plain = await FusedSampler.create(ort, spec, options)
              sessions.push(plain)
              return plain.driver(x, R)
            }
          }
        } else {
          const plain = await FusedSampler.create(ort, spec, options)
          sessions.push(plain)
          makeDriver = async (x) => plain.driver(x, R)
        }
        return {
          engine: 'fused',
          run: async (io) => {
            const res = await runFused(sessions[0]!, makeDriver, info, params, input, resume, io)
            return captureRefused ? { ...res, graphCaptureRefused: captureRefused } : res
          },
          release: async () => {
            for (const f of sessions) await f.dispose().catch(() => undefined)
          },
        }
      }
    }
    if (input.engine === 'fused') throw new UserError(`the fused sampler cannot run this model: ${reason}`, 'bad-model')
  }
  const session = await ort.InferenceSession.create(input.model, sessionOptions)
  const model = OnnxScoreModel.wrap(ort, session, { name: info.name, dim: d, sigmaRange: info.sigmaRange, reference: info.reference, file: info.name })
  return {
    engine: 'stepwise',
    fallbackReason: reason,
    run: (io) => runStepwise(model, params, input, resume, io, input.chunkValues, mhPreconditioner),
    release: () => session.release().catch(() => undefined),
  }
}

/**
 * The covariance kernel's preconditioner of a request, computed once: the worker opens a request a
 * second time on WASM when WebGPU fails, and the eigen-decomposition costs O(d³) (about 11 s at the
 * kernel's 1 200-coordinate limit).
 */
const preconditioners = new WeakMap<Float32Array, { card: Record<string, unknown>; p: MhPreconditioner }>()
function cachedPreconditioner(input: EngineInput, info: CardInfo): MhPreconditioner {
  // keyed by the request's frames and card objects (the WASM retry passes the same ones)
  const hit = input.mhFrames ? preconditioners.get(input.mhFrames) : undefined
  if (hit && hit.card === input.card) return hit.p
  const p = mhPreconditionerOf(input.mhFrames, info)
  if (input.mhFrames) preconditioners.set(input.mhFrames, { card: input.card, p })
  return p
}

/** the GPU device onnxruntime-web's WebGPU backend runs on, or undefined (other runtimes) */
async function webgpuDevice(ort: OrtRuntime): Promise<GpuDevice | undefined> {
  try {
    const env = (ort as unknown as { env?: { webgpu?: { device?: unknown } } }).env
    const pending = Promise.resolve(env?.webgpu?.device)
    const device = (await Promise.race([pending, new Promise((resolve) => setTimeout(resolve, 5000))])) as GpuDevice | undefined
    return device && typeof device.createBuffer === 'function' ? device : undefined
  } catch {
    return undefined
  }
}

/** float32 values of frames one stepwise chunk keeps (16 MB): runTrajectory holds its frames, the worker only streams them */
export const STEPWISE_CHUNK_VALUES = 1 << 22

/**
 * runTrajectory in chunks of frames, each resumed from the previous chunk's checkpoint (resuming is
 * exact), so the worker holds at most one chunk of frames however long the run; the chunk length
 * is a multiple of the caller's checkpoint interval so its checkpoints fall on chunk ends or inside.
 */
async function runStepwise(model: OnnxScoreModel, params: SamplerParams, input: EngineInput, resume: Checkpoint | undefined, io: EngineIO, chunkValues = STEPWISE_CHUNK_VALUES, mhPreconditioner?: MhPreconditioner): Promise<EngineResult> {
  const R = params.replicas
  const d = model.dim
  const batcher = new FrameBatcher(R * d, io.emitFrames, io.flushMs ?? 100)
  const startIndex = resume ? resume.framesDone - 1 : 0
  let last = startIndex
  const every = input.checkpointEvery && input.checkpointEvery > 0 && io.emitCheckpoint ? input.checkpointEvery : undefined
  const base = Math.max(1, Math.floor(chunkValues / (R * d)))
  const chunk = every ? every * Math.max(1, Math.floor(base / every)) : base
  let cp = resume
  let rejections = resume ? resume.rejections.slice() : new Array<number>(R).fill(0)
  let acceptance: number[] | undefined
  let sweeps = 0
  let stopped: EngineResult['unstable'] | 'aborted' | undefined
  const t0 = performance.now()
  let fresh = !resume // a fresh run of one frame still delivers frame 0
  while ((fresh || last < params.frames - 1) && !stopped) {
    fresh = false
    // this chunk ends at the next frame index that is a multiple of `chunk` (its checkpoint frame)
    const end = Math.min(params.frames - 1, (Math.floor(last / chunk) + 1) * chunk)
    let next: Checkpoint | undefined
    const res = await runTrajectory(model, { ...params, frames: end + 1 }, input.init, {
      signal: io.signal,
      resumeFrom: cp,
      ...(mhPreconditioner ? { mhPreconditioner } : {}),
      checkpointEvery: every ?? chunk,
      onCheckpoint: (c) => {
        next = c
        const f = c.framesDone - 1
        if (every && f % every === 0 && f > startIndex) io.emitCheckpoint!(checkpointToJson(c))
      },
      onFrame: (f, positions) => {
        last = f
        batcher.push(f, positions)
      },
    })
    rejections = res.rejections
    if (res.sweeps !== undefined) sweeps += res.sweeps
    if (res.acceptance) acceptance = res.acceptance
    if (res.stopped) stopped = res.stopped.reason === 'aborted' ? 'aborted' : res.stopped.message
    else if (last < params.frames - 1) {
      if (!next || next.framesDone !== end + 1) throw new Error(`stepwise engine: no checkpoint at frame ${end}`)
      cp = next
    }
  }
  batcher.flush()
  const seconds = (performance.now() - t0) / 1000
  const made = last - startIndex
  const result: EngineResult = { framesPerSecond: seconds > 0 ? made / seconds : 0, rejections, engine: 'stepwise', framesMade: made }
  if (acceptance) result.acceptance = acceptance
  if (params.parallel) result.sweeps = sweeps
  if (stopped === 'aborted') result.stopped = true
  else if (stopped) result.unstable = stopped
  return result
}

/** lets the worker see a stop message between calls */
function yieldToEvents(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0))
}

/** steps a float32 step counter can carry exactly (2^24), with room: the engine rebases its counters before this */
const REBASE_STEPS = 1 << 22

/**
 * The fused loop: K adapter steps per session run for all replicas, the core sampler's noise
 * addressing, per-step rules (in the graph: superposition, trust region, explosion test) and
 * checkpoints. The state and the counters are the previous call's output tensors (GPU buffers on
 * WebGPU); a call's frames are read back only when it finishes a saved frame, the counters only with
 * them (explosion marks), at checkpoints (rejections), and every REBASE_STEPS steps.
 */
async function runFused(fused: FusedSampler, makeDriver: (x: Float32Array, grid: ArrayLike<number>) => Promise<FusedDriver>, info: CardInfo, asked: SamplerParams, input: EngineInput, resume: Checkpoint | undefined, io: EngineIO): Promise<EngineResult> {
  const params = resumeNoise(asked, resume)
  const noise = noiseOf(params)
  // what validateParams asks of the model (openEngine has checked that a bridge-mh model has its energy output)
  const model = { dim: info.dim, sigmaRange: info.sigmaRange, smoothed: true, rigidBody: !!info.reference, reference: info.reference, name: info.name, score: () => undefined, ...(params.mode === 'bridge-mh' ? { energy: () => undefined, hasEnergy: true } : {}) }
  validateParams(model, params)
  if (resume) assertCompatible(resume, params, info.dim, info.name)
  const R = params.replicas
  const d = info.dim
  const K = fused.K
  const P = noisePerStep(params.mode, d, params.denoiseSteps)
  const inner = params.innerSteps
  const total = (params.frames - 1) * inner
  const guarded = !!params.trustRegion
  const mh = params.mode === 'bridge-mh'
  const grid =
    isBridgeMode(params.mode)
      ? Array.from(bridgeGrid(sigmaKOf(params.eta, params.sigmaMin), params.sigmaMin, params.denoiseSteps))
      : [params.eta, params.mode === 'tied' ? Math.sqrt(2 * params.eta) : params.sigmaMin]
  const callsPerStep = modelCallsPerStep(params.mode, params.denoiseSteps) // model calls the core sampler counts for one step
  const normals = new Float32Array(R * K * P)
  const rejections = resume ? resume.rejections.slice() : new Array<number>(R).fill(0)
  // bridge-mh: accepted Metropolis steps per replica since step 0 of the run (a resumed run's included)
  const accepted = mh ? (resume?.accepted ? resume.accepted.slice() : new Array<number>(R).fill(0)) : undefined
  let modelCalls = resume ? resume.modelCalls : 0
  let t = resume ? resume.step : 0
  const startIndex = resume ? resume.framesDone - 1 : 0
  let lastFrame = startIndex
  const batcher = new FrameBatcher(R * d, io.emitFrames, io.flushMs ?? 100)
  const checkpointEvery = input.checkpointEvery && input.checkpointEvery > 0 && io.emitCheckpoint ? input.checkpointEvery : undefined
  const cpParams = checkpointParamsOf(params, d, info.name)
  let stopped = false
  let unstable: string | undefined
  let readBacks = 0
  let stateLocation: string | undefined
  const start = Float32Array.from(resume ? resume.positions : input.init)
  if (!resume) batcher.push(0, start)
  const driver = await makeDriver(start, grid)
  let base = t // the carried counters count from here
  let earlierBad: { step: number; replica: number } | undefined // an unstable mark read at a rebase
  const counted = <T>(p: Promise<T>): Promise<T> => {
    readBacks++
    return p
  }
  /** the first unstable step (1-based, from step 0 of the run) and its replica, if any */
  const firstUnstable = async (): Promise<{ step: number; replica: number } | undefined> => {
    if (guarded || earlierBad) return earlierBad
    const u = await counted(driver.unstable())
    let found: { step: number; replica: number } | undefined
    for (let r = 0; r < R; r++) if (u[r]! > 0 && (!found || base + u[r]! < found.step)) found = { step: base + u[r]!, replica: r }
    return found
  }
  /** moves the carried counters to the host (rejections added, an unstable mark kept) and restarts them from step t */
  const rebase = async (): Promise<void> => {
    if (guarded) {
      const rej = await counted(driver.rejected())
      for (let r = 0; r < R; r++) rejections[r]! += Math.round(rej[r]!)
    } else earlierBad = await firstUnstable()
    if (accepted) {
      const acc = await counted(driver.accepted())
      for (let r = 0; r < R; r++) accepted[r]! += Math.round(acc[r]!)
    }
    await driver.resetCounters()
    base = t
  }
  // a call never runs past a checkpoint frame, so the counters read there belong to it
  const cpSteps = checkpointEvery ? checkpointEvery * inner : Infinity
  const t0 = performance.now()
  try {
    while (t < total) {
      if (io.signal.aborted) {
        stopped = true
        break
      }
      if (t - base >= REBASE_STEPS) await rebase()
      const k = Math.min(K, total - t, (Math.floor(t / cpSteps) + 1) * cpSteps - t)
      for (let r = 0; r < R; r++) fillNormalsOf(noise, normals, params.seed, r, t * P, r * K * P, K * P)
      const saves: number[] = []
      for (let j = 0; j < k; j++) if ((t + j + 1) % inner === 0) saves.push(j)
      await driver.advance(normals, grid, saves.length > 0 ? saves : [0], k, t - base)
      stateLocation = driver.location
      let positions: Float32Array | undefined
      if (saves.length > 0) {
        const bad = await firstUnstable()
        const frames = await counted(driver.frames(saves))
        for (let s = 0; s < saves.length && !unstable; s++) {
          const step = t + saves[s]! + 1
          if (bad && bad.step <= step) {
            unstable = unstableMessage(params, bad.step, lastFrame + 1, bad.replica)
            break
          }
          positions = frames.subarray(s * R * d, (s + 1) * R * d)
          lastFrame = step / inner
          batcher.push(lastFrame, positions)
        }
      }
      if (unstable) break
      t += k
      modelCalls += k * callsPerStep
      if (t % cpSteps === 0 && positions) {
        batcher.flush()
        await rebase()
        const cp: Checkpoint = { version: CHECKPOINT_VERSION, step: t, framesDone: lastFrame + 1, positions: Float32Array.from(positions), rejections: rejections.slice(), modelCalls, ...(accepted ? { accepted: accepted.slice() } : {}), params: cpParams }
        io.emitCheckpoint!(checkpointToJson(cp))
      }
      await yieldToEvents()
    }
    if (!unstable) await rebase() // the rejections of the last calls
  } finally {
    driver.dispose()
  }
  batcher.flush()
  const seconds = (performance.now() - t0) / 1000
  const made = lastFrame - startIndex
  const result: EngineResult = { framesPerSecond: seconds > 0 ? made / seconds : 0, rejections, engine: 'fused', framesMade: made, readBacks, ...(stateLocation ? { stateLocation } : {}), graphCapture: driver.captured }
  if (stopped) result.stopped = true
  if (unstable) result.unstable = unstable
  // per replica, accepted / adapter steps made since step 0 (as runTrajectory); an unstable run's
  // counters after its last checkpoint are not read, so it reports none
  else if (accepted) result.acceptance = accepted.map((a) => (t > 0 ? a / t : 0))
  return result
}
