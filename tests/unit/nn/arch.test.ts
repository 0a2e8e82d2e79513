/**
 * Both architectures against an independent float64 JavaScript implementation of docs/science.md "Training"
 * (EDM preconditioning, score = (D − x)/σ², energy with s = −∇ₓE), and their gradients with respect
 * to inputs and parameters against central finite differences (float64 graphs in onnxruntime-node).
 * Tolerances: float64 FD with h = 1e-5 (relative error ≲ 1e-9 for these smooth functions) → 1e-6.
 */
import { describe, expect, it } from 'vitest'
import { Graph, type Tensor } from '../../../src/core/nn/graph'
import { gradients } from '../../../src/core/nn/autodiff'
import { paramDefs, omegas, lossPerSample, type ArchConfig, type Params } from '../../../src/core/nn/arch'
import { scoreInGraph } from '../../../src/core/nn/export'
import { SIGMA_DIM } from '../../../src/core/score/onnx-score'
import { ort, values } from './helpers'

const d = 4
const B = 3
const mean = Float32Array.from([0.3, -0.2, 0.1, 0.5])
const sigmaData = 0.7

function cfgOf(arch: ArchConfig['arch']): ArchConfig {
  return { arch, dim: d, width: 5, depth: 2, embDim: 4 }
}

function randomParams(cfg: ArchConfig): Float64Array[] {
  return paramDefs(cfg).map((p, i) => values(p.shape.reduce((a, b) => a * b, 1), 300 + i, -0.8, 0.8))
}

// ---------------------------------------------------------------- independent JS reference
function trunkRef(cfg: ArchConfig, P: Float64Array[], v: number[], cNoise: number): number[] {
  const om = omegas(cfg.embDim)
  const emb = [...om.map((w) => Math.sin(w * cNoise)), ...om.map((w) => Math.cos(w * cNoise))]
  let h = v
  for (let l = 0; l < cfg.depth; l++) {
    const W = P[3 * l]!
    const E = P[3 * l + 1]!
    const b = P[3 * l + 2]!
    const out: number[] = []
    for (let j = 0; j < cfg.width; j++) {
      let s = b[j]!
      for (let i = 0; i < h.length; i++) s += h[i]! * W[i * cfg.width + j]!
      for (let i = 0; i < emb.length; i++) s += emb[i]! * E[i * cfg.width + j]!
      out.push(s / (1 + Math.exp(-s)))
    }
    h = out
  }
  return h
}

function headRef(cfg: ArchConfig, P: Float64Array[], h: number[]): number[] {
  const wo = P[3 * cfg.depth]!
  const bo = P[3 * cfg.depth + 1]!
  const n = bo.length
  return Array.from({ length: n }, (_, j) => h.reduce((s, hv, i) => s + hv * wo[i * n + j]!, bo[j]!))
}

/** σ_d = 1 in normalised units; returns D (Å) and score (Å⁻¹) for score-mlp, energy for energy-mlp */
function refModel(cfg: ArchConfig, P: Float64Array[], x: number[], sigma: number): { score?: number[]; D?: number[]; energy?: number } {
  const u = x.map((v, i) => (v - mean[i]!) / sigmaData)
  const sn = sigma / sigmaData
  const cIn = 1 / Math.sqrt(sn * sn + 1)
  const cSkip = 1 / (sn * sn + 1)
  const cOut = sn / Math.sqrt(sn * sn + 1)
  const cNoise = Math.log(sn) / 4
  if (cfg.arch === 'score-mlp') {
    const F = headRef(cfg, P, trunkRef(cfg, P, u.map((v) => cIn * v), cNoise))
    const Dn = u.map((v, i) => cSkip * v + cOut * F[i]!)
    const D = Dn.map((v, i) => mean[i]! + sigmaData * v) // back to Å
    return { D, score: D.map((v, i) => (v - x[i]!) / (sigma * sigma)) }
  }
  const phi = headRef(cfg, P, trunkRef(cfg, P, u.map((v) => cIn * v), cNoise))[0]!
  const u2 = u.reduce((s, v) => s + v * v, 0)
  return { energy: u2 / (2 * (sn * sn + 1)) + phi / sn }
}

// ---------------------------------------------------------------- graphs
interface Built {
  session: ort.InferenceSession
  run(x: Float64Array, sigma: Float64Array, P: Float64Array[], w: Float64Array): Promise<Record<string, Float64Array>>
}

async function buildModel(cfg: ArchConfig): Promise<Built> {
  const g = new Graph('t', 'float64')
  const x = g.input('x', 'float64', ['B', d])
  const sigma = g.input('sigma', 'float64', ['B'])
  const defs = paramDefs(cfg)
  const P: Params = {}
  const ps: Tensor[] = defs.map((p) => (P[p.name] = g.input(p.name, 'float64', p.shape)))
  const out = scoreInGraph(g, cfg, P, { mean, sigmaData }, x, sigma)
  g.output(out.score, 'score')
  if (out.energy) g.output(out.energy, 'energy')
  const w = g.input('w', 'float64', ['B', d])
  const L = g.sumAll(g.mul(w, out.score))
  g.output(L, 'L')
  const grads = gradients(L, [x, sigma, ...ps])
  grads.forEach((t, i) => g.output(t, `g${i}`))
  const session = await ort.InferenceSession.create(g.toBytes(), { intraOpNumThreads: 1, graphOptimizationLevel: 'disabled' })
  return {
    session,
    async run(xv, sv, Pv, wv) {
      const f: Record<string, ort.Tensor> = {
        x: new ort.Tensor('float64', xv, [B, d]),
        sigma: new ort.Tensor('float64', sv, [B]),
        w: new ort.Tensor('float64', wv, [B, d]),
      }
      defs.forEach((p, i) => (f[p.name] = new ort.Tensor('float64', Pv[i]!, p.shape)))
      const o = await session.run(f)
      const r: Record<string, Float64Array> = {}
      for (const [k, v] of Object.entries(o)) r[k] = Float64Array.from(v.data as Float64Array)
      return r
    },
  }
}

const xv = Float64Array.from(values(B * d, 5, -1.5, 1.5))
// σ spanning small, medium, large noise (Å)
const sv = Float64Array.from([0.01, 0.4, 3.0])
const wv = values(B * d, 6, 0.5, 1.5)

for (const arch of ['score-mlp', 'energy-mlp'] as const) {
  describe(arch, () => {
    const cfg = cfgOf(arch)
    const Pv = randomParams(cfg)

    it('forward pass equals the independent float64 reference (EDM preconditioning, units in Å)', async () => {
      const m = await buildModel(cfg)
      const o = await m.run(xv, sv, Pv, wv)
      for (let b = 0; b < B; b++) {
        const x = Array.from(xv.subarray(b * d, (b + 1) * d))
        const ref = refModel(cfg, Pv, x, sv[b]!)
        if (arch === 'score-mlp') {
          for (let i = 0; i < d; i++) {
            const r = ref.score![i]!
            expect(Math.abs(o.score![b * d + i]! - r)).toBeLessThan(1e-9 * Math.max(1, Math.abs(r)))
          }
        } else {
          expect(Math.abs(o.energy![b]! - ref.energy!)).toBeLessThan(1e-9 * Math.max(1, Math.abs(ref.energy!)))
          // score = −∇ₓE of the reference energy (central FD, h = 1e-5 Å)
          for (let i = 0; i < d; i++) {
            const h = 1e-5
            const xp = [...x]
            const xm = [...x]
            xp[i]! += h
            xm[i]! -= h
            const fd = -(refModel(cfg, Pv, xp, sv[b]!).energy! - refModel(cfg, Pv, xm, sv[b]!).energy!) / (2 * h)
            expect(Math.abs(o.score![b * d + i]! - fd), `score[${b},${i}]`).toBeLessThan(1e-6 * Math.max(1, Math.abs(fd)))
          }
        }
      }
      await m.session.release()
    })

    it('gradients w.r.t. x, σ and every parameter match finite differences' + (arch === 'energy-mlp' ? ' (second derivatives of E)' : ''), async () => {
      const m = await buildModel(cfg)
      const base = await m.run(xv, sv, Pv, wv)
      const L = async (x: Float64Array, s: Float64Array, P: Float64Array[]) => (await m.run(x, s, P, wv)).L![0]!
      const arrays = [xv, sv, ...Pv]
      for (let a = 0; a < arrays.length; a++) {
        const an = base[`g${a}`]!
        expect(an.length).toBe(arrays[a]!.length)
        for (let j = 0; j < arrays[a]!.length; j++) {
          // relative step for σ (score ∝ 1/σ² varies on the scale of σ itself): h = 1e-5·min(1, |v|)
          const h = 1e-5 * Math.min(1, Math.max(Math.abs(arrays[a]![j]!), 1e-3))
          const plus = arrays.map((v) => Float64Array.from(v))
          const minus = arrays.map((v) => Float64Array.from(v))
          plus[a]![j]! += h
          minus[a]![j]! -= h
          const fd = ((await L(plus[0]!, plus[1]!, plus.slice(2))) - (await L(minus[0]!, minus[1]!, minus.slice(2)))) / (2 * h)
          // the σ = 0.01 Å sample makes L large (score ∝ 1/σ): tolerance relative to max(1, |fd|, |L|·1e-3)
          const scale = Math.max(1, Math.abs(fd), 1e-3 * Math.abs(base.L![0]!))
          expect(Math.abs(an[j]! - fd), `input ${a} element ${j}: ${an[j]} vs FD ${fd}`).toBeLessThan(1e-6 * scale)
        }
      }
      await m.session.release()
    })

    it('training loss equals λ(σ)|D − x₀|²/d and its parameter gradient matches finite differences', async () => {
      const g = new Graph('t', 'float64')
      const u0 = g.input('u0', 'float64', ['B', d])
      const n = g.input('n', 'float64', ['B', d])
      const sn = g.input('sn', 'float64', ['B'])
      const defs = paramDefs(cfg)
      const P: Params = {}
      const ps = defs.map((p) => (P[p.name] = g.input(p.name, 'float64', p.shape)))
      const per = lossPerSample(g, cfg, P, u0, n, sn)
      g.output(per, 'per')
      const loss = g.reduceMean(per, [0])
      g.output(loss, 'loss')
      gradients(loss, ps).forEach((t, i) => g.output(t, `g${i}`))
      const session = await ort.InferenceSession.create(g.toBytes(), { intraOpNumThreads: 1, graphOptimizationLevel: 'disabled' })
      const u0v = values(B * d, 21)
      const nv = values(B * d, 22, -2, 2)
      const snv = Float64Array.from([0.02, 0.5, 4])
      const run = async (Pv2: Float64Array[]) => {
        const f: Record<string, ort.Tensor> = {
          u0: new ort.Tensor('float64', u0v, [B, d]),
          n: new ort.Tensor('float64', nv, [B, d]),
          sn: new ort.Tensor('float64', snv, [B]),
        }
        defs.forEach((p, i) => (f[p.name] = new ort.Tensor('float64', Pv2[i]!, p.shape)))
        const o = await session.run(f)
        const r: Record<string, Float64Array> = {}
        for (const [k, v] of Object.entries(o)) r[k] = Float64Array.from(v.data as Float64Array)
        return r
      }
      const base = await run(Pv)
      // reference: normalised units (σ_data = 1, mean 0): x = u0 + σ n, D from the reference model
      for (let b = 0; b < B; b++) {
        const s = snv[b]!
        const x0 = Array.from(u0v.subarray(b * d, (b + 1) * d))
        const x = x0.map((v, i) => v + s * nv[b * d + i]!)
        let D: number[]
        if (arch === 'score-mlp') {
          const cIn = 1 / Math.sqrt(s * s + 1)
          const F = headRef(cfg, Pv, trunkRef(cfg, Pv, x.map((v) => cIn * v), Math.log(s) / 4))
          D = x.map((v, i) => v / (s * s + 1) + (s / Math.sqrt(s * s + 1)) * F[i]!)
        } else {
          // D = x + σ² s with s = −∇E (central FD of the reference energy, in normalised units)
          const Eref = (xx: number[]) => {
            const cIn = 1 / Math.sqrt(s * s + 1)
            const phi = headRef(cfg, Pv, trunkRef(cfg, Pv, xx.map((v) => cIn * v), Math.log(s) / 4))[0]!
            return xx.reduce((a, v) => a + v * v, 0) / (2 * (s * s + 1)) + phi / s
          }
          D = x.map((v, i) => {
            const e = 1e-6
            const xp = [...x]
            const xm = [...x]
            xp[i]! += e
            xm[i]! -= e
            return v - s * s * ((Eref(xp) - Eref(xm)) / (2 * e))
          })
        }
        const lam = (s * s + 1) / (s * s)
        const ref = (lam * D.reduce((a, v, i) => a + (v - x0[i]!) ** 2, 0)) / d
        expect(Math.abs(base.per![b]! - ref), `loss of sample ${b}`).toBeLessThan(1e-6 * Math.max(1, ref))
      }
      const h = 1e-5
      for (let a = 0; a < Pv.length; a++) {
        for (let j = 0; j < Pv[a]!.length; j++) {
          const plus = Pv.map((v) => Float64Array.from(v))
          const minus = Pv.map((v) => Float64Array.from(v))
          plus[a]![j]! += h
          minus[a]![j]! -= h
          const fd = ((await run(plus)).loss![0]! - (await run(minus)).loss![0]!) / (2 * h)
          const an = base[`g${a}`]![j]!
          expect(Math.abs(an - fd), `param ${defs[a]!.name}[${j}]: ${an} vs FD ${fd}`).toBeLessThan(1e-6 * Math.max(1, Math.abs(fd)))
        }
      }
      await session.release()
    })
  })
}

describe('energy-mlp graph size (docs/speed.md "The energy model\'s gradient", "One σ for the whole batch")', () => {
  // The score of an energy model is its written-out input gradient: per hidden layer three nodes
  // for SiLU'(pre) = σ + h(1 − σ), one product with the incoming gradient and one MatMul with W_lᵀ.
  // Generic autodiff of the same energy made a [B, 1] @ [1, width] MatMul of ones for the top layer
  // and five nodes for SiLU'; these counts fail if either comes back. The pre-activation is one
  // Gemm h·W + C with C = emb·E + b of sigma's size (B or 1), so with the exported models' sigma
  // [B_or_1] neither the embedding nor the bias is a pass over [B, width] of its own.
  const cfg: ArchConfig = { arch: 'energy-mlp', dim: 6, width: 8, depth: 3, embDim: 4 }
  const g = new Graph('t', 'float32')
  const x = g.input('x', 'float32', ['B', cfg.dim])
  const sigma = g.input('sigma', 'float32', [SIGMA_DIM])
  const P: Params = {}
  for (const p of paramDefs(cfg)) P[p.name] = g.input(p.name, 'float32', p.shape)
  const out = scoreInGraph(g, cfg, P, { mean: new Float32Array(cfg.dim), sigmaData: 0.5 }, x, sigma)
  const wide = (t: Tensor) => t.rank === 2 && t.shape[0] === 'B' && t.shape[1] === cfg.width
  it('has no MatMul with inner dimension 1, and 7 nodes on [B, width] per layer (forward and gradient)', () => {
    expect(out.energy).toBeDefined()
    expect(out.score.shape).toEqual(['B', cfg.dim])
    expect(out.energy!.shape).toEqual(['B'])
    const matmuls = g.nodes.filter((n) => n.op === 'MatMul')
    const gemms = g.nodes.filter((n) => n.op === 'Gemm')
    expect(matmuls.filter((n) => n.inputs[0]!.shape[1] === 1)).toEqual([])
    // forward: Gemm h·W + C, Sigmoid, ·pre; SiLU': −, ·, +; gradient: · (and MatMul·Wᵀ, not wide)
    const perLayer = ['Gemm', 'Sigmoid', 'Mul', 'Sub', 'Mul', 'Add', 'Mul']
    const wideNodes = g.nodes.filter((n) => n.op !== 'MatMul' && n.outputs.some(wide)).map((n) => n.op)
    expect(wideNodes).toEqual(Array.from({ length: cfg.depth }, () => perLayer.slice(0, 3)).flat().concat(Array.from({ length: cfg.depth }, () => perLayer.slice(3)).flat()))
    expect(matmuls.length).toBe(cfg.depth + 1) // Wᵀ per layer, and the energy head
    // per layer: C = emb·E + b on sigma's rows [B_or_1, width], and h·W + C
    expect(gemms.length).toBe(2 * cfg.depth)
    expect(gemms.filter((n) => n.outputs[0]!.shape[0] === SIGMA_DIM).length).toBe(cfg.depth)
  })
})
