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
 *           accepted[B]      bridge-mh only: accepted Metropolis steps so far (carried)
 *   outputs frames[S, B, d]  the state after the saved steps
 *           state[B, d]      the state after all K steps (the next call's x)
 *           rejectedOut[B], unstableOut[B] (, acceptedOut[B])   the carried counters after this call
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
 * bridge-mh (Metropolis-corrected, core/sampler/metropolis.ts; docs/sampler-integrators.md §3): the
 *   noising path a₀ = y, …, a_M = y + √(τ₀² − τ_M²)·ξ (a Brownian bridge from the step's w noise),
 *   the reverse path's scores s(a_{M−i}, τᵢ), the em down path (or the covariance kernel's, with
 *   spec.mhPreconditioner) from a_M to the proposal x', the path-probability log ratio summed in
 *   float32 per replica, the energies E(y, σ_min) and E(x', σ_min) from spec.energy, and the test
 *   Φ(u) < exp(ln α) with the step's last normal u: a Where keeps y for a rejected replica. Each
 *   term is written in the form without cancellation, e.g. (|d|² − |−d − h·s|²)/(2h) = −s·d − h|s|²/2.
 *   No superposition: alignment is not density-preserving, so bridge-mh never re-aligns.
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
import { DEFAULT_BRIDGE_SCHEME, isBridgeMode } from '../sampler/params'
import { EXPLOSION_LIMIT } from '../sampler/run-state'
import type { TrustRegion } from '../sampler/trust-region'
import { emitFinite, superposer, trustTester } from './graph-superpose'
import type { OrtTensor } from './runtime'
import type { MhPreconditioner } from '../sampler/metropolis'
import { noisePerStep as coreNoisePerStep } from '../sampler/adapter-step'

export type FusedMode = 'bridge' | 'bridge-mh' | 'tied' | 'clean'
export type FusedScheme = 'em' | 'tweedie'

/** why a sampler mode cannot be fused, or undefined when it can */
export function fusedRefusal(mode: string): string | undefined {
  if (mode !== 'bridge' && mode !== 'bridge-mh' && mode !== 'tied' && mode !== 'clean') return `the fused graph does not know mode ${mode}`
  return undefined
}

/** emits a score model into g: x[B, d] (Å), sigma[B] (Å) → score[B, d] (Å⁻¹); an energy emitter → energy[B] */
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
  /**
   * the score (and energy) emitters take sigma[1] for all rows: the σ-embedding is then computed
   * once per call instead of per replica (our own models, ModelContract.sharedSigma)
   */
  sharedSigma?: boolean
  /** bridge-mh: the model's energy E(x, σ) [B] (an energy model's `energy` output) */
  energy?: ScoreEmitter
  /** bridge-mh: the covariance down kernel's preconditioner (core/sampler/metropolis.ts); absent: em */
  mhPreconditioner?: MhPreconditioner
}

/** normals per adapter step and replica, the core sampler's layout (core/sampler/adapter-step.ts) */
export function noisePerStep(mode: FusedMode, d: number, M: number): number {
  return coreNoisePerStep(mode, d, M)
}

/** the per-replica counters a fused graph carries from call to call (inputs; outputs add 'Out') */
export function fusedCounters(mode: FusedMode): string[] {
  return mode === 'bridge-mh' ? ['rejected', 'unstable', 'accepted'] : ['rejected', 'unstable']
}

/** output names of a fused graph, e.g. for onnxruntime-web's preferredOutputLocation */
export function fusedOutputs(mode: FusedMode): string[] {
  return ['frames', 'state', ...fusedCounters(mode).map((c) => `${c}Out`)]
}

export function buildFusedSampler(spec: FusedSpec): Graph {
  const { mode, dim: d, K, M } = spec
  const refused = fusedRefusal(mode)
  if (refused) throw new Error(`fused sampler: ${refused}`)
  const mh = mode === 'bridge-mh'
  const bridge = isBridgeMode(mode)
  if (mh && spec.scheme !== undefined && spec.scheme !== 'em') throw new RangeError(`fused sampler: mode bridge-mh runs the em down path (got scheme ${spec.scheme})`)
  if (mh && !spec.energy) throw new RangeError('fused sampler: mode bridge-mh needs the model\'s energy (an energy model)')
  const tweedie = mode === 'bridge' && (spec.scheme ?? DEFAULT_BRIDGE_SCHEME) === 'tweedie'
  if (!(Number.isInteger(K) && K >= 1)) throw new RangeError(`fused sampler: K must be a whole number ≥ 1 (got ${K})`)
  if (bridge && !(Number.isInteger(M) && M >= 1)) throw new RangeError(`fused sampler: M must be a whole number ≥ 1 (got ${M})`)
  if (spec.reference && (mode !== 'bridge' || spec.reference.length !== d)) {
    throw new RangeError(`fused sampler: a superposition reference needs mode bridge and ${d} values (got mode ${mode}, ${spec.reference.length} values)`)
  }
  const pre = mh ? spec.mhPreconditioner : undefined
  if (pre && (pre.values.length !== d || pre.vectors.length !== d * d)) throw new RangeError(`fused sampler: the preconditioner needs ${d} eigenvalues and a ${d}×${d} eigenvector matrix`)
  const P = noisePerStep(mode, d, M)
  const g = new Graph(`fused-${mode}-K${K}`, 'float32')
  const B = spec.batch ?? 'B'
  const x0 = g.input('x', 'float32', [B, d])
  const noise = g.input('noise', 'float32', [B, K * P])
  const params: Tensor[] = []
  if (bridge) params.push(g.input('tau', 'float32', [M + 1]))
  else params.push(g.input('eta', 'float32', []), g.input('sigma', 'float32', []))
  const save = spec.saveAll ? undefined : g.input('save', 'int64', ['S'])
  const live = g.input('live', 'float32', [])
  const t0 = g.input('t0', 'float32', [])
  let rejected = g.input('rejected', 'float32', [B])
  let unstable = g.input('unstable', 'float32', [B])
  let accepted = mh ? g.input('accepted', 'float32', [B]) : undefined
  const batchShape = spec.batch ? g.int64s([spec.batch]) : g.slice(g.shapeOf(x0), [0], [1], [0])
  const sigmaOf = (s: Tensor): Tensor => (spec.sharedSigma ? g.reshape(s, [1]) : g.expand(g.reshape(s, [1]), batchShape, [B]))
  const noiseAt = (off: number, n = d): Tensor => g.slice(noise, [off], [off + n], [1])
  const frames: Tensor[] = []
  // the per-step rules' constants, once per graph
  const superpose = spec.reference ? superposer(g, spec.reference) : undefined
  const inTrust = spec.trustRegion ? trustTester(g, spec.trustRegion) : undefined
  // the core sampler's rules after an adapter step k from y to `next`; `acc` [B]: 1 where bridge-mh accepted
  const finish = (k: number, y: Tensor, next: Tensor, acc?: Tensor): Tensor => {
    let x = superpose ? superpose(next) : next
    const isLive = g.less(g.scalar(k, 'float32'), live)
    const liveK = g.cast(isLive, 'float32')
    let counts = acc ? g.mul(acc, liveK) : undefined
    if (spec.trustRegion) {
      const inside = inTrust!(x) // [B, 1]
      x = g.where(inside, x, y)
      const insideF = g.reshape(g.cast(inside, 'float32'), [-1])
      rejected = g.add(rejected, g.mul(g.sub(1, insideF), liveK))
      // a step the trust region rejects is not an accepted Metropolis step (as run-state counts)
      if (counts) counts = g.mul(counts, insideF)
    } else {
      const bad = g.mul(g.sub(1, emitFinite(g, x, EXPLOSION_LIMIT)), liveK)
      const first = g.mul(g.cast(g.lessOrEqual(unstable, 0), 'float32'), bad)
      unstable = g.add(unstable, g.mul(first, g.add(t0, k + 1)))
    }
    if (counts) accepted = g.add(accepted!, counts)
    if (k > 0) x = g.where(isLive, x, y) // steps past `live` leave the state as it was (a call may end early at a checkpoint)
    frames.push(x)
    return x
  }
  let y = x0
  if (bridge) {
    const tau = params[0]!
    const t = Array.from({ length: M + 1 }, (_, i) => g.reshape(g.slice(tau, [i], [i + 1], [0]), []))
    const t2 = t.map((ti) => g.mul(ti, ti))
    const c0 = g.sqrt(g.sub(t2[0]!, t2[M]!))
    const h = Array.from({ length: M }, (_, i) => g.sub(t2[i]!, t2[i + 1]!))
    const gh = h.map((hi) => g.sqrt(hi))
    const sig = t.slice(0, M).map(sigmaOf)
    const mhStep = mh ? metropolisStep(g, spec, { t2, h, gh, c0, sig, sigMin: sigmaOf(t[M]!), noiseAt, P }) : undefined
    for (let k = 0; k < K; k++) {
      if (mhStep) {
        const { next, acc } = mhStep(k, y)
        y = finish(k, y, next, acc)
        continue
      }
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
  if (accepted) g.output(accepted, 'acceptedOut')
  return g
}

interface MhParts {
  /** τᵢ² (i = 0 … M), hᵢ = τᵢ² − τᵢ₊₁², √hᵢ, c₀ = √(τ₀² − τ_M²) */
  t2: Tensor[]
  h: Tensor[]
  gh: Tensor[]
  c0: Tensor
  /** τᵢ and σ_min, expanded to [B] */
  sig: Tensor[]
  sigMin: Tensor
  noiseAt: (off: number, n?: number) => Tensor
  P: number
}

/**
 * The Metropolis-corrected bridge step (mode bridge-mh) in the graph: returns, for adapter step k
 * from y [B, d], the next state (the proposal where accepted, else y) and acc [B] (1 accepted, 0
 * not). Noise of step k (core/sampler/adapter-step.ts): ξ, z₀ … z_{M−1}, w₀ … w_{M−2}, u.
 */
function metropolisStep(g: Graph, spec: FusedSpec, parts: MhParts): (k: number, y: Tensor) => { next: Tensor; acc: Tensor } {
  const { dim: d, M } = spec
  const { t2, h, gh, c0, sig, sigMin, noiseAt, P } = parts
  const energy = spec.energy!
  // the Brownian bridge of the noising path: from a_j (level τ_{M−j}) one step up, given a_M
  const bw: Tensor[] = []
  const bs: Tensor[] = []
  for (let j = 0; j < M - 1; j++) {
    const hu = h[M - j - 1]!
    const Rj = g.sub(t2[0]!, t2[M - j]!)
    bw.push(g.div(hu, Rj))
    bs.push(g.sqrt(g.div(g.mul(hu, g.sub(Rj, hu)), Rj)))
  }
  // the covariance kernel: Q, Qᵀ and per step i the mode variances cᵢₖ = hᵢ(λₖ + τᵢ₊₁²)/(λₖ + τᵢ²)
  const pre = spec.mhPreconditioner
  let Q: Tensor | undefined
  let Qt: Tensor | undefined
  const sqrtC: Tensor[] = []
  const invC: Tensor[] = []
  if (pre) {
    const qt = new Float32Array(d * d)
    for (let j = 0; j < d; j++) for (let k = 0; k < d; k++) qt[k * d + j] = pre.vectors[j * d + k]!
    Q = g.constant(Float32Array.from(pre.vectors), [d, d])
    Qt = g.constant(qt, [d, d])
    const lam = g.constant(Float32Array.from(pre.values, (v) => Math.max(0, v)), [d])
    for (let i = 0; i < M; i++) {
      const c = g.div(g.mul(h[i]!, g.add(lam, t2[i + 1]!)), g.add(lam, t2[i]!))
      sqrtC.push(g.sqrt(c))
      invC.push(g.reciprocal(c))
    }
  }
  const rows = (x: Tensor): Tensor => g.reduceSum(x, [1], true) // [B, d] → [B, 1]
  const half = g.scalar(0.5, 'float32')
  const wOff = d * (1 + M)
  return (k, y) => {
    const base = k * P
    const aM = g.add(y, g.mul(noiseAt(base), c0))
    const a: Tensor[] = [y]
    for (let j = 0; j < M - 1; j++) {
      const prev = a[j]!
      a.push(g.add(g.add(prev, g.mul(g.sub(aM, prev), bw[j]!)), g.mul(noiseAt(base + wOff + j * d), bs[j]!)))
    }
    a.push(aM)
    let logr: Tensor | undefined
    const term = (v: Tensor): void => {
      logr = logr ? g.add(logr, v) : v
    }
    // the reverse path: + |dᵢ|²/(2hᵢ) − |rᵢ|²_{Cᵢ}/2 with dᵢ = a_{M−i} − a_{M−i−1}, rᵢ = −dᵢ − hᵢ·s(a_{M−i}, τᵢ)
    for (let i = 0; i < M; i++) {
      const upper = a[M - i]!
      const s = spec.score(g, upper, sig[i]!)
      const diff = g.sub(upper, a[M - i - 1]!)
      if (pre) {
        const p = g.matmul(g.neg(g.add(diff, g.mul(s, h[i]!))), Q!)
        term(g.sub(g.div(rows(g.mul(diff, diff)), g.mul(h[i]!, 2)), g.mul(rows(g.mul(g.mul(p, p), invC[i]!)), half)))
      } else term(g.neg(g.add(rows(g.mul(s, diff)), g.mul(rows(g.mul(s, s)), g.mul(h[i]!, half)))))
    }
    // the down path from a_M: − |b' − b|²/(2hᵢ) + |b' − b − hᵢs|²_{Cᵢ}/2, the residual being the step's own noise
    let b = aM
    for (let i = 0; i < M; i++) {
      const s = spec.score(g, b, sig[i]!)
      const z = noiseAt(base + (1 + i) * d)
      const hs = g.mul(s, h[i]!)
      if (pre) {
        const v = g.matmul(g.mul(z, sqrtC[i]!), Qt!)
        const step = g.add(hs, v)
        term(g.sub(g.mul(rows(g.mul(z, z)), half), g.div(rows(g.mul(step, step)), g.mul(h[i]!, 2))))
        b = g.add(g.add(b, hs), v)
      } else {
        const v = g.mul(z, gh[i]!)
        term(g.neg(g.add(rows(g.mul(s, v)), g.mul(rows(g.mul(s, s)), g.mul(h[i]!, half)))))
        b = g.add(g.add(b, hs), v)
      }
    }
    const ey = g.reshape(energy(g, y, sigMin), [-1, 1])
    const ex = g.reshape(energy(g, b, sigMin), [-1, 1])
    const logAlpha = g.add(logr!, g.sub(ey, ex)) // [B, 1]
    // Φ(u) < α, with Φ(u) = (1 + erf(u/√2))/2: false for a NaN ratio (a non-finite proposal), as the core's test
    const u = noiseAt(base + P - 1, 1)
    const phi = g.mul(g.add(g.emit('Erf', [g.mul(u, Math.SQRT1_2)], 'float32', u.shape), 1), half)
    const acc = g.less(phi, g.exp(logAlpha)) // [B, 1]
    return { next: g.where(acc, b, y), acc: g.reshape(g.cast(acc, 'float32'), [-1]) }
  }
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
export function onnxEmitter(model: ModelData | Uint8Array): { emit: ScoreEmitter; opset: number; energy?: ScoreEmitter; sharedSigma: boolean } {
  const inlined = inlineOnnx(model, 'm/', 'fused sampler')
  const energy: ScoreEmitter | undefined = inlined.outputs.includes('energy') ? (g, x, sigma) => inlined.emit(g, x, sigma).get('energy')! : undefined
  return { emit: (g, x, sigma) => inlined.emit(g, x, sigma).get('score')!, opset: inlined.opset, sharedSigma: inlined.sharedSigma, ...(energy ? { energy } : {}) }
}

/** what a fused call carries to the next: the state and the per-replica counters (on the device when the session keeps outputs there) */
export interface FusedCarry {
  x: OrtTensor
  rejected: OrtTensor
  unstable: OrtTensor
  /** bridge-mh: accepted Metropolis steps */
  accepted?: OrtTensor
}

/** the carry's tensors (to dispose) */
function carried(c: FusedCarry): OrtTensor[] {
  return c.accepted ? [c.x, c.rejected, c.unstable, c.accepted] : [c.x, c.rejected, c.unstable]
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
  /** bridge-mh: accepted Metropolis steps per replica since the last reset */
  accepted(): Promise<Float32Array>
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
    if (isBridgeMode(this.mode)) {
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
    return { x: new this.ort.Tensor('float32', Float32Array.from(x.subarray(0, batch * this.dim)), [batch, this.dim]), ...this.zeroCounters(batch) }
  }

  /** zero counters for `batch` replicas */
  zeroCounters(batch: number): Omit<FusedCarry, 'x'> {
    const T = this.ort.Tensor
    const zero = (): OrtTensor => new T('float32', new Float32Array(batch), [batch])
    return { rejected: zero(), unstable: zero(), ...(this.mode === 'bridge-mh' ? { accepted: zero() } : {}) }
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
      ...(carry.accepted ? { accepted: carry.accepted } : {}),
    }
    const out = await this.session.run(feeds)
    return { frames: out.frames!, carry: { x: out.state!, rejected: out.rejectedOut!, unstable: out.unstableOut!, ...(out.acceptedOut ? { accepted: out.acceptedOut } : {}) } }
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
        for (const t of [...carried(carry), last]) drop(t)
        carry = res.carry
        last = res.frames
      },
      frames: async (save) => {
        const all = (await last!.getData()) as Float32Array
        return this.saveAll ? pickSteps(all, save, batch * this.dim) : all
      },
      rejected: async () => (await carry.rejected.getData()) as Float32Array,
      unstable: async () => (await carry.unstable.getData()) as Float32Array,
      accepted: async () => {
        if (!carry.accepted) throw new Error(`fused sampler: mode ${this.mode} counts no Metropolis steps`)
        return (await carry.accepted.getData()) as Float32Array
      },
      resetCounters: async () => {
        for (const t of carried(carry)) if (t !== carry.x) t.dispose()
        carry = { x: carry.x, ...this.zeroCounters(batch) }
      },
      dispose: () => {
        for (const t of [...carried(carry), last]) drop(t)
      },
    }
  }

  /** K adapter steps for `batch` rows from x on the host: returns all K frames [K, batch, d] */
  async run(x: Float32Array, batch: number, noise: Float32Array, grid: ArrayLike<number>): Promise<Float32Array> {
    const carry = this.carryOf(x, batch)
    const res = await this.advance(carry, noise, grid, Array.from({ length: this.K }, (_, k) => k), this.K, 0)
    const frames = (await res.frames.getData(true)) as Float32Array
    for (const t of [...carried(res.carry), ...carried(carry)]) t.dispose()
    return frames
  }

  async dispose(): Promise<void> {
    await this.session.release()
  }
}
