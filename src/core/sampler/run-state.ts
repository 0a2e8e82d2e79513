/**
 * Book-keeping shared by the sequential and the Picard engines: noise addressing, the per-row
 * guard (trust region, or explosion detection without one), frame recording, hooks, checkpoints,
 * abort and instability stops. Positions in Å, flat row-major [R, d].
 */
import type { MhPreconditioner } from './metropolis'
import type { ScoreModel } from '../score/types'
import type { SamplerParams } from './params'
import type { Checkpoint } from './checkpoint'
import { CHECKPOINT_VERSION, checkpointParamsOf } from './checkpoint'
import { TrustGuard } from './trust-region'
import { fillNormalsOf } from '../rng/normals'
import { fmt, noiseOf } from './params'
import { UserError } from '../errors'
import { PhaseTimer } from './timing'

export interface RunHooks {
  /** bridge-mh with mhKernel 'covariance': the training data's covariance, eigen-decomposed (metropolis.ts) */
  mhPreconditioner?: MhPreconditioner
  /**
   * A frame was saved: `positions` [R·d] is the live state (valid during the call only; copy to keep).
   * Called for frame 0 (the initial state) of a fresh run, not for the checkpoint frame of a resumed one.
   */
  onFrame?(frameIndex: number, positions: Float32Array): void | Promise<void>
  /** frames done (frame 0 included) of `total` */
  onProgress?(done: number, total: number): void
  /** stops the run at the last saved frame */
  signal?: AbortSignal
  /** continue from this checkpoint (same parameters; `frames` may be larger) */
  resumeFrom?: Checkpoint
  /** write a checkpoint every this many frames (at frame indices that are multiples of it) */
  checkpointEvery?: number
  onCheckpoint?(cp: Checkpoint): void | Promise<void>
  /**
   * keep every frame in the returned trajectory (default true); false keeps only the last frame
   * (for callers that stream frames through onFrame), so memory does not grow with the run
   */
  keepFrames?: boolean
  /**
   * the run's replica r draws its noise from stream replicaBase + r (default 0): a shard holding
   * replicas [a, a + n) of a larger run passes a, so its frames equal those rows of the whole run
   * (docs/cluster.md)
   */
  replicaBase?: number
}

export interface StopInfo {
  reason: 'aborted' | 'unstable'
  message: string
  /** 1-based number of the adapter step that failed (unstable) */
  step?: number
  /** 0-based replica that failed (unstable) */
  replica?: number
}

/** row verdicts */
export const ROW_OK = 0
export const ROW_REJECTED = 1
export const ROW_UNSTABLE = 2

/** without a trust region, a coordinate beyond this magnitude (Å) counts as an explosion */
export const EXPLOSION_LIMIT = 1e8

/**
 * The one-line report of an instability at adapter step `step` (1-based) of replica `replica`, while
 * making frame `frame` (frames 0 … frame − 1 are kept); shared by every sampler engine.
 */
export function unstableMessage(p: Pick<SamplerParams, 'mode' | 'eta'>, step: number, frame: number, replica: number): string {
  const advice =
    p.mode === 'bridge' || p.mode === 'bridge-mh'
      ? 'use a smaller Δt (--eta/--dt), more denoising steps (--denoise-steps) or a trust region'
      : `use a smaller Δt (--eta/--dt; clean mode is stable only while η·λ_max < 2) or --mode bridge`
  return (
    `simulation became unstable at adapter step ${step} (making frame ${frame}), replica ${replica}: ` +
    `a coordinate is non-finite or beyond ${fmt(EXPLOSION_LIMIT)} Å in ${p.mode} mode at η = ${fmt(p.eta)} Å²; ` +
    `kept the ${frame} frames before it; ${advice}`
  )
}

const YIELD_MS = 50
/** the most float32 values a run keeps in memory (8 GB) */
export const MAX_KEPT_VALUES = 2 ** 31
/** initial frame storage, in float32 values (256 kB); it doubles as frames arrive */
const INITIAL_VALUES = 2 ** 16

export class RunState {
  readonly R: number
  readonly d: number
  readonly F: number
  readonly inner: number
  /** normals per frame per adapter step */
  readonly P: number
  /** absolute index of the trajectory's first frame (0, or the checkpoint frame when resuming) */
  readonly firstFrame: number
  /** absolute index of the next frame to make */
  nextFrame: number
  readonly rejections: number[]
  /** bridge-mh: accepted Metropolis steps per replica (a step the trust region then rejects does not count) */
  readonly accepted: number[] | undefined
  modelCalls: number
  sweeps = 0
  stopped: StopInfo | undefined
  private readonly guard: TrustGuard | undefined
  /** frames kept [R, capacity, d]; grows by doubling up to `maxFrames` */
  private data: Float32Array
  private capacity: number
  private readonly maxFrames: number
  private readonly keepAll: boolean
  /** frames recorded (when not keeping all: the count, while only the last is stored) */
  private saved = 0
  private lastYield = Date.now()

  constructor(
    readonly model: ScoreModel,
    readonly params: SamplerParams,
    readonly hooks: RunHooks,
    noisePerStep: number,
    start: Float32Array,
    /** phase clock of the run (the engines add normals and trustRegion time to it) */
    readonly timer: PhaseTimer = new PhaseTimer()
  ) {
    this.R = params.replicas
    this.d = model.dim
    this.F = params.frames
    this.inner = params.innerSteps
    this.P = noisePerStep
    const cp = hooks.resumeFrom
    this.firstFrame = cp ? cp.framesDone - 1 : 0
    this.nextFrame = this.firstFrame + 1
    this.rejections = cp ? cp.rejections.slice() : new Array<number>(this.R).fill(0)
    this.modelCalls = cp ? cp.modelCalls : 0
    this.accepted = params.mode === 'bridge-mh' ? (cp?.accepted ? cp.accepted.slice() : new Array<number>(this.R).fill(0)) : undefined
    this.guard = params.trustRegion ? new TrustGuard(params.trustRegion, this.d) : undefined
    this.keepAll = hooks.keepFrames !== false
    this.maxFrames = this.keepAll ? this.F - this.firstFrame : 1
    const perFrame = this.R * this.d
    if (this.maxFrames * perFrame > MAX_KEPT_VALUES) {
      throw new UserError(
        `${this.R} replicas × ${this.maxFrames} frames × ${this.d} coordinates = ${fmt(this.maxFrames * perFrame)} values (${fmt((this.maxFrames * perFrame * 4) / 2 ** 30)} GB) is more than one run keeps in memory (8 GB): save fewer frames (more inner steps per frame) or run fewer replicas`,
        'too-large'
      )
    }
    this.capacity = Math.min(this.maxFrames, Math.max(2, Math.floor(INITIAL_VALUES / perFrame)))
    this.data = new Float32Array(perFrame * this.capacity)
    this.record(start)
  }

  /** adapter step at which the run starts (0, or the checkpoint's) */
  get startStep(): number {
    return this.firstFrame * this.inner
  }

  get totalSteps(): number {
    return (this.F - 1) * this.inner
  }

  /** normals of replica r for `steps` consecutive adapter steps from `step`, into buf[offset …] */
  fillNoise(buf: Float32Array, replica: number, step: number, steps: number, offset: number): void {
    fillNormalsOf(noiseOf(this.params), buf, this.params.seed, (this.hooks.replicaBase ?? 0) + replica, step * this.P, offset, steps * this.P)
  }

  /** verdict on a row after a step: inside the trust region / finite and not exploded */
  check(x: Float32Array, offset: number): number {
    if (this.guard) return this.guard.inside(x, offset) ? ROW_OK : ROW_REJECTED
    for (let i = 0; i < this.d; i++) {
      const v = x[offset + i]!
      if (!(Math.abs(v) <= EXPLOSION_LIMIT)) return ROW_UNSTABLE
    }
    return ROW_OK
  }

  private record(positions: Float32Array): void {
    const { R, d } = this
    if (this.keepAll && this.saved === this.capacity) this.grow()
    const f = this.keepAll ? this.saved : 0
    for (let r = 0; r < R; r++) {
      const dst = (r * this.capacity + f) * d
      const src = r * d
      for (let i = 0; i < d; i++) this.data[dst + i] = positions[src + i]!
    }
    this.saved++
  }

  /** doubles the frame storage (amortised O(1) per frame; allocation only at doublings) */
  private grow(): void {
    const { R, d } = this
    const cap = Math.min(this.maxFrames, 2 * this.capacity)
    const next = new Float32Array(R * cap * d)
    for (let r = 0; r < R; r++) next.set(this.data.subarray(r * this.capacity * d, (r * this.capacity + this.saved) * d), r * cap * d)
    this.data = next
    this.capacity = cap
  }

  /** the frame at the start (frame 0 of a fresh run): calls onFrame and onProgress */
  announceStart(positions: Float32Array): void | Promise<void> {
    this.hooks.onProgress?.(this.firstFrame + 1, this.F)
    if (!this.hooks.resumeFrom && this.hooks.onFrame) return this.hooks.onFrame(0, positions)
  }

  /** stores frame `f` (= nextFrame) from positions [R·d]; hooks; checkpoint */
  saveFrame(f: number, positions: Float32Array): void | Promise<void> {
    this.record(positions)
    this.nextFrame = f + 1
    const h = this.hooks
    h.onProgress?.(f + 1, this.F)
    const pending: Promise<void>[] = []
    if (h.onFrame) {
      const p = h.onFrame(f, positions)
      if (p) pending.push(p)
    }
    if (h.checkpointEvery && h.onCheckpoint && f % h.checkpointEvery === 0) {
      const p = h.onCheckpoint(this.checkpoint(f, positions))
      if (p) pending.push(p)
    }
    if (pending.length > 0) return Promise.all(pending).then(() => undefined)
    return this.maybeYield()
  }

  /** a checkpoint at saved frame f whose state is `positions` */
  checkpoint(f: number, positions: Float32Array): Checkpoint {
    return {
      version: CHECKPOINT_VERSION,
      step: f * this.inner,
      framesDone: f + 1,
      positions: Float32Array.from(positions.subarray(0, this.R * this.d)),
      rejections: this.rejections.slice(),
      modelCalls: this.modelCalls,
      ...(this.accepted ? { accepted: this.accepted.slice() } : {}),
      params: checkpointParamsOf(this.params, this.d, this.model.name),
    }
  }

  /** lets timers and signal handlers run every ~50 ms when someone may be listening */
  maybeYield(): void | Promise<void> {
    if (!this.hooks.signal && !this.hooks.onProgress) return
    const now = Date.now()
    if (now - this.lastYield < YIELD_MS) return
    this.lastYield = now
    return new Promise<void>((resolve) => setTimeout(resolve, 0))
  }

  /** true (and records the stop) when the signal has fired */
  checkAbort(): boolean {
    if (!this.hooks.signal?.aborted) return false
    const last = this.nextFrame - 1
    this.stopped = { reason: 'aborted', message: `stopped on request after frame ${last} (${last + 1} of ${this.F} frames kept)` }
    return true
  }

  /** records an instability at 0-based adapter step t, replica r */
  unstable(t: number, r: number): void {
    this.stopped = { reason: 'unstable', step: t + 1, replica: r, message: unstableMessage(this.params, t + 1, this.nextFrame, r) }
  }

  /** absolute index of the first frame in frameData() */
  get firstKept(): number {
    return this.keepAll ? this.firstFrame : this.firstFrame + this.saved - 1
  }

  /** frames kept so far, as [R, n, d] (all saved frames, or only the last one without keepFrames) */
  frameData(): { frames: number; data: Float32Array } {
    const n = this.keepAll ? this.saved : 1
    if (n === this.capacity) return { frames: n, data: this.data }
    const { R, d } = this
    const out = new Float32Array(R * n * d)
    for (let r = 0; r < R; r++) out.set(this.data.subarray(r * this.capacity * d, (r * this.capacity + n) * d), r * n * d)
    return { frames: n, data: out }
  }
}
