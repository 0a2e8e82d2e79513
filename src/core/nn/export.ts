/**
 * The exported model: inputs x[B, d] (Å) and sigma[B] (Å) → score[B, d] (Å⁻¹), plus energy[B]
 * (dimensionless, s = −∇ₓE) for energy models. The normalisation u = (x − mean)/σ_data,
 * σₙ = σ/σ_data is inside the graph, so a user of the file needs nothing but the contract.
 */
import { Graph, type Tensor } from './graph'
import { networkNormalised, paramDefs, type ArchConfig, type Params } from './arch'

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
  const sigma = g.input('sigma', 'float32', ['B'])
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
