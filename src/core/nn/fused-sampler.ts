/**
 * Fused sampler graph: K adapter steps (docs/science.md "The adapter step"; noise layout: docs/architecture.md "One noise layout for all three paths") unrolled inside ONE ONNX graph around any
 * score model, so a GPU runs K frames per call instead of K·M separate model calls, and the state
 * can stay on the device from call to call (docs/speed.md "WebGPU: state on the device").
 *
 *   inputs  x[B, d]          the state (Å)
 *           noise[B, K·P]    row b = normals [t₀·P, (t₀+K)·P) of replica b's stream, i.e. the K
 *                            per-step rows of the step-by-step sampler one after the other
 *                            (P = d·(1+M) for bridge: ξ then z₀ … z_{M−1}; P = d for tied/clean)
 *           tau[M+1]         bridge: the σ grid τ₀ = σ_K > … > τ_M = σ_min (Å)
 *           eta[], sigma[]   tied/clean: η (Å²) and the σ the score is evaluated at (Å)
 *           save[S] int64    which of the K steps' results to return in `frames` (0-based; absent
 *                            with spec.saveAll: then `frames` holds all K)
 *           live[]           steps k < live count; later ones leave the state unchanged (a call may
 *                            end early: the end of the run, a checkpoint)
 *           t0[]             the step number of this call's first step, counted from the caller's base
 *           rejected[B]      trust-region rejections so far (carried)
 *           unstable[B]      0, or the step number (from the base, 1-based) at which the replica
 *                            first left the finite range (carried; runs without a trust region)
 *   outputs frames[S, B, d]  the state after the saved steps
 *           state[B, d]      the state after all K steps (the next call's x)
 *           rejectedOut[B], unstableOut[B]   the carried counters after this call
 *
 *   bridge: x ← y + √(τ₀² − τ_M²)·ξ;  then for i < M, hᵢ = τᵢ² − τᵢ₊₁²:
 *     scheme em:      x ← x + hᵢ·s(x, τᵢ) + √hᵢ·zᵢ
 *     scheme tweedie: x ← x + hᵢ·s(x, τᵢ) + √hᵢ·zᵢ + (hᵢ/2)·(s(x + √hᵢ·zᵢ, τᵢ) − s(x, τᵢ))  (the default;
 *       the two scores are two inlined copies of the model, docs/sampler-integrators.md)
 *   tied/clean: x ← y + η·s(y, σ) + √(2η)·ξ
 *   then, as the core sampler after every adapter step (core/sampler/adapter-step.ts, run-state.ts):
 *     rigid-body models (bridge): superposition onto the model's reference (Horn, graph-superpose.ts);
 *     with a trust region: a result outside it is rejected and the replica keeps y;
 *     without: a coordinate that is non-finite or beyond EXPLOSION_LIMIT marks the replica unstable.
 * bridge-mh (Metropolis-corrected) is not fused (decision): its test needs the energy output, the
 * reverse path's scores and a per-step accept/reject branch per replica; buildFusedSampler refuses
 * it and the renderer engine runs it step by step (one session run per model call, WebGPU or WASM).
 * With the same noise this equals the step-by-step sampler up to float32 rounding. The Langevin
 * forms of rigid-body models need the rigid-body projection at every step: the caller does not fuse
 * them (it holds the ScoreModel and checks model.rigidBody).
 */
import { Graph, type Tensor } from './graph'
import type { ModelData } from './onnx-proto'
import { inlineOnnx } from './inline'
import { paramInitializers, scoreInGraph, type NormStats } from './export'
import type { ArchConfig } from './arch'
import type { OrtRuntime, OrtSession, SessionOptions } from './runtime'
import { DEFAULT_BRIDGE_SCHEME } from '../sampler/params'
import { EXPLOSION_LIMIT } from '../sampler/run-state'
import type { TrustRegion } from '../sampler/trust-region'
import { emitFinite, superposer, trustTester } from './graph-superpose'
import type { OrtTensor } from './runtime'

export type FusedMode = 'bridge' | 'tied' | 'clean'
export type FusedScheme = 'em' | 'tweedie'

/** why a sampler mode cannot be fused, or undefined when it can */
export function fusedRefusal(mode: string): string | undefined {
  if (mode === 'bridge-mh') return 'the fused graph does not run the Metropolis test of mode bridge-mh (it needs energies and a per-step accept decision); it runs step by step'
  if (mode !== 'bridge' && mode !== 'tied' && mode !== 'clean') return `the fused graph does not know mode ${mode}`
  return undefined
}

/** emits a score model into g: x[B, d] (Å), sigma[B] (Å) → score[B, d] (Å⁻¹) */
export type ScoreEmitter = (g: Graph, x: Tensor, sigma: Tensor) => Tensor

export interface FusedSpec {
  mode: FusedMode
  dim: number
  /** adapter steps per call */
  K: number
  /** denoising steps per adapter step (bridge) */
  M: number
  /** bridge: the reverse step (default tweedie, as the core sampler) */
  scheme?: FusedScheme
  score: ScoreEmitter
  /** opset of the graph (an inlined foreign model's, when it is older than ours) */
  opset?: number
  /** rigid-body models (bridge mode): superpose every step's result onto this reference (3N values, Å) */
  reference?: Float32Array
  /** reject a step whose result lies outside this region (the replica keeps its state) */
  trustRegion?: TrustRegion
  /** no `save` input: `frames` holds all K steps (fixed shapes, as graph capture needs) */
  saveAll?: boolean
  /** a fixed batch (replicas) instead of a symbolic one: no run-time shape arithmetic is left in the graph (graph capture) */
  batch?: number
}

export function noisePerStep(mode: FusedMode, d: number, M: number): number {
  return mode === 'bridge' ? d * (1 + M) : d
}

export function buildFusedSampler(spec: FusedSpec): Graph {
  const { mode, dim: d, K, M } = spec
  const refused = fusedRefusal(mode)
  if (refused) throw new Error(`fused sampler: ${refused}`)
  const tweedie = (spec.scheme ?? DEFAULT_BRIDGE_SCHEME) === 'tweedie'
  if (!(Number.isInteger(K) && K >= 1)) throw new RangeError(`fused sampler: K must be a whole number ≥ 1 (got ${K})`)
  if (mode === 'bridge' && !(Number.isInteger(M) && M >= 1)) throw new RangeError(`fused sampler: M must be a whole number ≥ 1 (got ${M})`)
  if (spec.reference && (mode !== 'bridge' || spec.reference.length !== d)) {
    throw new RangeError(`fused sampler: a superposition reference needs mode bridge and ${d} values (got mode ${mode}, ${spec.reference.length} values)`)
  }
  const P = noisePerStep(mode, d, M)
  const g = new Graph(`fused-${mode}-K${K}`, 'float32')
  const B = spec.batch ?? 'B'
  const x0 = g.input('x', 'float32', [B, d])
  const noise = g.input('noise', 'float32', [B, K * P])
  const params: Tensor[] = []
  if (mode === 'bridge') params.push(g.input('tau', 'float32', [M + 1]))
  else params.push(g.input('eta', 'float32', []), g.input('sigma', 'float32', []))
  const save = spec.saveAll ? undefined : g.input('save', 'int64', ['S'])
  const live = g.input('live', 'float32', [])
  const t0 = g.input('t0', 'float32', [])
  let rejected = g.input('rejected', 'float32', [B])
  let unstable = g.input('unstable', 'float32', [B])
  const batchShape = spec.batch ? g.int64s([spec.batch]) : g.slice(g.shapeOf(x0), [0], [1], [0])
  const sigmaOf = (s: Tensor): Tensor => g.expand(g.reshape(s, [1]), batchShape, [B])
  const noiseAt = (off: number): Tensor => g.slice(noise, [off], [off + d], [1])
  const frames: Tensor[] = []
  // the per-step rules' constants, once per graph
  const superpose = spec.reference ? superposer(g, spec.reference) : undefined
  const inTrust = spec.trustRegion ? trustTester(g, spec.trustRegion) : undefined
  // the core sampler's rules after an adapter step k from y to `next`
  const finish = (k: number, y: Tensor, next: Tensor): Tensor => {
    let x = superpose ? superpose(next) : next
    const isLive = g.less(g.scalar(k, 'float32'), live)
    const liveK = g.cast(isLive, 'float32')
    if (spec.trustRegion) {
      const inside = inTrust!(x) // [B, 1]
      x = g.where(inside, x, y)
      rejected = g.add(rejected, g.mul(g.sub(1, g.reshape(g.cast(inside, 'float32'), [-1])), liveK))
    } else {
      const bad = g.mul(g.sub(1, emitFinite(g, x, EXPLOSION_LIMIT)), liveK)
      const first = g.mul(g.cast(g.lessOrEqual(unstable, 0), 'float32'), bad)
      unstable = g.add(unstable, g.mul(first, g.add(t0, k + 1)))
    }
    if (k > 0) x = g.where(isLive, x, y) // steps past `live` leave the state as it was (a call may end early at a checkpoint)
    frames.push(x)
    return x
  }
  let y = x0
  if (mode === 'bridge') {
    const tau = params[0]!
    const t = Array.from({ length: M + 1 }, (_, i) => g.reshape(g.slice(tau, [i], [i + 1], [0]), []))
    const c0 = g.sqrt(g.sub(g.mul(t[0]!, t[0]!), g.mul(t[M]!, t[M]!)))
    const h = Array.from({ length: M }, (_, i) => g.sub(g.mul(t[i]!, t[i]!), g.mul(t[i + 1]!, t[i + 1]!)))
    const gh = h.map((hi) => g.sqrt(hi))
    const sig = t.slice(0, M).map(sigmaOf)
    for (let k = 0; k < K; k++) {
      let x = g.add(y, g.mul(noiseAt(k * P), c0))
      for (let i = 0; i < M; i++) {
        const s = spec.score(g, x, sig[i]!)
        const gz = g.mul(noiseAt(k * P + (1 + i) * d), gh[i]!)
        let next = g.add(g.add(x, g.mul(s, h[i]!)), gz)
        if (tweedie) {
          const s1 = spec.score(g, g.add(x, gz), sig[i]!)
          next = g.add(next, g.mul(g.sub(s1, s), g.mul(h[i]!, g.scalar(0.5, 'float32'))))
        }
        x = next
      }
      y = finish(k, y, x)
    }
  } else {
    const [eta, sigma] = params as [Tensor, Tensor]
    const c = g.sqrt(g.mul(eta, 2))
    const sb = sigmaOf(sigma)
    for (let k = 0; k < K; k++) {
      const s = spec.score(g, y, sb)
      y = finish(k, y, g.add(g.add(y, g.mul(s, eta)), g.mul(noiseAt(k * P), c)))
    }
  }
  // the counter a run does not use passes through, but not as an Identity from input to output:
  // onnxruntime-web's WebGPU kernels have no Identity, and a CPU node would bar graph capture
  // (× 1 from the live count, which the optimiser cannot fold away; live ≥ 1 in every call)
  const one = g.cast(g.less(g.scalar(0, 'float32'), live), 'float32')
  if (spec.trustRegion) unstable = g.mul(unstable, one)
  else rejected = g.mul(rejected, one)
  const all = concatFew(g, frames.map((f) => g.unsqueeze(f, [0])))
  g.output(save ? g.emit('Gather', [all, save], 'float32', ['S', B, d], { axis: { type: 'int', i: 0 } }) : all, 'frames')
  g.output(g.mul(y, one), 'state') // not the Concat's own input: onnxruntime would keep an Identity to name it
  g.output(rejected, 'rejectedOut')
  g.output(unstable, 'unstableOut')
  return g
}

/**
 * Concat along axis 0 as a tree of Concats of at most 4 inputs: onnxruntime-web's WebGPU Concat
 * with many inputs (16 frames, on SwiftShader) returned wrong values, while 5 were right; a kernel
 * binds each input as a storage buffer, and devices may offer as few as 8 per shader stage.
 */
export function concatFew(g: Graph, parts: Tensor[], fan = 4): Tensor {
  if (parts.length <= fan) return parts.length === 1 ? parts[0]! : g.concat(parts, 0)
  const groups: Tensor[] = []
  for (let i = 0; i < parts.length; i += fan) groups.push(concatFew(g, parts.slice(i, i + fan), fan))
  return concatFew(g, groups, fan)
}

/** score emitter for the app's own architectures (parameters become initializers, shared by all copies) */
export function archEmitter(cfg: ArchConfig, params: Float32Array[], stats: NormStats): ScoreEmitter {
  const perGraph = new WeakMap<Graph, ReturnType<typeof paramInitializers>>()
  return (g, x, sigma) => {
    let P = perGraph.get(g)
    if (!P) perGraph.set(g, (P = paramInitializers(g, cfg, params, 'm/')))
    return scoreInGraph(g, cfg, P, stats, x, sigma).score
  }
}

/**
 * score emitter that inlines a decoded ONNX score model (any producer): its nodes are copied with
 * fresh intermediate names at every call, its initializers added once. Models with control-flow
 * subgraphs (If/Loop/Scan) or non-default domains other than com.microsoft are refused.
 */
export function onnxEmitter(model: ModelData | Uint8Array): { emit: ScoreEmitter; opset: number } {
  const inlined = inlineOnnx(model, 'm/', 'fused sampler')
  return { emit: (g, x, sigma) => inlined.emit(g, x, sigma).get('score')!, opset: inlined.opset }
}

/** what a fused call carries to the next: the state and the per-replica counters (on the device when the session keeps outputs there) */
export interface FusedCarry {
  x: OrtTensor
  rejected: OrtTensor
  unstable: OrtTensor
}

/** one call's results: the saved frames [S, B, d] and the carry for the next call (tensors the caller must read or dispose) */
export interface FusedAdvance {
  frames: OrtTensor
  carry: FusedCarry
}

/**
 * How a run drives a fused session from call to call (runFused in the renderer's engine): the state
 * and counters live with the driver (host tensors, GPU output tensors, or a captured graph's fixed
 * GPU buffers); reads happen only when asked.
 */
export interface FusedDriver {
  /** where the carried state lives: 'cpu' or 'gpu-buffer' */
  readonly location: string
  /** true when the session replays a captured graph (onnxruntime-web WebGPU) */
  readonly captured: boolean
  /** one call of K steps (arguments as FusedSampler.advance) */
  advance(noise: Float32Array, grid: ArrayLike<number>, save: readonly number[], live: number, t0: number): Promise<void>
  /** the last call's results of the steps in `save` (those it was asked for), [S, B, d] */
  frames(save: readonly number[]): Promise<Float32Array>
  rejected(): Promise<Float32Array>
  unstable(): Promise<Float32Array>
  /** sets the carried counters to zero */
  resetCounters(): Promise<void>
  dispose(): void
}

/** rows `save` of frames [K, …] (each `row` values long), in that order */
export function pickSteps(frames: Float32Array, save: readonly number[], row: number): Float32Array {
  const out = new Float32Array(save.length * row)
  save.forEach((j, i) => out.set(frames.subarray(j * row, (j + 1) * row), i * row))
  return out
}

/** output names of the fused graph, e.g. for onnxruntime-web's preferredOutputLocation */
export const FUSED_OUTPUTS = ['frames', 'state', 'rejectedOut', 'unstableOut'] as const

/** a session over a fused graph: one call = K adapter steps for a batch */
export class FusedSampler {
  private constructor(
    private readonly ort: OrtRuntime,
    readonly session: OrtSession,
    readonly mode: FusedMode,
    readonly dim: number,
    readonly K: number,
    readonly M: number,
    readonly scheme: FusedScheme,
    /** the graph returns all K steps (no `save` input) */
    readonly saveAll: boolean
  ) {}

  static async create(ort: OrtRuntime, spec: FusedSpec, options?: SessionOptions): Promise<FusedSampler> {
    const g = buildFusedSampler(spec)
    const session = await ort.InferenceSession.create(g.toBytes({ opset: spec.opset }), options)
    return new FusedSampler(ort, session, spec.mode, spec.dim, spec.K, spec.M, spec.scheme ?? DEFAULT_BRIDGE_SCHEME, !!spec.saveAll)
  }

  /** the fixed inputs of a call other than x, noise and the counters: the grid, live, t0 (and save) */
  feedsOf(grid: ArrayLike<number>, save: readonly number[], live: number, t0: number): Record<string, OrtTensor> {
    const T = this.ort.Tensor
    if (!this.saveAll && (save.length === 0 || save.some((j) => !(Number.isInteger(j) && j >= 0 && j < this.K)))) throw new RangeError(`fused sampler: save must list steps in [0, ${this.K}) (got [${save.join(', ')}])`)
    const feeds: Record<string, OrtTensor> = { live: new T('float32', Float32Array.of(live), []), t0: new T('float32', Float32Array.of(t0), []) }
    if (!this.saveAll) feeds.save = new T('int64', BigInt64Array.from(save, (j) => BigInt(j)), [save.length])
    if (this.mode === 'bridge') {
      if (grid.length !== this.M + 1) throw new RangeError(`fused sampler: τ grid has ${grid.length} values, expected M + 1 = ${this.M + 1}`)
      feeds.tau = new T('float32', Float32Array.from(grid), [this.M + 1])
    } else {
      feeds.eta = new T('float32', Float32Array.of(grid[0]!), [])
      feeds.sigma = new T('float32', Float32Array.of(grid[1]!), [])
    }
    return feeds
  }

  get noiseSize(): number {
    return this.K * noisePerStep(this.mode, this.dim, this.M)
  }

  /** a fresh carry on the host: state x (batch rows), zero counters */
  carryOf(x: Float32Array, batch: number): FusedCarry {
    const T = this.ort.Tensor
    return { x: new T('float32', Float32Array.from(x.subarray(0, batch * this.dim)), [batch, this.dim]), rejected: new T('float32', new Float32Array(batch), [batch]), unstable: new T('float32', new Float32Array(batch), [batch]) }
  }

  /**
   * K adapter steps from `carry` (whose tensors stay the caller's: dispose them when done). `save`:
   * the steps (0-based in this call) whose results come back in `frames`; `live`: steps that count
   * (the rest are computed and ignored); `t0`: the number of this call's first step from the
   * caller's base, for the unstable marks. bridge: `grid` = τ (M+1 values); tied/clean: [η, σ].
   */
  async advance(carry: FusedCarry, noise: Float32Array, grid: ArrayLike<number>, save: readonly number[], live: number, t0: number): Promise<FusedAdvance> {
    const batch = carry.x.dims[0]!
    const T = this.ort.Tensor
    const feeds: Record<string, OrtTensor> = {
      ...this.feedsOf(grid, save, live, t0),
      x: carry.x,
      noise: new T('float32', noise.subarray(0, batch * this.noiseSize), [batch, this.noiseSize]),
      rejected: carry.rejected,
      unstable: carry.unstable,
    }
    const out = await this.session.run(feeds)
    return { frames: out.frames!, carry: { x: out.state!, rejected: out.rejectedOut!, unstable: out.unstableOut! } }
  }

  /** a driver that passes each call's output tensors to the next call (on the GPU with preferredOutputLocation 'gpu-buffer') */
  driver(x: Float32Array, batch: number): FusedDriver {
    let carry = this.carryOf(x, batch)
    let last: OrtTensor | undefined
    const drop = (t: OrtTensor | undefined): void => t?.dispose()
    return {
      get location() {
        return carry.x.location
      },
      captured: false,
      advance: async (noise, grid, save, live, t0) => {
        const res = await this.advance(carry, noise, grid, save, live, t0)
        for (const t of [carry.x, carry.rejected, carry.unstable, last]) drop(t)
        carry = res.carry
        last = res.frames
      },
      frames: async (save) => {
        const all = (await last!.getData()) as Float32Array
        return this.saveAll ? pickSteps(all, save, batch * this.dim) : all
      },
      rejected: async () => (await carry.rejected.getData()) as Float32Array,
      unstable: async () => (await carry.unstable.getData()) as Float32Array,
      resetCounters: async () => {
        const zeros = this.carryOf(new Float32Array(batch * this.dim), batch)
        for (const t of [zeros.x, carry.rejected, carry.unstable]) t.dispose()
        carry = { x: carry.x, rejected: zeros.rejected, unstable: zeros.unstable }
      },
      dispose: () => {
        for (const t of [carry.x, carry.rejected, carry.unstable, last]) drop(t)
      },
    }
  }

  /** K adapter steps for `batch` rows from x on the host: returns all K frames [K, batch, d] */
  async run(x: Float32Array, batch: number, noise: Float32Array, grid: ArrayLike<number>): Promise<Float32Array> {
    const carry = this.carryOf(x, batch)
    const res = await this.advance(carry, noise, grid, Array.from({ length: this.K }, (_, k) => k), this.K, 0)
    const frames = (await res.frames.getData(true)) as Float32Array
    for (const t of [res.carry.x, res.carry.rejected, res.carry.unstable]) t.dispose()
    return frames
  }

  async dispose(): Promise<void> {
    await this.session.release()
  }
}
