/**
 * Inlining a decoded ONNX model into a larger graph: its nodes are copied with fresh intermediate
 * names at every call, its initializers added once per target graph under a prefix. Used by the
 * fused sampler (K adapter steps around any score model) and by model ensembles (several members
 * averaged in one file; docs/training.md "Ensembles"). Models with control-flow subgraphs
 * (If/Loop/Scan) are refused.
 */
import type { Graph, Tensor } from './graph'
import type { ModelData, TensorData } from './onnx-proto'
import { decodeModel } from './onnx-proto'
import { inferShapes, type TensorInfo } from './shape-infer'
import { takesOneSigma } from '../score/onnx-score'

export interface InlinedModel {
  /** emits one copy of the model's nodes into g, fed by x and sigma; returns its outputs by name */
  emit(g: Graph, x: Tensor, sigma: Tensor): Map<string, Tensor>
  /** the default-domain opset the model declares */
  opset: number
  /** the model's output names */
  outputs: string[]
  /** its sigma input is [SIGMA_DIM]: it takes sigma[1] for a batch that shares one σ */
  sharedSigma: boolean
}

/** `who` names the caller in error messages ("fused sampler", "ensemble") */
export function inlineOnnx(model: ModelData | Uint8Array, prefix: string, who: string): InlinedModel {
  const m = model instanceof Uint8Array ? decodeModel(model) : model
  const gr = m.graph
  const opset = m.opsets.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version ?? 0
  if (opset < 13) throw new Error(`${who}: the model uses opset ${opset}; re-export it with opset ≥ 13`)
  for (const n of gr.nodes) {
    if (Object.values(n.attrs).some((a) => a.type === 'graph')) throw new Error(`${who}: node ${n.name ?? n.opType} (${n.opType}) has a subgraph; models with control flow cannot be inlined`)
  }
  const inits = new Map<string, TensorData>(gr.initializers.map((t) => [t.name, t]))
  const names = new Set(gr.inputs.map((i) => i.name))
  if (!names.has('x') || !names.has('sigma') || !gr.outputs.some((o) => o.name === 'score')) {
    throw new Error(`${who}: the model must have inputs x, sigma and an output 'score'`)
  }
  const outputs = gr.outputs.map((o) => o.name)
  const perGraph = new WeakMap<Graph, Map<string, Tensor>>()
  // the copy's tensor types and shapes, per shape of x and sigma (shape-infer.ts)
  const infos = new Map<string, Map<string, TensorInfo>>()
  const infoFor = (x: Tensor, sigma: Tensor): Map<string, TensorInfo> => {
    const key = JSON.stringify([x.shape, sigma.shape])
    let info = infos.get(key)
    if (!info) infos.set(key, (info = inferShapes(gr, { x: { dtype: 'float32', shape: x.shape }, sigma: { dtype: 'float32', shape: sigma.shape } })))
    return info
  }
  const emit = (g: Graph, x: Tensor, sigma: Tensor): Map<string, Tensor> => {
    const info = infoFor(x, sigma)
    const known = new Map<string, TensorInfo>([
      ['score', { dtype: 'float32', shape: x.shape }],
      ['energy', { dtype: 'float32', shape: [x.shape[0]!] }],
    ])
    let added = perGraph.get(g)
    if (!added) {
      perGraph.set(g, (added = new Map()))
      for (const [name, t] of inits) added.set(name, g.initializerRaw(`${prefix}${name}`, t))
    }
    const env = new Map<string, Tensor>(added)
    env.set('x', x)
    env.set('sigma', sigma)
    for (const n of gr.nodes) {
      const ins = n.inputs.map((name) => {
        if (name === '') return undefined
        const t = env.get(name)
        if (!t) throw new Error(`${who}: tensor '${name}' used by ${n.opType} is not produced before it (graph not topologically sorted)`)
        return t
      })
      const outs = g.emitRaw(
        n.opType,
        ins,
        n.outputs.map((o) => info.get(o) ?? known.get(o) ?? { dtype: 'float32' as const, shape: [] }),
        n.attrs,
        n.domain
      )
      n.outputs.forEach((o, i) => {
        if (o === '') return
        // every tensor whose type and shape are certain is stated for the runtime (Graph.declareShape):
        // what shape-infer.ts works out, and the contract's score/energy however the model computes them
        env.set(o, info.has(o) || known.has(o) ? g.declareShape(outs[i]!) : outs[i]!)
      })
    }
    const result = new Map<string, Tensor>()
    for (const o of outputs) {
      const t = env.get(o)
      if (!t) throw new Error(`${who}: the model's output '${o}' is not produced by any node`)
      result.set(o, t)
    }
    return result
  }
  return { emit, opset, outputs, sharedSigma: takesOneSigma(gr.inputs.find((i) => i.name === 'sigma')?.shape) }
}
