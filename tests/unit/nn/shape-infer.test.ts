/**
 * The inliner's shape inference (src/core/nn/shape-infer.ts) against what onnxruntime actually
 * computes: every tensor of the shipped model whose type and shape it states is made a graph output
 * and run at a batch of 3, with a symbolic and with a fixed batch; each stated shape (B = 3) and type
 * must be the one onnxruntime returns. A stated shape that is wrong would make the runtime refuse the
 * fused graph, so this is the check that it never is.
 */
import { describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { Graph, type Shape } from '../../../src/core/nn/graph'
import { decodeModel, encodeModel } from '../../../src/core/nn/onnx-proto'
import { inferShapes } from '../../../src/core/nn/shape-infer'
import { inlineOnnx } from '../../../src/core/nn/inline'
import { ort } from './helpers'

const bytes = new Uint8Array(readFileSync(path.resolve('resources/models/ala2-default.onnx')))
const dtypeOf = { float32: 'float32', int64: 'int64', bool: 'bool', float64: 'float64' } as const

describe('shape inference of inlined models', () => {
  // sigma as the sampler gives it: one σ per row ([B] or [3]), one σ for every row ([1]), or the
  // model's own [B_or_1] symbol with one σ at run time (docs/speed.md "One σ for the whole batch")
  const cases: { batch: 'B' | 3; sig: Shape; rows: number }[] = [
    { batch: 'B', sig: ['B'], rows: 3 },
    { batch: 3, sig: [3], rows: 3 },
    { batch: 'B', sig: [1], rows: 1 },
    { batch: 'B', sig: ['B_or_1'], rows: 1 },
  ]
  for (const { batch, sig, rows } of cases) {
    it(`states the type and shape onnxruntime computes for each tensor it covers (batch ${batch}, sigma [${sig.join(', ')}])`, async () => {
      const model = decodeModel(bytes)
      const xShape: Shape = [batch, 66]
      const info = inferShapes(model.graph, { x: { dtype: 'float32', shape: xShape }, sigma: { dtype: 'float32', shape: sig } })
      // most of the model is covered: everything but what depends on ops it does not know
      expect(info.size).toBeGreaterThan(0.85 * model.graph.nodes.length)
      const g = new Graph('probe', 'float32')
      const x = g.input('x', 'float32', xShape)
      const sigma = g.input('sigma', 'float32', sig)
      // the model's own graph, with every covered tensor also an output
      const inl = inlineOnnx(model, 'm/', 'probe')
      const outs = inl.emit(g, x, sigma)
      g.output(outs.get('score')!, 'score')
      const probe = decodeModel(g.toBytes())
      const declared = new Map(probe.graph.valueInfo!.map((v) => [v.name, v]))
      // …and stated for the runtime: every tensor the score needs, but the graph's output itself
      expect(declared.size).toBeGreaterThan(0.85 * probe.graph.nodes.length)
      const g2 = decodeModel(g.toBytes())
      g2.graph.outputs.push(...probe.graph.valueInfo!.map((v) => ({ ...v, shape: v.shape!.map((d) => (typeof d === 'string' ? `${d}_out` : d)) })))
      const session = await ort.InferenceSession.create(encodeModel(g2))
      const xs = new Float32Array(3 * 66).map((_, i) => Math.sin(i))
      const res = await session.run({ x: new ort.Tensor('float32', xs, [3, 66]), sigma: new ort.Tensor('float32', Float32Array.of(0.1, 0.3, 1).subarray(0, rows), [rows]) })
      let checked = 0
      for (const [name, v] of declared) {
        const t = res[name]!
        expect(t.dims, name).toEqual(v.shape!.map((d) => (d === 'B' ? 3 : d === 'B_or_1' ? rows : d)))
        expect(t.type, name).toBe(dtypeOf[Object.entries({ float32: 1, int64: 7, bool: 9, float64: 11 }).find(([, c]) => c === v.elemType)![0] as keyof typeof dtypeOf])
        checked++
      }
      expect(checked).toBe(declared.size)
      await session.release()
    })
  }
})
