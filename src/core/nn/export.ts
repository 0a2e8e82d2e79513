/**
 * The exported model: inputs x[B, d] (Å) and sigma[B] or sigma[1] (Å) → score[B, d] (Å⁻¹), plus energy[B]
 * (dimensionless, s = −∇ₓE) for energy models. The normalisation u = (x − mean)/σ_data,
 * σₙ = σ/σ_data is inside the graph, so a user of the file needs nothing but the contract.
 */
import { Graph, type Tensor } from './graph'
import { networkNormalised, paramDefs, type ArchConfig, type Params } from './arch'
import { decodeModel } from './onnx-proto'
import { SIGMA_DIM } from '../score/onnx-score'

export interface NormStats {
  /** mean structure (Å), length d */
  mean: Float32Array
  /** σ_data (Å) */
  sigmaData: number
}

export const MODEL_INPUTS = ['x', 'sigma'] as const

/** emits the model (Å in, Å⁻¹ out) into g; params are tensors of g (initializers or inputs) */
export function scoreInGraph(g: Graph, cfg: ArchConfig, P: Params, stats: NormStats, x: Tensor, sigma: Tensor): { score: Tensor; energy?: Tensor } {
  if (stats.mean.length !== cfg.dim) throw new RangeError(`export: mean has ${stats.mean.length} values, d = ${cfg.dim}`)
  if (!(stats.sigmaData > 0)) throw new RangeError(`export: σ_data must be positive (got ${stats.sigmaData})`)
  const dt = x.dtype as 'float32' | 'float64'
  const inv = 1 / stats.sigmaData
  const mean = g.constant(stats.mean, [cfg.dim], dt)
  const u = g.mul(g.sub(x, mean), g.scalar(inv, dt))
  const sn = g.mul(sigma, g.scalar(inv, dt))
  const out = networkNormalised(g, cfg, P, u, sn)
  return { score: g.mul(out.score, g.scalar(inv, dt)), energy: out.energy }
}

/** parameters as initializers of g (float32), named by paramDefs */
export function paramInitializers(g: Graph, cfg: ArchConfig, params: Float32Array[], prefix = ''): Params {
  const defs = paramDefs(cfg)
  if (params.length !== defs.length) throw new RangeError(`export: ${params.length} parameter arrays for ${defs.length} parameters`)
  const P: Params = {}
  defs.forEach((d, i) => {
    P[d.name] = g.initializer(prefix + d.name, 'float32', d.shape, params[i]!)
  })
  return P
}

/** the model graph (float32) with its parameters baked in */
export function buildModelGraph(cfg: ArchConfig, params: Float32Array[], stats: NormStats): Graph {
  const g = new Graph(cfg.arch, 'float32')
  const x = g.input('x', 'float32', ['B', cfg.dim])
  const sigma = g.input('sigma', 'float32', [SIGMA_DIM])
  const P = paramInitializers(g, cfg, params)
  const out = scoreInGraph(g, cfg, P, stats, x, sigma)
  g.output(out.score, 'score')
  if (out.energy) g.output(out.energy, 'energy')
  return g
}

export function exportModelBytes(cfg: ArchConfig, params: Float32Array[], stats: NormStats, opts: { producerVersion?: string; metadata?: Record<string, string> } = {}): Uint8Array {
  return buildModelGraph(cfg, params, stats).toBytes({
    producerVersion: opts.producerVersion,
    metadata: opts.metadata,
    docString: `DiffMD Studio ${cfg.arch} (d=${cfg.dim}, width ${cfg.width}, depth ${cfg.depth}): x[B,d] Å, sigma[B] Å → score[B,d] Å⁻¹${cfg.arch === 'energy-mlp' ? ', energy[B]' : ''}`,
  })
}

/**
 * The same model written by this version's export: its float32 weights read back from an exported
 * file by parameter name, and the graph built anew. A model exported before a change to the graph
 * (docs/speed.md "The energy model's gradient") gets the change, with the same weights; its outputs
 * agree with the old file's to float32 rounding. Refuses a file whose weights do not fit `cfg`.
 */
export function rebuildModelBytes(bytes: Uint8Array, cfg: ArchConfig, stats: NormStats, opts: { producerVersion?: string; metadata?: Record<string, string> } = {}): Uint8Array {
  const inits = new Map(decodeModel(bytes).graph.initializers.map((t) => [t.name, t]))
  const params = paramDefs(cfg).map((d) => {
    const t = inits.get(d.name)
    const n = d.shape.reduce((a, b) => a * b, 1)
    if (!t || t.dtype !== 'float32' || t.raw.byteLength !== 4 * n) {
      throw new RangeError(`rebuild: the model has no float32 weight ${d.name} of shape [${d.shape.join(', ')}]; is its card's architecture right?`)
    }
    return new Float32Array(t.raw.slice().buffer)
  })
  return exportModelBytes(cfg, params, stats, opts)
}
