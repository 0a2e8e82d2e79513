/**
 * Fused sampler graph: K adapter steps (docs/science.md "The adapter step"; noise layout: docs/architecture.md "One noise layout for all three paths") unrolled inside ONE ONNX graph around any
 * score model, so a GPU runs K frames per call instead of K·M separate model calls.
 *
 *   inputs  x[B, d]          the state (Å)
 *           noise[B, K·P]    row b = normals [t₀·P, (t₀+K)·P) of replica b's stream, i.e. the K
 *                            per-step rows of the step-by-step sampler one after the other
 *                            (P = d·(1+M) for bridge: ξ then z₀ … z_{M−1}; P = d for tied/clean)
 *           tau[M+1]         bridge: the σ grid τ₀ = σ_K > … > τ_M = σ_min (Å)
 *           eta[], sigma[]   tied/clean: η (Å²) and the σ the score is evaluated at (Å)
 *   output  frames[K, B, d]  the state after each adapter step
 *
 *   bridge: x ← y + √(τ₀² − τ_M²)·ξ;  then for i < M, hᵢ = τᵢ² − τᵢ₊₁²:
 *     scheme em:      x ← x + hᵢ·s(x, τᵢ) + √hᵢ·zᵢ
 *     scheme tweedie: x ← x + hᵢ·s(x, τᵢ) + √hᵢ·zᵢ + (hᵢ/2)·(s(x + √hᵢ·zᵢ, τᵢ) − s(x, τᵢ))  (the default;
 *       the two scores are two inlined copies of the model, docs/sampler-integrators.md)
 *   tied/clean: x ← y + η·s(y, σ) + √(2η)·ξ
 * bridge-mh (Metropolis-corrected) is not fused (decision): its test needs the energy output, the
 * reverse path's scores and a per-step accept/reject branch per replica; buildFusedSampler refuses
 * it and the renderer engine runs it step by step (one session run per model call, WebGPU or WASM).
 * With the same noise this equals the step-by-step sampler (core/sampler/adapter-step.ts) up to
 * float32 rounding — for models without rigid-body handling.
 *
 * Rigid-body models (decision): ONNX has no SVD, so Kabsch is not done in the graph. In bridge mode
 * the caller re-aligns the K output frames (and the state carried to the next call) outside; the
 * denoiser pulls every step back to the aligned pose anyway, so frames differ from the sequential
 * sampler only by that small in-between re-alignment (same distribution, not the same path); see
 * realignFrames(). The Langevin forms need the rigid-body projection at every step: do not fuse
 * them for rigid-body models (the caller, which holds the ScoreModel, checks model.rigidBody).
 */
import { Graph, type Tensor } from './graph'
import type { ModelData } from './onnx-proto'
import { inlineOnnx } from './inline'
import { paramInitializers, scoreInGraph, type NormStats } from './export'
import type { ArchConfig } from './arch'
import type { OrtRuntime, OrtSession, SessionOptions } from './runtime'
import { Aligner } from '../geometry/kabsch'
import { DEFAULT_BRIDGE_SCHEME } from '../sampler/params'

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
  const P = noisePerStep(mode, d, M)
  const g = new Graph(`fused-${mode}-K${K}`, 'float32')
  const x0 = g.input('x', 'float32', ['B', d])
  const noise = g.input('noise', 'float32', ['B', K * P])
  const shapeB = g.slice(g.shapeOf(x0), [0], [1], [0])
  const sigmaOf = (s: Tensor): Tensor => g.expand(g.reshape(s, [1]), shapeB, ['B'])
  const noiseAt = (off: number): Tensor => g.slice(noise, [off], [off + d], [1])
  const frames: Tensor[] = []
  let y = x0
  if (mode === 'bridge') {
    const tau = g.input('tau', 'float32', [M + 1])
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
      frames.push(x)
      y = x
    }
  } else {
    const eta = g.input('eta', 'float32', [])
    const sigma = g.input('sigma', 'float32', [])
    const c = g.sqrt(g.mul(eta, 2))
    const sb = sigmaOf(sigma)
    for (let k = 0; k < K; k++) {
      const s = spec.score(g, y, sb)
      y = g.add(g.add(y, g.mul(s, eta)), g.mul(noiseAt(k * P), c))
      frames.push(y)
    }
  }
  g.output(g.concat(frames.map((f) => g.unsqueeze(f, [0])), 0), 'frames')
  return g
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

/** a session over a fused graph: one call = K adapter steps for a batch */
export class FusedSampler {
  private constructor(
    private readonly ort: OrtRuntime,
    readonly session: OrtSession,
    readonly mode: FusedMode,
    readonly dim: number,
    readonly K: number,
    readonly M: number,
    readonly scheme: FusedScheme
  ) {}

  static async create(ort: OrtRuntime, spec: FusedSpec, options?: SessionOptions): Promise<FusedSampler> {
    const g = buildFusedSampler(spec)
    const session = await ort.InferenceSession.create(g.toBytes({ opset: spec.opset }), options)
    return new FusedSampler(ort, session, spec.mode, spec.dim, spec.K, spec.M, spec.scheme ?? DEFAULT_BRIDGE_SCHEME)
  }

  get noiseSize(): number {
    return this.K * noisePerStep(this.mode, this.dim, this.M)
  }

  /**
   * K adapter steps for `batch` rows: returns frames [K, batch, d].
   * bridge: `grid` = τ (M+1 values); tied/clean: `grid` = [η, σ].
   */
  async run(x: Float32Array, batch: number, noise: Float32Array, grid: ArrayLike<number>): Promise<Float32Array> {
    const d = this.dim
    const T = this.ort.Tensor
    const feeds: Record<string, InstanceType<typeof T>> = {
      x: new T('float32', x.subarray(0, batch * d), [batch, d]),
      noise: new T('float32', noise.subarray(0, batch * this.noiseSize), [batch, this.noiseSize]),
    }
    if (this.mode === 'bridge') {
      if (grid.length !== this.M + 1) throw new RangeError(`fused sampler: τ grid has ${grid.length} values, expected M + 1 = ${this.M + 1}`)
      feeds.tau = new T('float32', Float32Array.from(grid), [this.M + 1])
    } else {
      feeds.eta = new T('float32', Float32Array.of(grid[0]!), [])
      feeds.sigma = new T('float32', Float32Array.of(grid[1]!), [])
    }
    const out = await this.session.run(feeds)
    return out.frames!.data as Float32Array
  }

  async dispose(): Promise<void> {
    await this.session.release()
  }
}

/**
 * Rigid-body models (bridge mode): re-aligns the `count` frames of `frames` (rows of d = 3N, e.g.
 * the K·B output frames of a fused call) to the model reference in place, as the step-by-step
 * sampler does after every adapter step. Carry the last K-th frames forward as the next state.
 */
export function realignFrames(frames: Float32Array, count: number, d: number, reference: Float32Array, aligner: Aligner = new Aligner(reference, d / 3)): void {
  if (d % 3 !== 0 || reference.length !== d) throw new RangeError(`realignFrames: d = ${d} must be 3N with a reference of that length`)
  for (let i = 0; i < count; i++) aligner.align(frames, i * d)
}
