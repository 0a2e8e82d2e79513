/**
 * The fused K-step graph equals K calls of the step-by-step sampler (core/sampler/adapter-step.ts)
 * with the same noise, in every mode — for one of our exported models (inlined as a foreign ONNX
 * model and emitted from the architecture directly) and for an independently written harmonic
 * score exported at opset 17 and compared with the analytic HarmonicModel.
 * Tolerance: float32 arithmetic in a different order (graph vs JS loop with float64 coefficients):
 * per operation ~6e-8 relative on O(1) values; over K·M = 20 score evaluations with Lipschitz
 * constants ≲ 5 the difference stays below 1e-5 (measured ≤ 7e-7).
 */
import { describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { Graph } from '../../../src/core/nn/graph'
import { buildFusedSampler, archEmitter, onnxEmitter, FusedSampler, noisePerStep, concatFew, type FusedMode } from '../../../src/core/nn/fused-sampler'
import { exportModelBytes } from '../../../src/core/nn/export'
import { initParams, paramDefs, type ArchConfig } from '../../../src/core/nn/arch'
import { OnnxScoreModel } from '../../../src/core/score/onnx-score'
import { HarmonicModel } from '../../../src/core/score/analytic/harmonic'
import { AdapterStep, bridgeGrid } from '../../../src/core/sampler/adapter-step'
import { fillNormals } from '../../../src/core/rng/normals'
import type { ScoreModel } from '../../../src/core/score/types'
import type { OrtRuntime } from '../../../src/core/nn/runtime'
import { ort, values } from './helpers'

const ortRt = ort as unknown as OrtRuntime
const d = 2
const B = 3
const K = 5
const M = 4
const eta = 0.09
const sigmaMin = 0.05

function gridFor(mode: FusedMode): number[] {
  if (mode === 'bridge') return Array.from(bridgeGrid(Math.sqrt(eta + sigmaMin * sigmaMin), sigmaMin, M)) // σ_K² = η + σ_min²
  return [eta, mode === 'tied' ? Math.sqrt(2 * eta) : sigmaMin]
}

/** K sequential AdapterStep calls with rows of the same noise */
async function sequential(model: ScoreModel, mode: FusedMode, x0: Float32Array, noise: Float32Array): Promise<Float32Array> {
  const P = noisePerStep(mode, d, M)
  const stepper = new AdapterStep(model, { mode, eta, denoiseSteps: M, sigmaMin }, B)
  const y = Float32Array.from(x0)
  const out = new Float32Array(K * B * d)
  const rows = new Float32Array(B * P)
  for (let k = 0; k < K; k++) {
    for (let b = 0; b < B; b++) rows.set(noise.subarray(b * K * P + k * P, b * K * P + (k + 1) * P), b * P)
    await stepper.step(y, rows, B, y)
    out.set(y, k * B * d)
  }
  return out
}

function noiseFor(mode: FusedMode): Float32Array {
  const P = noisePerStep(mode, d, M)
  const n = new Float32Array(B * K * P)
  // replica b's row: normals [t0·P, (t0+K)·P) of stream b, here t0 = 3
  for (let b = 0; b < B; b++) fillNormals(n, 42, b, 3 * P, b * K * P, K * P)
  return n
}

function expectClose(a: Float32Array, b: Float32Array, tol = 1e-5): void {
  expect(a.length).toBe(b.length)
  let worst = 0
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!))
  expect(worst).toBeLessThan(tol)
}

describe('fused K-step sampler graph', () => {
  const cfg: ArchConfig = { arch: 'score-mlp', dim: d, width: 16, depth: 2, embDim: 8 }
  const params = initParams(cfg, 2).map((p, i) => (paramDefs(cfg)[i]!.name === 'wo' ? Float32Array.from(values(p.length, 5), (v) => 0.2 * v) : p))
  const stats = { mean: Float32Array.from([0.2, -0.1]), sigmaData: 0.9 }
  const bytes = exportModelBytes(cfg, params, stats)
  const x0 = Float32Array.from(values(B * d, 8, -1, 1))

  for (const mode of ['bridge', 'tied', 'clean'] as const) {
    it(`${mode}: one fused call = ${K} sequential adapter steps (our model, emitted and inlined)`, async () => {
      const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 })
      const model = OnnxScoreModel.wrap(ort, session, { name: 'tiny' })
      const noise = noiseFor(mode)
      const ref = await sequential(model, mode, x0, noise)
      const fusedArch = await FusedSampler.create(ortRt, { mode, dim: d, K, M, score: archEmitter(cfg, params, stats) })
      expectClose(await fusedArch.run(x0, B, noise, gridFor(mode)), ref)
      const inl = onnxEmitter(bytes)
      expect(inl.sharedSigma).toBe(true) // our export's sigma is [B_or_1]
      const fusedOnnx = await FusedSampler.create(ortRt, { mode, dim: d, K, M, score: inl.emit, opset: inl.opset })
      const perRow = await fusedOnnx.run(x0, B, noise, gridFor(mode))
      expectClose(perRow, ref)
      // one σ row for the whole batch (docs/speed.md "One σ for the whole batch"): the same frames, bit for bit
      const shared = await FusedSampler.create(ortRt, { mode, dim: d, K, M, score: inl.emit, opset: inl.opset, sharedSigma: true })
      expect(Array.from(await shared.run(x0, B, noise, gridFor(mode)))).toEqual(Array.from(perRow))
      await Promise.all([fusedArch.dispose(), fusedOnnx.dispose(), shared.dispose(), model.dispose()])
    })
  }

  it('an independently built harmonic score (opset 17) inlined in the fused graph equals the analytic HarmonicModel sampler', async () => {
    const v = 0.5
    const g = new Graph('harmonic')
    const x = g.input('x', 'float32', ['B', d])
    const s = g.input('sigma', 'float32', ['B'])
    g.output(g.neg(g.div(x, g.add(g.unsqueeze(g.mul(s, s), [1]), v))), 'score')
    const foreign = g.toBytes({ opset: 17 })
    const inl = onnxEmitter(foreign)
    expect(inl.opset).toBe(17)
    expect(inl.sharedSigma).toBe(false) // sigma[B]: the fused graph gives it one σ per row
    const model = new HarmonicModel({ kappa: 1 / v, beta: 1, dim: d })
    for (const mode of ['bridge', 'tied'] as const) {
      const noise = noiseFor(mode)
      const ref = await sequential(model, mode, x0, noise)
      const fused = await FusedSampler.create(ortRt, { mode, dim: d, K, M, score: inl.emit, opset: inl.opset })
      expect(fused.noiseSize).toBe(K * noisePerStep(mode, d, M))
      expectClose(await fused.run(x0, B, noise, gridFor(mode)), ref)
      await fused.dispose()
    }
  })

  it('output frames[K, B, d] with a symbolic batch; the graph holds K·M model copies (2·K·M for the tweedie scheme) sharing one set of weights', () => {
    const tw = buildFusedSampler({ mode: 'bridge', dim: d, K: 3, M: 2, score: archEmitter(cfg, params, stats) }).toModel()
    expect(tw.graph.nodes.filter((n) => n.opType === 'MatMul' || n.opType === 'Gemm').length).toBe(2 * 3 * 2 * (2 * cfg.depth + 1))
    // bridge-mh needs the energy, and runs em only
    expect(() => buildFusedSampler({ mode: 'bridge-mh', dim: d, K: 1, M: 2, score: archEmitter(cfg, params, stats) })).toThrow(/bridge-mh needs the model's energy/)
    expect(() => buildFusedSampler({ mode: 'bridge-mh', scheme: 'tweedie', dim: d, K: 1, M: 2, score: archEmitter(cfg, params, stats), energy: archEmitter(cfg, params, stats) })).toThrow(/em down path/)
    const g = buildFusedSampler({ mode: 'bridge', scheme: 'em', dim: d, K: 3, M: 2, score: archEmitter(cfg, params, stats) })
    const m = g.toModel()
    expect(m.graph.outputs[0]).toEqual({ name: 'frames', elemType: 1, shape: ['S', 'B', d] })
    expect(m.graph.outputs.map((o) => o.name)).toEqual(['frames', 'state', 'rejectedOut', 'unstableOut'])
    expect(m.graph.inputs.map((i) => i.name)).toEqual(['x', 'noise', 'tau', 'save', 'live', 't0', 'rejected', 'unstable'])
    const weightInits = m.graph.initializers.filter((t) => t.name.startsWith('m/'))
    expect(weightInits.length).toBe(paramDefs(cfg).length)
    expect(m.graph.nodes.filter((n) => n.opType === 'MatMul' || n.opType === 'Gemm').length).toBe(3 * 2 * (2 * cfg.depth + 1))
  })

  it('the shipped model\'s fused graph with superposition and trust region uses only ops onnxruntime-web runs on WebGPU (no CPU fallback inside a step)', () => {
    // the WebGPU (JSEP) kernels, read from onnxruntime-web itself, plus the ops its C++ side registers as
    // views or shape reads (Shape, Reshape, Squeeze, Unsqueeze; not Identity)
    const rules = readFileSync(path.resolve('node_modules/onnxruntime-web/lib/wasm/jsep/webgpu/op-resolve-rules.ts'), 'utf8')
    const gpuOps = new Set([...rules.matchAll(/\['([A-Za-z]+)'/g)].map((m) => m[1]!))
    expect(gpuOps.has('MatMul') && gpuOps.has('Where') && gpuOps.has('CumSum')).toBe(true)
    for (const op of ['Shape', 'Reshape', 'Squeeze', 'Unsqueeze']) gpuOps.add(op)
    const root = path.resolve('resources/models')
    const card = JSON.parse(readFileSync(path.join(root, 'ala2-default.card.json'), 'utf8')) as { reference: number[]; trustRegion: { mean: number[]; scale: number[]; radius: number } }
    const em = onnxEmitter(new Uint8Array(readFileSync(path.join(root, 'ala2-default.onnx'))))
    const region = { mean: Float32Array.from(card.trustRegion.mean), scale: Float32Array.from(card.trustRegion.scale), radius: card.trustRegion.radius }
    expect(em.energy).toBeDefined()
    // bridge-mh with the em and the covariance down kernels (any orthonormal basis will do for the op set)
    const eye = new Float64Array(66 * 66).map((_, i) => (i % 67 === 0 ? 1 : 0))
    const specs = [region, undefined].flatMap((trustRegion) => [
      { mode: 'bridge' as const, reference: Float32Array.from(card.reference), trustRegion },
      { mode: 'bridge-mh' as const, trustRegion, energy: em.energy },
      { mode: 'bridge-mh' as const, trustRegion, energy: em.energy, mhPreconditioner: { values: new Float64Array(66).fill(1e-3), vectors: eye } },
    ])
    for (const extra of specs) {
      const g = buildFusedSampler({ dim: 66, K: 2, M: 2, score: em.emit, opset: 18, ...extra })
      // Identity nodes that only rename a tensor disappear in onnxruntime's optimiser; one from an input to an output would stay
      const m = g.toModel({ opset: 18 })
      const inputs = new Set(m.graph.inputs.map((i) => i.name))
      expect(m.graph.nodes.filter((n) => n.opType === 'Identity' && inputs.has(n.inputs[0]!)).map((n) => n.outputs[0])).toEqual([])
      const ops = new Set(m.graph.nodes.map((n) => n.opType).filter((op) => op !== 'Identity'))
      expect([...ops].filter((op) => !gpuOps.has(op))).toEqual([])
    }
  })

  it('concatFew: a tree of Concats of at most 4 inputs, equal to one Concat', async () => {
    for (const n of [1, 3, 4, 5, 16, 19]) {
      const g = new Graph('cat', 'float32')
      const x = g.input('x', 'float32', [n, 2])
      const parts = Array.from({ length: n }, (_, i) => g.slice(x, [i], [i + 1], [0]))
      g.output(concatFew(g, parts), 'y')
      const m = g.toModel()
      expect(Math.max(0, ...m.graph.nodes.filter((nd) => nd.opType === 'Concat').map((nd) => nd.inputs.length))).toBeLessThanOrEqual(4)
      const data = Float32Array.from({ length: 2 * n }, (_, i) => i + 0.5)
      const session = await ort.InferenceSession.create(g.toBytes())
      const out = await session.run({ x: new ort.Tensor('float32', data, [n, 2]) })
      expect(Array.from(out.y!.data as Float32Array)).toEqual(Array.from(data))
      await session.release()
    }
  })

  it('a call returns only the saved steps, carries the state, and counts only live steps as unstable', async () => {
    const fused = await FusedSampler.create(ortRt, { mode: 'bridge', dim: d, K, M, score: archEmitter(cfg, params, stats) })
    const noise = noiseFor('bridge')
    const all = await fused.run(x0, B, noise, gridFor('bridge'))
    const carry = fused.carryOf(x0, B)
    const res = await fused.advance(carry, noise, gridFor('bridge'), [1, 4], K, 0)
    expect(res.frames.dims).toEqual([2, B, d])
    const saved = (await res.frames.getData()) as Float32Array
    expect(Array.from(saved)).toEqual([...all.subarray(B * d, 2 * B * d), ...all.subarray(4 * B * d, 5 * B * d)])
    expect(Array.from((await res.carry.x.getData()) as Float32Array)).toEqual(Array.from(all.subarray(4 * B * d)))
    expect(Array.from((await res.carry.rejected.getData()) as Float32Array)).toEqual([0, 0, 0])
    expect(Array.from((await res.carry.unstable.getData()) as Float32Array)).toEqual([0, 0, 0])
    // a replica that starts beyond the explosion limit is marked at the first live step, t0 + 1
    const far = Float32Array.from(x0)
    far[d] = 3e8
    const blown = await fused.advance(fused.carryOf(far, B), noise, gridFor('bridge'), [0], 2, 40)
    expect(Array.from((await blown.carry.unstable.getData()) as Float32Array)).toEqual([0, 41, 0])
    // with no live step nothing is marked, and a carried mark is kept
    const idle = await fused.advance(fused.carryOf(far, B), noise, gridFor('bridge'), [0], 0, 40)
    expect(Array.from((await idle.carry.unstable.getData()) as Float32Array)).toEqual([0, 0, 0])
    const again = await fused.advance(blown.carry, noise, gridFor('bridge'), [0], K, 45)
    expect(Array.from((await again.carry.unstable.getData()) as Float32Array)).toEqual([0, 41, 0])
    await expect(fused.advance(carry, noise, gridFor('bridge'), [K], K, 0)).rejects.toThrow(/save must list steps in \[0, 5\)/)
    await fused.dispose()
  })
  it('bridge-mh on the shipped energy model: the core step\'s accept decisions and frames; a step the trust region rejects is not counted as accepted', async () => {
    const root = path.resolve('resources/models')
    const bytes = new Uint8Array(readFileSync(path.join(root, 'ala2-default.onnx')))
    const card = JSON.parse(readFileSync(path.join(root, 'ala2-default.card.json'), 'utf8')) as { reference: number[] }
    const D = 66
    const R = 4
    const [Kmh, Mmh, etaMh, sMin] = [4, 4, 2e-4, 0.025]
    const session = await ort.InferenceSession.create(bytes)
    const model = OnnxScoreModel.wrap(ortRt, session, { name: 'ala2-default', dim: D })
    const stepper = new AdapterStep(model, { mode: 'bridge-mh', eta: etaMh, denoiseSteps: Mmh, sigmaMin: sMin }, R)
    const P = noisePerStep('bridge-mh', D, Mmh)
    const noise = new Float32Array(R * Kmh * P)
    for (let b = 0; b < R; b++) fillNormals(noise, 9, b, 0, b * Kmh * P, Kmh * P)
    // replicas start at the reference, each displaced a little (Å)
    const x0 = new Float32Array(R * D).map((_, i) => card.reference[i % D]! + 0.01 * Math.sin(0.7 * i))
    const y = Float32Array.from(x0)
    const core = new Float32Array(Kmh * R * D)
    const rows = new Float32Array(R * P)
    const accepted = new Array<number>(R).fill(0)
    for (let k = 0; k < Kmh; k++) {
      for (let b = 0; b < R; b++) rows.set(noise.subarray(b * Kmh * P + k * P, b * Kmh * P + (k + 1) * P), b * P)
      await stepper.step(y, rows, R, y)
      stepper.accepted.forEach((a, b) => (accepted[b]! += a))
      core.set(y, k * R * D)
    }
    await session.release()
    const total = accepted.reduce((a, b) => a + b, 0)
    // the decisions are a real mix at this small step (else the comparison below would prove little)
    expect(total).toBeGreaterThan(0)
    expect(total).toBeLessThan(R * Kmh)
    const em = onnxEmitter(bytes)
    const grid = Array.from(bridgeGrid(Math.sqrt(etaMh + sMin * sMin), sMin, Mmh))
    const spec = { mode: 'bridge-mh' as const, dim: D, K: Kmh, M: Mmh, score: em.emit, energy: em.energy, opset: 18 }
    const fused = await FusedSampler.create(ortRt, spec)
    const res = await fused.advance(fused.carryOf(x0, R), noise, grid, [0, 1, 2, 3], Kmh, 0)
    const frames = (await res.frames.getData()) as Float32Array
    let worst = 0
    frames.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - core[i]!))))
    expect(worst).toBeLessThan(1e-5)
    expect(Array.from((await res.carry.accepted!.getData()) as Float32Array)).toEqual(accepted)
    await fused.dispose()
    // a trust region no frame lies in: every step rejected, none counted as accepted, the state kept
    const tiny = { mean: Float32Array.from(card.reference), scale: new Float32Array(D).fill(1), radius: 1e-6 }
    const guarded = await FusedSampler.create(ortRt, { ...spec, trustRegion: tiny })
    const g2 = await guarded.advance(guarded.carryOf(x0, R), noise, grid, [3], Kmh, 0)
    expect(Array.from((await g2.carry.accepted!.getData()) as Float32Array)).toEqual([0, 0, 0, 0])
    expect(Array.from((await g2.carry.rejected.getData()) as Float32Array)).toEqual([4, 4, 4, 4])
    expect(Array.from((await g2.frames.getData()) as Float32Array)).toEqual(Array.from(x0))
    await guarded.dispose()
  })
})
