/**
 * The ONNX encoder/decoder and the exported model file: protobuf round trip, the file loads in
 * onnxruntime-node and onnxruntime-web (WASM backend, run here in Node) with equal outputs, and
 * shape checks fire at build time.
 */
import { describe, expect, it } from 'vitest'
import * as ortWeb from 'onnxruntime-web'
import { Graph, ShapeError } from '../../../src/core/nn/graph'
import { decodeModel, encodeModel } from '../../../src/core/nn/onnx-proto'
import { exportModelBytes } from '../../../src/core/nn/export'
import { initParams, paramDefs, type ArchConfig } from '../../../src/core/nn/arch'
import { ort, values } from './helpers'

describe('onnx protobuf', () => {
  it('decode(encode(model)) reproduces every field the builder writes', () => {
    const g = new Graph('rt')
    const x = g.input('x', 'float32', ['B', 3])
    const y = g.reduceSum(g.transpose(g.unsqueeze(x, [2]), [2, 0, 1]), [0], false)
    g.output(g.slice(y, [1], [3], [1]), 'out')
    const m = g.toModel({ producerVersion: '9.9', metadata: { k: 'v' } })
    const back = decodeModel(encodeModel(m))
    expect(back.irVersion).toBe(m.irVersion)
    expect(back.opsets).toEqual(m.opsets)
    expect(back.producerName).toBe('diffmd-studio')
    expect(back.metadata).toEqual({ k: 'v' })
    expect(back.graph.inputs).toEqual([{ name: 'x', elemType: 1, shape: ['B', 3] }])
    expect(back.graph.outputs[0]!.name).toBe('out')
    expect(back.graph.nodes.map((n) => n.opType)).toEqual(m.graph.nodes.map((n) => n.opType))
    expect(back.graph.nodes.map((n) => n.attrs)).toEqual(m.graph.nodes.map((n) => n.attrs))
    expect(back.graph.initializers.map((t) => [t.name, t.dtype, t.dims, Array.from(t.raw)])).toEqual(m.graph.initializers.map((t) => [t.name, t.dtype, t.dims, Array.from(t.raw)]))
  })

  it('value_info: a Reshape with −1 and an Expand to a run-time shape state their symbolic dims (not B*3), round-trip, and run', async () => {
    const g = new Graph('vi')
    const x = g.input('x', 'float32', ['B', 6])
    const r = g.reshape(x, [-1, 2, 3]) // [B, 2, 3]: declared
    const flat = g.reshape(x, [-1]) // ['B*6']: not a plain name, not declared
    const kept = g.reshape(x, [0, 6]) // no −1: the runtime infers it
    const e = g.expand(g.scalar(2), g.slice(g.shapeOf(x), [0], [1], [0]), ['B']) // [B]: declared
    g.output(g.add(g.mul(g.reduceSum(g.reshape(r, [0, 6]), [1]), 2), e), 'y')
    g.output(g.mul(kept, 1), 'z')
    g.output(g.mul(flat, 1), 'f')
    const m = g.toModel()
    const declared = new Map(m.graph.valueInfo!.map((v) => [v.name, v.shape]))
    expect(declared.get(r.name)).toEqual(['B', 2, 3])
    expect(declared.get(e.name)).toEqual(['B'])
    expect(declared.has(flat.name) || declared.has(kept.name)).toBe(false)
    expect(decodeModel(encodeModel(m)).graph.valueInfo).toEqual(m.graph.valueInfo)
    const data = Float32Array.from({ length: 12 }, (_, i) => i)
    const session = await ort.InferenceSession.create(g.toBytes())
    const out = await session.run({ x: new ort.Tensor('float32', data, [2, 6]) })
    // row sums 15 and 51, twice each, plus 2
    expect(Array.from(out.y!.data as Float32Array)).toEqual([32, 104])
    await session.release()
  })

  it('shape errors are caught when the graph is built, naming the op and shapes', () => {
    const g = new Graph('bad')
    const a = g.input('a', 'float32', ['B', 3])
    const b = g.input('b', 'float32', ['B', 4])
    expect(() => g.add(a, b)).toThrow(ShapeError)
    expect(() => g.add(a, b)).toThrow(/Add: shapes \[B, 3\] and \[B, 4\] do not broadcast/)
    expect(() => g.matmul(a, g.input('w', 'float32', [4, 2]))).toThrow(/MatMul: inner dimensions differ/)
    expect(() => g.concat([a, g.input('c', 'float32', ['N', 3])], 1)).toThrow(/Concat/)
    expect(() => g.reshape(a, [4, -1])).toThrow(/Reshape/)
    expect(() => g.squeeze(a, [1])).toThrow(/Squeeze/)
  })
})

describe('exported model file', () => {
  const cfg: ArchConfig = { arch: 'energy-mlp', dim: 6, width: 16, depth: 2, embDim: 8 }
  // non-zero output layer, so the outputs are not trivially the Gaussian score
  const params = initParams(cfg, 4).map((p, i) => (paramDefs(cfg)[i]!.name === 'wo' ? Float32Array.from(values(p.length, 9), (v) => 0.3 * v) : p))
  const stats = { mean: Float32Array.from([0.1, 0.2, -0.3, 0.4, 0, 1]), sigmaData: 0.8 }
  const bytes = exportModelBytes(cfg, params, stats)
  const B = 5
  const x = Float32Array.from(values(B * cfg.dim, 3, -1, 1))
  const sigma = Float32Array.from([0.01, 0.05, 0.3, 1, 4])

  it('has the contract x[B,d], sigma[B] → score[B,d], energy[B] and the same outputs in onnxruntime-node and onnxruntime-web (WASM)', async () => {
    const sn = await ort.InferenceSession.create(bytes)
    expect([...sn.inputNames]).toEqual(['x', 'sigma'])
    expect([...sn.outputNames].sort()).toEqual(['energy', 'score'])
    const on = await sn.run({ x: new ort.Tensor('float32', x, [B, cfg.dim]), sigma: new ort.Tensor('float32', sigma, [B]) })
    ortWeb.env.wasm.numThreads = 1
    const sw = await ortWeb.InferenceSession.create(bytes, { executionProviders: ['wasm'] })
    const ow = await sw.run({ x: new ortWeb.Tensor('float32', x, [B, cfg.dim]), sigma: new ortWeb.Tensor('float32', sigma, [B]) })
    expect(on.score!.dims).toEqual([B, cfg.dim])
    expect(on.energy!.dims).toEqual([B])
    const a = on.score!.data as Float32Array
    const b = ow.score!.data as Float32Array
    // float32 kernels of the two builds may round differently: agree to 1e-5 relative
    for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThan(1e-5 * Math.max(1, Math.abs(a[i]!)))
    const ea = on.energy!.data as Float32Array
    const eb = ow.energy!.data as Float32Array
    for (let i = 0; i < B; i++) expect(Math.abs(ea[i]! - eb[i]!)).toBeLessThan(1e-5 * Math.max(1, Math.abs(ea[i]!)))
    for (const v of a) expect(Number.isFinite(v)).toBe(true)
    await sn.release()
    await sw.release()
  })
})
