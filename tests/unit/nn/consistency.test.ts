/**
 * The heat-equation consistency term (src/core/nn/consistency.ts, docs/training.md) against exact
 * answers, all in float64 graphs run by onnxruntime-node:
 *  - for the exact smoothed energy of a Gaussian mixture, −log p_σ (p_σ = p ∗ N(0, σ²I) is a
 *    mixture with σ² added to every component variance), the residual with the exact Laplacian is
 *    zero to round-off; adding an arbitrary σ-only offset f(σ) (an unnormalised model) shifts it by
 *    exactly −σ f'(σ), and the group-centred penalty stays zero;
 *  - the Rademacher-Hutchinson estimate averaged over all 2^d sign patterns is the exact Laplacian;
 *  - the two-probe penalty averaged over all pairs of sign patterns is the exact-Laplacian penalty,
 *    while the one-probe penalty's average exceeds it by exactly (1/(G K d)) Σ 2σ⁴ Σ_{i≠j} H_ij²
 *    (group centring: times (K − 1)/K);
 *  - the penalty's gradient wrt the energy network's parameters (a third derivative of the network)
 *    matches central finite differences;
 *  - the EMA of the weights follows its recurrence.
 * Tolerances: the residual is a sum of O(10–10³) terms in float64, round-off ~1e-13 of that;
 * 1e-9·scale is far above round-off yet far below any model error. Finite differences with
 * h = 1e-5 have truncation ~h²·f''' ≈ 1e-10 and round-off ~1e-16/h ≈ 1e-11 relative: 1e-6 relative.
 */
import { describe, expect, it } from 'vitest'
import { Graph, type Tensor } from '../../../src/core/nn/graph'
import { gradients } from '../../../src/core/nn/autodiff'
import { centredPenalty, centredProductPenalty, emaDecayAt, emaUpdate, heatResidual, heatResiduals } from '../../../src/core/nn/consistency'
import { consistencyTerm } from '../../../src/core/nn/train-graph'
import { initParams, paramDefs, type ArchConfig, type Params } from '../../../src/core/nn/arch'
import { runGraph, values, type FeedSpec } from './helpers'

function popcount(n: number): number {
  let c = 0
  for (let m = n; m; m &= m - 1) c++
  return c
}

const comps = [
  { w: 0.5, mu: [-1.5, 0], v: [0.25, 0.25] },
  { w: 0.3, mu: [1.5, 0.5], v: [0.2, 0.5] },
  { w: 0.2, mu: [0, 2], v: [0.1, 0.1] },
]

/** −log p_σ(u) of the mixture, [B] (float64 graph); plus an optional σ-only offset */
function gmmEnergy(g: Graph, u: Tensor, s: Tensor, offset?: (s: Tensor) => Tensor): Tensor {
  const s2 = g.unsqueeze(g.mul(s, s), [1]) // [B,1]
  const terms = comps.map((c) => {
    const vr = g.add(g.constant(c.v, [1, 2], 'float64'), s2) // [B,2]
    const dx = g.sub(u, g.constant(c.mu, [1, 2], 'float64'))
    const q = g.reduceSum(g.add(g.div(g.mul(dx, dx), vr), g.log(g.mul(vr, 2 * Math.PI))), [1]) // [B]
    return g.mul(g.exp(g.mul(q, -0.5)), c.w)
  })
  let p = terms[0]!
  for (const t of terms.slice(1)) p = g.add(p, t)
  const E = g.neg(g.log(p))
  return offset ? g.add(E, offset(s)) : E
}

const B = 12
const K = 4 // group size: 3 groups of 4 sharing σ
const sigmas = [0.01, 0.3, 2]
function points(): { u: Float64Array; s: Float64Array } {
  const u = values(2 * B, 11, -2.5, 2.5)
  const s = new Float64Array(B)
  for (let i = 0; i < B; i++) s[i] = sigmas[Math.floor(i / K)]!
  return { u, s }
}
// f(σ) = 2 sin 3σ + ln(1 + σ²),  f'(σ) = 6 cos 3σ + 2σ/(1 + σ²)
const offset = (g: Graph, s: Tensor): Tensor => g.add(g.mul(g.sin(g.mul(s, 3)), 2), g.log(g.add(g.mul(s, s), 1)))
const dOffset = (s: number): number => 6 * Math.cos(3 * s) + (2 * s) / (1 + s * s)

async function exactResidual(withOffset: boolean): Promise<{ r: Float64Array; pen: number; scale: Float64Array }> {
  const g = new Graph('heat', 'float64')
  const u = g.input('u', 'float64', [B, 2])
  const s = g.input('s', 'float64', [B])
  const energy = (uu: Tensor, ss: Tensor) => gmmEnergy(g, uu, ss, withOffset ? (t) => offset(g, t) : undefined)
  // exact Laplacian: the sum of vᵀHv over the unit probes e₁, e₂
  const p1 = heatResidual(g, energy, u, s, g.constant([1, 0], [1, 2], 'float64'))
  const p2 = heatResidual(g, energy, u, s, g.constant([0, 1], [1, 2], 'float64'))
  const s2 = g.mul(s, s)
  const r = g.sub(g.mul(s2, g.sub(g.add(p1.vHv, p2.vHv), p1.gradSq)), g.mul(s, p1.dEdSigma))
  // the size of the terms, for a relative tolerance
  const scale = g.add(g.add(g.abs(g.mul(s, p1.dEdSigma)), g.mul(s2, g.abs(g.add(p1.vHv, p2.vHv)))), g.mul(s2, p1.gradSq))
  g.output(r, 'r')
  g.output(scale, 'scale')
  g.output(centredPenalty(g, r, K, 2), 'pen')
  const { u: uv, s: sv } = points()
  const out = await runGraph(g, { u: { data: uv, dims: [B, 2] }, s: { data: sv, dims: [B] } })
  return { r: out.r!, pen: out.pen![0]!, scale: out.scale! }
}

describe('heat-equation consistency residual', () => {
  it('is zero for the exact smoothed GMM energy (exact Laplacian), at σ from 0.01 to 2', async () => {
    const { r, scale } = await exactResidual(false)
    let maxScale = 0
    for (let i = 0; i < B; i++) {
      expect(Math.abs(r[i]!)).toBeLessThan(1e-9 * Math.max(1, scale[i]!))
      maxScale = Math.max(maxScale, scale[i]!)
    }
    expect(maxScale).toBeGreaterThan(1) // the terms are not trivially small
  })

  it('with an unknown σ-only normalisation f(σ) it equals −σ f′(σ), and the group-centred penalty is zero', async () => {
    const { r, pen, scale } = await exactResidual(true)
    const { s } = points()
    for (let i = 0; i < B; i++) expect(Math.abs(r[i]! + s[i]! * dOffset(s[i]!))).toBeLessThan(1e-9 * Math.max(1, scale[i]!))
    expect(Math.abs(r[0]!)).toBeGreaterThan(1e-3) // the offset did shift it
    expect(pen).toBeLessThan(1e-18)
  })

  it('Hutchinson with Rademacher probes averages to the exact Laplacian over all sign patterns', async () => {
    const g = new Graph('hutch', 'float64')
    const u = g.input('u', 'float64', ['B', 2])
    const s = g.input('s', 'float64', ['B'])
    const energy = (uu: Tensor, ss: Tensor) => gmmEnergy(g, uu, ss)
    const pats = [
      [1, 1],
      [1, -1],
      [-1, 1],
      [-1, -1],
    ]
    let acc: Tensor | null = null
    for (const p of pats) {
      const h = heatResidual(g, energy, u, s, g.constant(p, [1, 2], 'float64')).vHv
      if (!acc) g.output(h, 'one')
      acc = acc ? g.add(acc, h) : h
    }
    const lap = g.add(heatResidual(g, energy, u, s, g.constant([1, 0], [1, 2], 'float64')).vHv, heatResidual(g, energy, u, s, g.constant([0, 1], [1, 2], 'float64')).vHv)
    g.output(g.mul(acc!, 0.25), 'hutch')
    g.output(lap, 'lap')
    const { u: uv, s: sv } = points()
    const out = await runGraph(g, { u: { data: uv, dims: [B, 2] }, s: { data: sv, dims: [B] } })
    for (let i = 0; i < B; i++) expect(out.hutch![i]!).toBeCloseTo(out.lap![i]!, 9)
    // and a single probe is not the Laplacian (the off-diagonal Hessian is not zero here)
    expect(Math.max(...Array.from(out.one!, (v, i) => Math.abs(v - out.lap![i]!)))).toBeGreaterThan(1e-3)
  })

  it('two probes: averaged over all pairs of sign patterns the product penalty is the exact-Laplacian one; one probe is biased up', async () => {
    // not the exact GMM energy (its residual is zero): a wrong σ-dependence makes the residual vary with u
    const wrong = (gr: Graph, uu: Tensor, ss: Tensor): Tensor => gmmEnergy(gr, uu, gr.mul(ss, 1.7))
    // per-sample probes (1, ε) with ε from columns 1…K of the 8×8 Sylvester Hadamard matrix, one run per
    // row: over the 8 runs each sample's ε has mean 0 and the K samples of a group are uncorrelated,
    // which is all the expectations below use (what independent random probes give in training)
    const runs = 8
    const eps = (run: number, k: number): number => ((popcount(run & (k + 1)) & 1) === 0 ? 1 : -1)
    const g = new Graph('two-probe', 'float64')
    const u = g.input('u', 'float64', [B, 2])
    const s = g.input('s', 'float64', [B])
    const energy = (uu: Tensor, ss: Tensor) => wrong(g, uu, ss)
    const probes = Array.from({ length: runs }, (_, run) => {
      const v: number[] = []
      for (let i = 0; i < B; i++) v.push(1, eps(run, i % K))
      return g.constant(v, [B, 2], 'float64')
    })
    const rs = heatResiduals(g, energy, u, s, probes).map((p) => p.r)
    let pair: Tensor | null = null
    for (const a of rs) for (const b of rs) pair = pair ? g.add(pair, centredProductPenalty(g, a, b, K, 2)) : centredProductPenalty(g, a, b, K, 2)
    let single: Tensor | null = null
    for (const a of rs) single = single ? g.add(single, centredPenalty(g, a, K, 2)) : centredPenalty(g, a, K, 2)
    g.output(g.mul(pair!, 1 / (runs * runs)), 'pair')
    g.output(g.mul(single!, 1 / runs), 'single')
    // exact: residual with the Laplacian from the unit probes; and the off-diagonal Hessian H₁₂ = e₁ᵀHe₂
    const e1 = heatResidual(g, energy, u, s, g.constant([1, 0], [1, 2], 'float64'))
    const e2 = heatResidual(g, energy, u, s, g.constant([0, 1], [1, 2], 'float64'))
    const s2 = g.mul(s, s)
    const rExact = g.sub(g.mul(s2, g.sub(g.add(e1.vHv, e2.vHv), e1.gradSq)), g.mul(s, e1.dEdSigma))
    g.output(centredPenalty(g, rExact, K, 2), 'exact')
    g.output(rExact, 'rExact')
    g.output(centredPenalty(g, rExact, K, 2, g.constant([0.5, 2, 0.125], [3], 'float64')), 'weighted')
    const [hv] = gradients(g.sumAll(g.mul(gradients(g.sumAll(energy(u, s)), [u])[0]!, g.constant([0, 1], [1, 2], 'float64'))), [u]) as [Tensor]
    g.output(g.reshape(g.slice(hv, [0], [1], [1]), [-1]), 'h12')
    const { u: uv, s: sv } = points()
    const out = await runGraph(g, { u: { data: uv, dims: [B, 2] }, s: { data: sv, dims: [B] } })
    const exact = out.exact![0]!
    expect(exact).toBeGreaterThan(1e-3)
    expect(out.pair![0]!).toBeCloseTo(exact, 9)
    // group weights multiply each group's term: (1/(G K d)) Σ_g w_g Σ_k c_gk²
    const rEx = out.rExact!
    const w = [0.5, 2, 0.125]
    let manual = 0
    for (let gi = 0; gi < B / K; gi++) {
      let m = 0
      for (let k = 0; k < K; k++) m += rEx[gi * K + k]! / K
      for (let k = 0; k < K; k++) manual += (w[gi]! * (rEx[gi * K + k]! - m) ** 2) / (B * 2)
    }
    expect(out.weighted![0]!).toBeCloseTo(manual, 9)
    // Rademacher in d = 2: vᵀHv − ΔE = 2 v₁v₂ H₁₂, variance 4 H₁₂²; the residual carries it times σ²
    let bias = 0
    for (let i = 0; i < B; i++) bias += (4 * sv[i]! ** 4 * out.h12![i]! ** 2 * (K - 1)) / K
    bias /= B * 2
    expect(bias).toBeGreaterThan(1e-5)
    expect(out.single![0]! - exact).toBeCloseTo(bias, 9)
  })

  it("the penalty's gradient wrt the energy network's parameters matches central finite differences", async () => {
    const cfg: ArchConfig = { arch: 'energy-mlp', dim: 3, width: 6, depth: 2, embDim: 4 }
    const defs = paramDefs(cfg)
    // random (not zero) output weights, so every parameter matters
    const init = initParams(cfg, 5).map((a, i) => {
      const v = values(a.length, 100 + i, -0.6, 0.6)
      return Float64Array.from(a, (x, k) => x + v[k]!)
    })
    const g = new Graph('cons-grad', 'float64')
    const P: Params = {}
    const ps = defs.map((d) => (P[d.name] = g.input(`p.${d.name}`, 'float64', d.shape)))
    const Bc = 6
    const uc = g.input('uc', 'float64', [Bc, 3])
    const snc = g.input('snc', 'float64', [Bc])
    const vc = g.input('vc', 'float64', [Bc, 3])
    const pen = consistencyTerm(g, cfg, P, uc, snc, vc, 3)
    g.output(pen, 'pen')
    gradients(pen, ps).forEach((gr, i) => g.output(gr, `g.${defs[i]!.name}`))
    const feeds: Record<string, FeedSpec> = {
      uc: { data: values(Bc * 3, 21, -1.5, 1.5), dims: [Bc, 3] },
      snc: { data: Float64Array.of(0.05, 0.05, 0.05, 0.7, 0.7, 0.7), dims: [Bc] },
      vc: { data: Float64Array.from(values(Bc * 3, 22), (x) => (x < 0 ? -1 : 1)), dims: [Bc, 3] },
    }
    defs.forEach((d, i) => (feeds[`p.${d.name}`] = { data: init[i]!, dims: d.shape }))
    const base = await runGraph(g, feeds)
    expect(base.pen![0]!).toBeGreaterThan(1e-6)
    const h = 1e-5
    let checked = 0
    for (let i = 0; i < defs.length; i++) {
      const d = defs[i]!
      const n = init[i]!.length
      for (const k of [0, Math.floor(n / 2), n - 1]) {
        const at = (delta: number) => {
          const p = Float64Array.from(init[i]!)
          p[k]! += delta
          return runGraph(g, { ...feeds, [`p.${d.name}`]: { data: p, dims: d.shape } })
        }
        const fd = ((await at(h)).pen![0]! - (await at(-h)).pen![0]!) / (2 * h)
        const ad = base[`g.${d.name}`]![k]!
        expect(Math.abs(ad - fd)).toBeLessThan(1e-6 * Math.max(1, Math.abs(fd)))
        checked++
      }
    }
    expect(checked).toBe(3 * defs.length)
  }, 120_000)
})

describe('EMA of the weights', () => {
  it('follows e_t = β_t e_{t−1} + (1 − β_t) p_t with β_t = min(β, (1+t)/(10+t)), e_0 = p_0', () => {
    const beta = 0.95
    const steps = 60
    const p0 = Float32Array.from(values(5, 1))
    const ema = [Float32Array.from(p0)]
    const ref = Array.from(p0, Number)
    for (let t = 1; t <= steps; t++) {
      const p = Float32Array.from(values(5, 1 + t))
      emaUpdate(ema, [p], beta, t)
      const b = t < 170 ? Math.min(beta, (1 + t) / (10 + t)) : beta
      for (let k = 0; k < 5; k++) ref[k] = b * ref[k]! + (1 - b) * p[k]!
    }
    for (let k = 0; k < 5; k++) expect(ema[0]![k]!).toBeCloseTo(ref[k]!, 5)
    // the closed form for a constant input: after the warm-up the EMA of a constant is that constant
    const c = [new Float32Array([0])]
    for (let t = 1; t <= 400; t++) emaUpdate(c, [new Float32Array([1])], 0.99, t)
    // 1 − Π β_t: Π_{t=1}^{T} (1+t)/(10+t) up to where it reaches 0.99 (t = 890 > 400, so all warm-up)
    let prod = 1
    for (let t = 1; t <= 400; t++) prod *= emaDecayAt(0.99, t)
    expect(c[0]![0]!).toBeCloseTo(1 - prod, 5)
    expect(emaDecayAt(0.99, 10_000)).toBe(0.99)
  })
})
