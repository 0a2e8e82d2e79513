/**
 * Every op's gradient, and the gradient of its gradient (Hessian-vector products), against
 * central finite differences of float64 graphs run in onnxruntime-node.
 * Tolerance: h = 1e-5 gives truncation error ~h²·|f'''| ≈ 1e-10 and round-off ~1e-16/h ≈ 1e-11
 * relative, so 1e-6 (relative to max(1, |value|)) leaves a wide margin yet catches any wrong rule.
 */
import { describe, expect, it } from 'vitest'
import { Graph, type Tensor, type Dim } from '../../../src/core/nn/graph'
import { gradients } from '../../../src/core/nn/autodiff'
import { ort, values } from './helpers'

interface In {
  shape: Dim[]
  dims: number[]
  lo?: number
  hi?: number
}
interface Case {
  name: string
  ins: In[]
  build(g: Graph, x: Tensor[]): Tensor
  tol?: number
  h?: number
}

const pos = { lo: 0.5, hi: 2 }
const cases: Case[] = [
  { name: 'Add (broadcast [B,4]+[4])', ins: [{ shape: ['B', 4], dims: [3, 4] }, { shape: [4], dims: [4] }], build: (g, [a, b]) => g.add(a!, b!) },
  { name: 'Add (broadcast [B,1]+[1,4])', ins: [{ shape: ['B', 1], dims: [3, 1] }, { shape: [1, 4], dims: [1, 4] }], build: (g, [a, b]) => g.add(a!, b!) },
  { name: 'Sub (scalar)', ins: [{ shape: ['B', 4], dims: [3, 4] }, { shape: [], dims: [] }], build: (g, [a, b]) => g.sub(a!, b!) },
  { name: 'Mul (broadcast)', ins: [{ shape: ['B', 4], dims: [3, 4] }, { shape: ['B', 1], dims: [3, 1] }], build: (g, [a, b]) => g.mul(a!, b!) },
  { name: 'Div', ins: [{ shape: ['B', 4], dims: [3, 4] }, { shape: [4], dims: [4], ...pos }], build: (g, [a, b]) => g.div(a!, b!) },
  { name: 'Pow (both operands)', ins: [{ shape: [3, 4], dims: [3, 4], ...pos }, { shape: [4], dims: [4] }], build: (g, [a, b]) => g.pow(a!, b!) },
  { name: 'Pow (constant exponent)', ins: [{ shape: [3, 4], dims: [3, 4], ...pos }], build: (g, [a]) => g.pow(a!, 1.7) },
  { name: 'Max', ins: [{ shape: [3, 4], dims: [3, 4] }, { shape: [4], dims: [4], lo: -0.3, hi: 0.3 }], build: (g, [a, b]) => g.max(a!, b!) },
  { name: 'Min', ins: [{ shape: [3, 4], dims: [3, 4] }, { shape: [1, 4], dims: [1, 4], lo: -0.3, hi: 0.3 }], build: (g, [a, b]) => g.min(a!, b!) },
  { name: 'Where', ins: [{ shape: ['B', 4], dims: [3, 4] }, { shape: [4], dims: [4] }], build: (g, [a, b]) => g.where(g.greater(a!, 0.1), g.exp(a!), b!) },
  { name: 'Neg', ins: [{ shape: ['B', 3], dims: [2, 3] }], build: (g, [a]) => g.neg(a!) },
  { name: 'Exp', ins: [{ shape: ['B', 3], dims: [2, 3] }], build: (g, [a]) => g.exp(a!) },
  { name: 'Log', ins: [{ shape: ['B', 3], dims: [2, 3], ...pos }], build: (g, [a]) => g.log(a!) },
  { name: 'Sqrt', ins: [{ shape: ['B', 3], dims: [2, 3], ...pos }], build: (g, [a]) => g.sqrt(a!) },
  { name: 'Reciprocal', ins: [{ shape: ['B', 3], dims: [2, 3], ...pos }], build: (g, [a]) => g.reciprocal(a!) },
  { name: 'Sin', ins: [{ shape: ['B', 3], dims: [2, 3], lo: -3, hi: 3 }], build: (g, [a]) => g.sin(a!) },
  { name: 'Cos', ins: [{ shape: ['B', 3], dims: [2, 3], lo: -3, hi: 3 }], build: (g, [a]) => g.cos(a!) },
  { name: 'Sigmoid', ins: [{ shape: ['B', 3], dims: [2, 3], lo: -3, hi: 3 }], build: (g, [a]) => g.sigmoid(a!) },
  { name: 'Tanh', ins: [{ shape: ['B', 3], dims: [2, 3], lo: -2, hi: 2 }], build: (g, [a]) => g.tanh(a!) },
  { name: 'Softplus', ins: [{ shape: ['B', 3], dims: [2, 3], lo: -3, hi: 3 }], build: (g, [a]) => g.softplus(a!) },
  { name: 'Abs', ins: [{ shape: ['B', 3], dims: [2, 3], lo: 0.2, hi: 1 }], build: (g, [a]) => g.abs(g.sub(a!, 0.6)) },
  { name: 'SiLU', ins: [{ shape: ['B', 3], dims: [2, 3], lo: -3, hi: 3 }], build: (g, [a]) => g.silu(a!) },
  { name: 'MatMul', ins: [{ shape: ['B', 4], dims: [3, 4] }, { shape: [4, 2], dims: [4, 2] }], build: (g, [a, b]) => g.matmul(a!, b!) },
  { name: 'Gemm (c [B,2])', ins: [{ shape: ['B', 4], dims: [3, 4] }, { shape: [4, 2], dims: [4, 2] }, { shape: ['B', 2], dims: [3, 2] }], build: (g, [a, b, c]) => g.square(g.gemm(a!, b!, c!)) },
  { name: 'Gemm (c [1,2] broadcast)', ins: [{ shape: ['B', 4], dims: [3, 4] }, { shape: [4, 2], dims: [4, 2] }, { shape: [1, 2], dims: [1, 2] }], build: (g, [a, b, c]) => g.square(g.gemm(a!, b!, c!)) },
  { name: 'Gemm (c [2] bias)', ins: [{ shape: ['B', 4], dims: [3, 4] }, { shape: [4, 2], dims: [4, 2] }, { shape: [2], dims: [2] }], build: (g, [a, b, c]) => g.square(g.gemm(a!, b!, c!)) },
  { name: 'Transpose', ins: [{ shape: [2, 3, 4], dims: [2, 3, 4] }], build: (g, [a]) => g.mul(g.transpose(a!, [2, 0, 1]), g.transpose(a!, [2, 0, 1])) },
  { name: 'ReduceSum (axis 1)', ins: [{ shape: ['B', 4], dims: [3, 4] }], build: (g, [a]) => g.exp(g.reduceSum(a!, [1])) },
  { name: 'ReduceSum (keepdims, axes 0,2)', ins: [{ shape: [2, 3, 2], dims: [2, 3, 2] }], build: (g, [a]) => g.exp(g.reduceSum(a!, [0, 2], true)) },
  { name: 'ReduceMean (symbolic batch axis)', ins: [{ shape: ['B', 4], dims: [3, 4] }], build: (g, [a]) => g.exp(g.reduceMean(a!, [0])) },
  { name: 'ReduceMean (keepdims)', ins: [{ shape: ['B', 4], dims: [3, 4] }], build: (g, [a]) => g.mul(a!, g.reduceMean(a!, [1], true)) },
  { name: 'Concat', ins: [{ shape: ['B', 2], dims: [3, 2] }, { shape: ['B', 3], dims: [3, 3] }], build: (g, [a, b]) => g.square(g.concat([a!, g.sin(b!)], 1)) },
  { name: 'Reshape', ins: [{ shape: ['B', 6], dims: [2, 6] }], build: (g, [a]) => g.mul(g.reshape(a!, [0, 2, 3]), g.constant([1, 2, 3], [3])) },
  { name: 'Reshape (−1 folds batch)', ins: [{ shape: ['B', 3], dims: [2, 3] }], build: (g, [a]) => g.square(g.reshape(a!, [-1])) },
  { name: 'Unsqueeze/Squeeze', ins: [{ shape: ['B', 3], dims: [2, 3] }], build: (g, [a]) => g.squeeze(g.exp(g.unsqueeze(a!, [1])), [1]) },
  { name: 'Expand', ins: [{ shape: [1, 4], dims: [1, 4] }, { shape: ['B', 4], dims: [3, 4] }], build: (g, [a, b]) => g.mul(g.expandAs(a!, b!), b!) },
  { name: 'Slice/Pad', ins: [{ shape: ['B', 6], dims: [2, 6] }], build: (g, [a]) => g.pad(g.square(g.slice(a!, [1], [4], [1])), [0, 2, 0, 1]) },
  { name: 'Cast (f64→f32→f64, linear)', ins: [{ shape: [2, 3], dims: [2, 3] }], build: (g, [a]) => g.cast(g.cast(a!, 'float32'), 'float64'), tol: 1e-4, h: 1e-2 },
]

async function check(c: Case): Promise<void> {
  const g = new Graph('t', 'float64')
  const xs = c.ins.map((s, i) => g.input(`x${i}`, 'float64', s.shape))
  const y = c.build(g, xs)
  // L = Σ w ⊙ y with w a fixed function of the output position (an input with y's shape)
  const w = g.input('w', 'float64', y.shape)
  const L = g.sumAll(g.mul(w, y))
  g.output(L, 'L')
  const gr = gradients(L, xs)
  gr.forEach((t, i) => g.output(t, `g${i}`))
  // Hessian-vector product: ∇ₓ Σᵢ ⟨uᵢ, ∇ᵢL⟩
  const us = c.ins.map((s, i) => g.input(`u${i}`, 'float64', s.shape))
  let H = g.sumAll(g.mul(us[0]!, gr[0]!))
  for (let i = 1; i < xs.length; i++) H = g.add(H, g.sumAll(g.mul(us[i]!, gr[i]!)))
  const hv = gradients(H, xs)
  hv.forEach((t, i) => g.output(t, `h${i}`))

  const session = await ort.InferenceSession.create(g.toBytes(), { intraOpNumThreads: 1, graphOptimizationLevel: 'disabled' })
  const xv = c.ins.map((s, i) => values(s.dims.reduce((a, b) => a * b, 1), 11 + 7 * i, s.lo ?? -1, s.hi ?? 1))
  const uv = c.ins.map((s, i) => values(s.dims.reduce((a, b) => a * b, 1), 101 + 7 * i))
  // output shape from a forward run
  const probe = new Graph('p', 'float64')
  const px = c.ins.map((s, i) => probe.input(`x${i}`, 'float64', s.shape))
  probe.output(c.build(probe, px), 'y')
  const ps = await ort.InferenceSession.create(probe.toBytes(), { graphOptimizationLevel: 'disabled' })
  const pf: Record<string, ort.Tensor> = {}
  c.ins.forEach((s, i) => (pf[`x${i}`] = new ort.Tensor('float64', xv[i]!, s.dims)))
  const ydims = [...(await ps.run(pf)).y!.dims]
  const wv = values(ydims.reduce((a, b) => a * b, 1), 999, 0.5, 1.5)
  const run = async (xin: Float64Array[]) => {
    const f: Record<string, ort.Tensor> = { w: new ort.Tensor('float64', wv, ydims) }
    c.ins.forEach((s, i) => {
      f[`x${i}`] = new ort.Tensor('float64', xin[i]!, s.dims)
      f[`u${i}`] = new ort.Tensor('float64', uv[i]!, s.dims)
    })
    const o = await session.run(f)
    const get = (k: string) => Float64Array.from(o[k]!.data as Float64Array)
    return { L: get('L')[0]!, g: c.ins.map((_, i) => get(`g${i}`)), h: c.ins.map((_, i) => get(`h${i}`)) }
  }
  const base = await run(xv)
  const h = c.h ?? 1e-5
  const tol = c.tol ?? 1e-6
  for (let i = 0; i < xv.length; i++) {
    expect(base.g[i]!.length).toBe(xv[i]!.length)
    for (let j = 0; j < xv[i]!.length; j++) {
      const plus = xv.map((a) => Float64Array.from(a))
      const minus = xv.map((a) => Float64Array.from(a))
      plus[i]![j]! += h
      minus[i]![j]! -= h
      const fd = ((await run(plus)).L - (await run(minus)).L) / (2 * h)
      const an = base.g[i]![j]!
      expect(Math.abs(an - fd), `${c.name}: ∂L/∂x${i}[${j}] autodiff ${an} vs FD ${fd}`).toBeLessThan(tol * Math.max(1, Math.abs(fd)))
    }
  }
  // directional FD of the gradient along u
  const plus = xv.map((a, i) => a.map((v, j) => v + h * uv[i]![j]!))
  const minus = xv.map((a, i) => a.map((v, j) => v - h * uv[i]![j]!))
  const gp = (await run(plus)).g
  const gm = (await run(minus)).g
  for (let i = 0; i < xv.length; i++) {
    for (let j = 0; j < xv[i]!.length; j++) {
      const fd = (gp[i]![j]! - gm[i]![j]!) / (2 * h)
      const an = base.h[i]![j]!
      expect(Math.abs(an - fd), `${c.name}: Hessian·u for x${i}[${j}] autodiff ${an} vs FD ${fd}`).toBeLessThan(tol * Math.max(1, Math.abs(fd)))
    }
  }
  await session.release()
  await ps.release()
}

describe('op gradients vs finite differences (float64, first and second order)', () => {
  for (const c of cases) it(c.name, () => check(c))
})
