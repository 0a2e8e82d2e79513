/**
 * The training graphs (docs/science.md "Training"): ONE train-step graph holding the EDM loss, its gradients
 * (autodiff; second derivatives for energy models) and the Adam update, and an evaluation graph
 * (loss per sample, for validation). Parameters and Adam moments are graph inputs and the updated
 * values graph outputs, so the host feeds them back each step and can checkpoint them.
 *
 * Adam with bias correction folded into the two scalar inputs (exactly Kingma & Ba's update):
 *   m ← β₁m + (1−β₁)g,  v ← β₂v + (1−β₂)g²,  p ← p − lr_t·m/(√v + ε_t)
 *   lr_t = lr·√(1−β₂ᵗ)/(1−β₁ᵗ),  ε_t = ε·√(1−β₂ᵗ).
 * Optional global-norm gradient clipping: g ← g·c/max(|g|, c).
 */
import { Graph, type Tensor } from './graph'
import { gradients } from './autodiff'
import { energyNormalised, lossPerSample, paramDefs, type ArchConfig, type Params } from './arch'
import { centredPenalty, centredProductPenalty, heatResidual, heatResiduals, type ConsistencyConfig } from './consistency'

export interface AdamConfig {
  beta1: number
  beta2: number
  eps: number
  /** global gradient-norm clip (0 = off) */
  gradClip: number
}

export const DEFAULT_ADAM: AdamConfig = { beta1: 0.9, beta2: 0.999, eps: 1e-8, gradClip: 0 }

export const pName = (n: string): string => `p.${n}`
export const mName = (n: string): string => `m.${n}`
export const vName = (n: string): string => `v.${n}`
export const next = (n: string): string => `${n}.next`

/** Adam-time scalars for step t (1-based) */
export function adamScalars(adam: AdamConfig, lr: number, t: number): { lr: number; eps: number } {
  const c2 = Math.sqrt(1 - Math.pow(adam.beta2, t))
  return { lr: (lr * c2) / (1 - Math.pow(adam.beta1, t)), eps: adam.eps * c2 }
}

function batchInputs(g: Graph, cfg: ArchConfig): { u0: Tensor; noise: Tensor; sn: Tensor; P: Params; ps: Tensor[] } {
  const u0 = g.input('u0', g.float, ['B', cfg.dim])
  const noise = g.input('noise', g.float, ['B', cfg.dim])
  const sn = g.input('sn', g.float, ['B'])
  const P: Params = {}
  const ps = paramDefs(cfg).map((p) => (P[p.name] = g.input(pName(p.name), g.float, p.shape)))
  return { u0, noise, sn, P, ps }
}

/** true when the train step carries the consistency term (energy models with weight > 0) */
export function usesConsistency(cfg: ArchConfig, c?: ConsistencyConfig): c is ConsistencyConfig {
  return cfg.arch === 'energy-mlp' && !!c && c.weight > 0
}

/**
 * The consistency penalty of an energy model on its own batch: uc[Bc,d] (noisy normalised points,
 * G groups of K consecutive rows sharing one σ), snc[Bc], vc[Bc,d] (Rademacher probes) → scalar.
 */
export function consistencyTerm(g: Graph, cfg: ArchConfig, P: Params, uc: Tensor, snc: Tensor, vc: Tensor, groupSize: number, vc2?: Tensor, wc?: Tensor): Tensor {
  const energy = (u: Tensor, s: Tensor): Tensor => energyNormalised(g, cfg, P, u, s)
  if (vc2 === undefined) {
    const { r } = heatResidual(g, energy, uc, snc, vc)
    return centredPenalty(g, r, groupSize, cfg.dim, wc)
  }
  const [a, b] = heatResiduals(g, energy, uc, snc, [vc, vc2])
  return centredProductPenalty(g, a!.r, b!.r, groupSize, cfg.dim, wc)
}

/**
 * Inputs: u0[B,d] (normalised data), noise[B,d], sn[B] (σ/σ_data), lr[], eps[], p.*, m.*, v.*,
 * and with the consistency term uc[Bc,d], snc[Bc], vc[Bc,d] (and vc2[Bc,d] with two probes, wc[G]
 * with off-data points).
 * Outputs: loss[] (batch mean of the total), dsm[] (its EDM part), cons[] (the unweighted
 * consistency penalty, 0 without it), gradNorm[], p.*.next, m.*.next, v.*.next.
 */
export function buildTrainStepGraph(cfg: ArchConfig, adam: AdamConfig = DEFAULT_ADAM, float: 'float32' | 'float64' = 'float32', consistency?: ConsistencyConfig): Graph {
  const g = new Graph(`${cfg.arch}-train-step`, float)
  const { u0, noise, sn, P, ps } = batchInputs(g, cfg)
  const lr = g.input('lr', float, [])
  const eps = g.input('eps', float, [])
  const defs = paramDefs(cfg)
  const ms = defs.map((p) => g.input(mName(p.name), float, p.shape))
  const vs = defs.map((p) => g.input(vName(p.name), float, p.shape))
  const dsm = g.reduceMean(lossPerSample(g, cfg, P, u0, noise, sn), [0])
  let loss = dsm
  let cons = g.scalar(0, float)
  if (usesConsistency(cfg, consistency)) {
    // fixed batch size: the group view [G, K] of the residual needs concrete dimensions
    const Bc = consistency.groups * consistency.groupSize
    const uc = g.input('uc', float, [Bc, cfg.dim])
    const snc = g.input('snc', float, [Bc])
    const vc = g.input('vc', float, [Bc, cfg.dim])
    const vc2 = consistency.probes === 2 ? g.input('vc2', float, [Bc, cfg.dim]) : undefined
    const wc = (consistency.spread ?? 1) > 1 ? g.input('wc', float, [consistency.groups]) : undefined
    cons = consistencyTerm(g, cfg, P, uc, snc, vc, consistency.groupSize, vc2, wc)
    loss = g.add(dsm, g.mul(cons, consistency.weight))
  }
  let grads = gradients(loss, ps)
  let sq = g.sumAll(g.mul(grads[0]!, grads[0]!))
  for (let i = 1; i < grads.length; i++) sq = g.add(sq, g.sumAll(g.mul(grads[i]!, grads[i]!)))
  const norm = g.sqrt(sq)
  if (adam.gradClip > 0) {
    const scale = g.div(adam.gradClip, g.max(norm, adam.gradClip))
    grads = grads.map((gr) => g.mul(gr, scale))
  }
  g.output(loss, 'loss')
  g.output(g.identity(dsm), 'dsm')
  g.output(g.identity(cons), 'cons')
  g.output(norm, 'gradNorm')
  defs.forEach((d, i) => {
    const gr = grads[i]!
    const m = g.add(g.mul(ms[i]!, adam.beta1), g.mul(gr, 1 - adam.beta1))
    const v = g.add(g.mul(vs[i]!, adam.beta2), g.mul(g.mul(gr, gr), 1 - adam.beta2))
    const p = g.sub(ps[i]!, g.div(g.mul(m, lr), g.add(g.sqrt(v), eps)))
    g.output(p, next(pName(d.name)))
    g.output(m, next(mName(d.name)))
    g.output(v, next(vName(d.name)))
  })
  return g
}

/** Inputs: u0, noise, sn, p.* → output loss[B] (per sample) */
export function buildEvalGraph(cfg: ArchConfig, float: 'float32' | 'float64' = 'float32'): Graph {
  const g = new Graph(`${cfg.arch}-eval`, float)
  const { u0, noise, sn, P } = batchInputs(g, cfg)
  g.output(lossPerSample(g, cfg, P, u0, noise, sn), 'loss')
  return g
}
