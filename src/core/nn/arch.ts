/**
 * The two architectures (docs/science.md "Training"), written over the graph builder so the same code makes
 * the exported model, the training loss and (through autodiff) its gradients.
 *
 * Everything here works in NORMALISED units: u = (x − mean)/σ_data, σₙ = σ/σ_data, so the data
 * have unit RMS σ_d = 1 and the EDM preconditioning is
 *   c_in = 1/√(σₙ²+1), c_skip = 1/(σₙ²+1), c_out = σₙ/√(σₙ²+1), c_noise = ln(σₙ)/4,
 *   D = c_skip·u + c_out·F(c_in·u, c_noise),  sₙ = (D − u)/σₙ².
 * The exported graph (export.ts) wraps this with the Å ↔ normalised conversion.
 *
 * Trunk (both archs): emb = [sin(ω_k c_noise), cos(ω_k c_noise)] with fixed ω_k geometric in
 * [0.5, 32] (embDim/2 of them); h₁ = SiLU(v W₁ + emb E₁ + b₁), h_l = SiLU(h_{l−1} W_l + emb E_l + b_l)
 * for l = 2…depth (the σ embedding enters every hidden layer).
 * - score-mlp: F = h_depth W_o + b_o (W_o = 0 at init, so the untrained model is the exact score of
 *   a unit Gaussian).
 * - energy-mlp: scalar Φ(v, c_noise) = h_depth·w_o + b_o and F = −∇_vΦ. Then
 *   Eₙ(u, σₙ) = |u|²/(2(σₙ²+1)) + Φ(c_in u, c_noise)/σₙ  has  sₙ = −∇_u Eₙ exactly
 *   (c_out/(c_in σₙ²) = 1/σₙ with σ_d = 1).
 */
import { fillNormals } from '../rng/normals'
import type { Graph, Tensor } from './graph'

export type ArchName = 'score-mlp' | 'energy-mlp'
export const ARCH_NAMES: readonly ArchName[] = ['score-mlp', 'energy-mlp']

export interface ArchConfig {
  arch: ArchName
  /** d, the number of coordinates */
  dim: number
  width: number
  depth: number
  /** size of the Fourier σ-embedding (even) */
  embDim: number
  /**
   * how the network's output is scaled with σ (docs/training.md): 'edm' (default) k(σₙ) = 1/σₙ,
   * the EDM c_out, so the score correction is F/σₙ and the network must shrink like σₙ as σ → 0;
   * 'bounded' k(σₙ) = c_in = 1/√(σₙ²+1): the same at large σ, O(1) at small σ, so the small-σ
   * score is an O(1) output of the network that is continuous in σ.
   */
  head?: HeadScale
}

export type HeadScale = 'edm' | 'bounded'
export const HEAD_SCALES: readonly HeadScale[] = ['edm', 'bounded']

export const DEFAULT_ARCH = { width: 256, depth: 3, embDim: 32 } as const
export const OMEGA_MIN = 0.5
export const OMEGA_MAX = 32

export interface ParamDef {
  name: string
  shape: number[]
  /** 'lecun': N(0, 1/fanIn); 'zeros' */
  init: 'lecun' | 'zeros'
  fanIn: number
}

export function checkArch(cfg: ArchConfig): void {
  if (!(cfg.dim >= 1 && Number.isInteger(cfg.dim))) throw new RangeError(`arch: dim must be a positive integer (got ${cfg.dim})`)
  if (!(cfg.width >= 1 && Number.isInteger(cfg.width))) throw new RangeError(`arch: width must be a positive integer (got ${cfg.width})`)
  if (!(cfg.depth >= 1 && Number.isInteger(cfg.depth))) throw new RangeError(`arch: depth must be a positive integer (got ${cfg.depth})`)
  if (!(cfg.embDim >= 2 && cfg.embDim % 2 === 0)) throw new RangeError(`arch: embDim must be an even number ≥ 2 (got ${cfg.embDim})`)
  if (!ARCH_NAMES.includes(cfg.arch)) throw new RangeError(`arch: unknown architecture '${cfg.arch}'`)
  if (cfg.head !== undefined && !HEAD_SCALES.includes(cfg.head)) throw new RangeError(`arch: unknown head scaling '${cfg.head}' (edm or bounded)`)
}

export function paramDefs(cfg: ArchConfig): ParamDef[] {
  checkArch(cfg)
  const defs: ParamDef[] = []
  for (let l = 1; l <= cfg.depth; l++) {
    const fanIn = l === 1 ? cfg.dim : cfg.width
    defs.push({ name: `w${l}`, shape: [fanIn, cfg.width], init: 'lecun', fanIn })
    defs.push({ name: `e${l}`, shape: [cfg.embDim, cfg.width], init: 'lecun', fanIn: cfg.embDim })
    defs.push({ name: `b${l}`, shape: [cfg.width], init: 'zeros', fanIn: 1 })
  }
  const outDim = cfg.arch === 'score-mlp' ? cfg.dim : 1
  defs.push({ name: 'wo', shape: [cfg.width, outDim], init: 'zeros', fanIn: cfg.width })
  defs.push({ name: 'bo', shape: [outDim], init: 'zeros', fanIn: 1 })
  return defs
}

export function paramCount(cfg: ArchConfig): number {
  return paramDefs(cfg).reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0)
}

/** initial parameters, a pure function of (cfg, seed) (normals of streams 1000 + parameter index) */
export function initParams(cfg: ArchConfig, seed: number): Float32Array[] {
  return paramDefs(cfg).map((p, i) => {
    const a = new Float32Array(p.shape.reduce((x, y) => x * y, 1))
    if (p.init === 'lecun') {
      fillNormals(a, seed, 1000 + i, 0)
      const s = 1 / Math.sqrt(p.fanIn)
      for (let k = 0; k < a.length; k++) a[k]! *= s
    }
    return a
  })
}

export function omegas(embDim: number): number[] {
  const n = embDim / 2
  if (n === 1) return [OMEGA_MIN]
  return Array.from({ length: n }, (_, k) => OMEGA_MIN * Math.pow(OMEGA_MAX / OMEGA_MIN, k / (n - 1)))
}

export type Params = Record<string, Tensor>

function param(P: Params, name: string): Tensor {
  const t = P[name]
  if (!t) throw new Error(`arch: parameter ${name} missing`)
  return t
}

export interface Precond {
  /** all [B, 1] so they broadcast over coordinates */
  cIn: Tensor
  cNoise: Tensor
  /** 1/(σₙ²+1) */
  invS2p1: Tensor
  sn: Tensor
}

/** preconditioning factors from σₙ [B] */
export function precond(g: Graph, sn: Tensor): Precond {
  const s = g.unsqueeze(sn, [1])
  const s2p1 = g.add(g.mul(s, s), 1)
  return { cIn: g.reciprocal(g.sqrt(s2p1)), cNoise: g.mul(g.log(s), 0.25), invS2p1: g.reciprocal(s2p1), sn: s }
}

/** one hidden layer: pre-activation, σ(pre) and h = pre·σ(pre) (SiLU) */
interface TrunkLayer {
  s: Tensor
  h: Tensor
}

/** the hidden layers of v [B, d] at c_noise [B, 1]; the last one's h [B, width] is the trunk's output */
function trunkLayers(g: Graph, cfg: ArchConfig, P: Params, v: Tensor, cNoise: Tensor): TrunkLayer[] {
  const om = g.constant(omegas(cfg.embDim), [1, cfg.embDim / 2], v.dtype as 'float32' | 'float64')
  const ph = g.mul(cNoise, om)
  const emb = g.concat([g.sin(ph), g.cos(ph)], 1)
  const layers: TrunkLayer[] = []
  let h = v
  for (let l = 1; l <= cfg.depth; l++) {
    // h·W + (emb·E + b), each written as one Gemm, so neither the bias nor the embedding costs a
    // pass of its own over [B, width] (docs/speed.md "The energy model's gradient").
    // When every row shares one σ, c_noise is [1, 1], emb·E + b is one row, and the σ-embedding
    // costs nothing per row (docs/speed.md "One σ for the whole batch").
    const pre = g.gemm(h, param(P, `w${l}`), g.gemm(emb, param(P, `e${l}`), param(P, `b${l}`)))
    const s = g.sigmoid(pre)
    h = g.mul(pre, s) // SiLU, the same two nodes as g.silu
    layers.push({ s, h })
  }
  return layers
}

/** hidden features h [B, width] of v [B, d] at c_noise [B, 1] */
export function trunk(g: Graph, cfg: ArchConfig, P: Params, v: Tensor, cNoise: Tensor): Tensor {
  return trunkLayers(g, cfg, P, v, cNoise).at(-1)!.h
}

/**
 * ∇_v Σ_b Φ_b of Φ = h_L·w_o + b_o, written out layer by layer instead of by generic autodiff
 * (docs/speed.md "The energy model's gradient"). Per layer: SiLU'(pre) = σ + h(1 − σ) (three
 * elementwise nodes, from the forward's σ and h), one product with the incoming gradient and one
 * MatMul with w_lᵀ. The incoming gradient of the top layer is the row w_oᵀ [1, width], broadcast:
 * autodiff of the sum made it by a [B, 1] @ [1, width] MatMul of ones, and wrote SiLU' as five
 * nodes. The same numbers up to rounding (tests/unit/nn/arch.test.ts checks both against each
 * other and against finite differences); every node is differentiable, so the training loss and
 * the consistency term differentiate through it as before.
 */
function potentialGrad(g: Graph, cfg: ArchConfig, P: Params, layers: TrunkLayer[]): Tensor {
  let gy = g.transpose(param(P, 'wo'), [1, 0]) // [1, width]
  for (let l = cfg.depth; l >= 1; l--) {
    const { s, h } = layers[l - 1]!
    const dAct = g.add(s, g.mul(h, g.sub(1, s)))
    gy = g.matmul(g.mul(gy, dAct), g.transpose(param(P, `w${l}`), [1, 0]))
  }
  return gy
}

export interface NormalisedOutputs {
  /** σₙ·sₙ(u, σₙ), [B, d] — the score scaled so that it is O(1) at every σ */
  snScore: Tensor
  /** sₙ, [B, d] */
  score: Tensor
  /** Eₙ, [B] (energy-mlp only) */
  energy?: Tensor
  /** F, [B, d] (score-mlp only): the loss is written in terms of it */
  F?: Tensor
}

function potentialPhi(g: Graph, P: Params, h: Tensor): Tensor {
  return g.squeeze(g.add(g.matmul(h, param(P, 'wo')), param(P, 'bo')), [1]) // [B]
}

/**
 * Eₙ(u, σₙ) = |u|²/(2(σₙ²+1)) + Φ(c_in u, c_noise)/σₙ of an energy-mlp, [B], without the score
 * (the consistency term differentiates it itself: docs/training.md).
 */
export function energyNormalised(g: Graph, cfg: ArchConfig, P: Params, u: Tensor, sn: Tensor): Tensor {
  if (cfg.arch !== 'energy-mlp') throw new Error(`arch: ${cfg.arch} has no energy`)
  const pc = precond(g, sn)
  const phi = potentialPhi(g, P, trunk(g, cfg, P, g.mul(u, pc.cIn), pc.cNoise))
  const gaussE = g.mul(g.reduceSum(g.mul(u, u), [1]), g.mul(g.squeeze(pc.invS2p1, [1]), 0.5))
  if (cfg.head === 'bounded') return g.add(gaussE, g.mul(phi, g.squeeze(pc.cIn, [1])))
  return g.add(gaussE, g.div(phi, g.squeeze(pc.sn, [1])))
}

/** the network in normalised units: u [B, d], σₙ [B] */
export function networkNormalised(g: Graph, cfg: ArchConfig, P: Params, u: Tensor, sn: Tensor): NormalisedOutputs {
  const pc = precond(g, sn)
  const v = g.mul(u, pc.cIn)
  const layers = trunkLayers(g, cfg, P, v, pc.cNoise)
  const h = layers.at(-1)!.h
  // common term: the unit-Gaussian score −u/(σₙ²+1)
  const gauss = g.neg(g.mul(u, pc.invS2p1))
  const bounded = cfg.head === 'bounded'
  if (cfg.arch === 'score-mlp') {
    const F = g.add(g.matmul(h, param(P, 'wo')), param(P, 'bo'))
    if (bounded) {
      // sₙ = −u/(σₙ²+1) + c_in² F
      const cF = g.mul(F, g.mul(pc.cIn, pc.cIn))
      return { snScore: g.mul(g.add(gauss, cF), pc.sn), score: g.add(gauss, cF) }
    }
    // σₙ sₙ = −σₙ u/(σₙ²+1) + c_in F   (= (c_skip u + c_out F − u)/σₙ, no cancellation)
    const snScore = g.add(g.mul(gauss, pc.sn), g.mul(F, pc.cIn))
    const score = g.add(gauss, g.div(g.mul(F, pc.cIn), pc.sn))
    return { snScore, score, F }
  }
  const phi = potentialPhi(g, P, h)
  const gradPhi = potentialGrad(g, cfg, P, layers)
  if (bounded) {
    // Eₙ = |u|²/(2(σₙ²+1)) + c_in Φ(c_in u, c_noise),  sₙ = −u/(σₙ²+1) − c_in² ∇_vΦ
    const score = g.sub(gauss, g.mul(gradPhi, g.mul(pc.cIn, pc.cIn)))
    const gaussE = g.mul(g.reduceSum(g.mul(u, u), [1]), g.mul(g.squeeze(pc.invS2p1, [1]), 0.5))
    return { snScore: g.mul(score, pc.sn), score, energy: g.add(gaussE, g.mul(phi, g.squeeze(pc.cIn, [1]))) }
  }
  // sₙ = −u/(σₙ²+1) − (c_in/σₙ) ∇_vΦ
  const cg = g.mul(gradPhi, pc.cIn)
  const snScore = g.sub(g.mul(gauss, pc.sn), cg)
  const score = g.sub(gauss, g.div(cg, pc.sn))
  const snFlat = g.squeeze(pc.sn, [1])
  const energy = g.add(g.mul(g.reduceSum(g.mul(u, u), [1]), g.mul(g.squeeze(pc.invS2p1, [1]), 0.5)), g.div(phi, snFlat))
  return { snScore, score, energy }
}

/**
 * EDM loss per sample, λ(σ)|D(u, σ) − u₀|²/d with λ = (σₙ²+1)/σₙ² and u = u₀ + σₙ·n:
 *   = (σₙ²+1)·|n + σₙ sₙ(u)|²/d   (written without cancellation; equal for both archs).
 * For score-mlp it is computed as |F − (σₙ u₀ − n)/√(σₙ²+1)|²/d, the same number.
 */
export function lossPerSample(g: Graph, cfg: ArchConfig, P: Params, u0: Tensor, noise: Tensor, sn: Tensor): Tensor {
  const s = g.unsqueeze(sn, [1])
  const u = g.add(u0, g.mul(noise, s))
  const out = networkNormalised(g, cfg, P, u, sn)
  let r: Tensor
  if (out.F) {
    const s2p1 = g.add(g.mul(s, s), 1)
    const target = g.div(g.sub(g.mul(u0, s), noise), g.sqrt(s2p1))
    r = g.sub(out.F, target)
    return g.reduceMean(g.mul(r, r), [1])
  }
  r = g.add(noise, out.snScore)
  const s2p1 = g.add(g.mul(sn, sn), 1)
  return g.mul(g.reduceMean(g.mul(r, r), [1]), s2p1)
}
