/**
 * The training loop's mechanics, each against an exact expectation: Adam (one ONNX graph) equals
 * a textbook Adam in float64 fed the autodiff gradient; same seed ⇒ bit-identical parameters;
 * cancel + checkpoint (through bytes) + resume ⇒ bit-identical to an uninterrupted run; early
 * stopping; the learning-rate schedule; the σ distribution; data statistics and trust region.
 */
import { describe, expect, it } from 'vitest'
import { Graph } from '../../../src/core/nn/graph'
import { gradients } from '../../../src/core/nn/autodiff'
import { lossPerSample, paramDefs, initParams, type ArchConfig, type Params } from '../../../src/core/nn/arch'
import { buildTrainStepGraph, adamScalars, DEFAULT_ADAM, pName, mName, vName, next } from '../../../src/core/nn/train-graph'
import { trainModel, learningRate, resolveTrainOptions, sampleSigmas, dataStatistics, splitFrames, DEFAULT_SIGMA, type TrainData } from '../../../src/core/nn/trainer'
import { encodeTrainCheckpoint, decodeTrainCheckpoint } from '../../../src/core/nn/checkpoint'
import { normalCdf } from '../../../src/core/score/analytic/gmm'
import type { OrtRuntime } from '../../../src/core/nn/runtime'
import { ort, values } from './helpers'

const ortRt = ort as unknown as OrtRuntime

function toyData(n = 300, d = 2): TrainData {
  const v = values(n * d, 77, -1, 1)
  const frames = new Float32Array(n * d)
  for (let i = 0; i < n; i++) for (let k = 0; k < d; k++) frames[i * d + k] = v[i * d + k]! + (i % 2 ? 1.5 : -1.5)
  return { frames, nFrames: n, dim: d }
}

describe('Adam train-step graph', () => {
  it('three steps equal textbook Adam (bias-corrected m̂/(√v̂+ε)) applied to the autodiff gradient (float64)', async () => {
    const cfg: ArchConfig = { arch: 'score-mlp', dim: 3, width: 4, depth: 1, embDim: 2 }
    const defs = paramDefs(cfg)
    const adam = { ...DEFAULT_ADAM, eps: 1e-3 } // a large ε makes its placement (bias-corrected v̂) matter
    const step = await ort.InferenceSession.create(buildTrainStepGraph(cfg, adam, 'float64').toBytes())
    // the loss gradient alone, from a separate graph
    const g = new Graph('grad', 'float64')
    const u0 = g.input('u0', 'float64', ['B', 3])
    const noise = g.input('noise', 'float64', ['B', 3])
    const sn = g.input('sn', 'float64', ['B'])
    const P: Params = {}
    const ps = defs.map((p) => (P[p.name] = g.input(pName(p.name), 'float64', p.shape)))
    gradients(g.reduceMean(lossPerSample(g, cfg, P, u0, noise, sn), [0]), ps).forEach((t, i) => g.output(t, `g${i}`))
    const gsess = await ort.InferenceSession.create(g.toBytes())
    const B = 4
    const batch = { u0: values(B * 3, 1), noise: values(B * 3, 2, -2, 2), sn: Float64Array.from([0.05, 0.3, 1, 3]) }
    let p: Float64Array[] = defs.map((d, i) => values(d.shape.reduce((a, b) => a * b, 1), 40 + i, -0.5, 0.5))
    let m: Float64Array[] = p.map((a) => new Float64Array(a.length))
    let v: Float64Array[] = p.map((a) => new Float64Array(a.length))
    const pr = p.map((a) => Float64Array.from(a))
    const mr = p.map((a) => new Float64Array(a.length))
    const vr = p.map((a) => new Float64Array(a.length))
    const lr = 0.01
    const T = (a: Float64Array, dims: number[]) => new ort.Tensor('float64', a, dims)
    for (let t = 1; t <= 3; t++) {
      const bf = { u0: T(batch.u0, [B, 3]), noise: T(batch.noise, [B, 3]), sn: T(batch.sn, [B]) }
      // reference: gradient at the reference parameters, then Adam in JS
      const gf: Record<string, ort.Tensor> = { ...bf }
      defs.forEach((d, i) => (gf[pName(d.name)] = T(pr[i]!, d.shape)))
      const go = await gsess.run(gf)
      defs.forEach((_, i) => {
        const gr = go[`g${i}`]!.data as Float64Array
        for (let k = 0; k < gr.length; k++) {
          mr[i]![k] = 0.9 * mr[i]![k]! + 0.1 * gr[k]!
          vr[i]![k] = 0.999 * vr[i]![k]! + 0.001 * gr[k]! * gr[k]!
          const mh = mr[i]![k]! / (1 - 0.9 ** t)
          const vh = vr[i]![k]! / (1 - 0.999 ** t)
          pr[i]![k]! -= (lr * mh) / (Math.sqrt(vh) + adam.eps)
        }
      })
      // graph
      const sc = adamScalars(adam, lr, t)
      const f: Record<string, ort.Tensor> = { ...bf, lr: T(Float64Array.of(sc.lr), []), eps: T(Float64Array.of(sc.eps), []) }
      defs.forEach((d, i) => {
        f[pName(d.name)] = T(p[i]!, d.shape)
        f[mName(d.name)] = T(m[i]!, d.shape)
        f[vName(d.name)] = T(v[i]!, d.shape)
      })
      const o = await step.run(f)
      p = defs.map((d) => o[next(pName(d.name))]!.data as Float64Array)
      m = defs.map((d) => o[next(mName(d.name))]!.data as Float64Array)
      v = defs.map((d) => o[next(vName(d.name))]!.data as Float64Array)
    }
    defs.forEach((_, i) => {
      for (let k = 0; k < p[i]!.length; k++) expect(Math.abs(p[i]![k]! - pr[i]![k]!)).toBeLessThan(1e-12)
    })
  })
})

describe('training loop', () => {
  const data = toyData()
  const opts = { arch: 'score-mlp' as const, width: 8, depth: 1, embDim: 4, steps: 60, batch: 32, lr: 3e-3, seed: 11, evalEvery: 20, valSamples: 64, bandSamples: 16, patience: 0 }

  it('is deterministic for a seed, and the seed matters', async () => {
    const a = await trainModel(ortRt, data, opts)
    const b = await trainModel(ortRt, data, opts)
    const c = await trainModel(ortRt, data, { ...opts, seed: 12 })
    expect(a.history).toEqual(b.history)
    a.params.forEach((p, i) => expect(Array.from(p)).toEqual(Array.from(b.params[i]!)))
    expect(Array.from(a.params[0]!)).not.toEqual(Array.from(c.params[0]!))
    expect(a.history.length).toBe(3)
    expect(a.final.bands.length).toBe(a.bandEdges.length - 1)
    expect(a.nVal).toBe(30)
  })

  it('cancel → checkpoint bytes → resume gives exactly the uninterrupted result', async () => {
    const full = await trainModel(ortRt, data, opts)
    let polls = 0
    let written: Uint8Array | undefined
    const part = await trainModel(ortRt, data, opts, { shouldStop: () => ++polls > 27, onCheckpoint: (c) => void (written = encodeTrainCheckpoint(c)) })
    expect(part.final.cancelled).toBe(true)
    expect(part.final.stepsRun).toBe(27)
    // the last checkpoint handed out is the one at the cancel, not the validation at step 20
    const ck = decodeTrainCheckpoint(written!)
    expect(ck.step).toBe(27)
    const rest = await trainModel(ortRt, data, opts, {}, ck)
    expect(rest.final.stepsRun).toBe(60)
    expect(rest.history).toEqual(full.history)
    full.params.forEach((p, i) => expect(Array.from(rest.params[i]!)).toEqual(Array.from(p)))
  })

  it('stops early when the validation loss stops improving, and keeps the best parameters', async () => {
    // lr ≈ 0: the validation loss never improves after the first evaluation
    const r = await trainModel(ortRt, data, { ...opts, lr: 1e-12, steps: 200, patience: 2 })
    expect(r.final.stoppedEarly).toBe(true)
    expect(r.final.stepsRun).toBe(60) // evaluations at 20 (best), 40, 60 → 2 without improvement
    expect(r.final.bestStep).toBe(20)
  })

  it('reports progress with step, loss, validation loss, samples/s and ETA', async () => {
    const seen: { step: number; phase: string; loss: number; valLoss: number | null; samplesPerSec: number; etaSec: number }[] = []
    await trainModel(ortRt, data, { ...opts, progressEvery: 10 }, { onProgress: (p) => seen.push(p) })
    expect(seen.map((p) => p.step)).toEqual([10, 20, 30, 40, 50, 60, 60])
    expect(seen.at(-1)!.phase).toBe('done')
    expect(seen[1]!.phase).toBe('eval')
    for (const p of seen) {
      expect(Number.isFinite(p.loss)).toBe(true)
      expect(p.samplesPerSec).toBeGreaterThan(0)
    }
    expect(seen[0]!.valLoss).toBeNull()
    expect(seen[1]!.valLoss).not.toBeNull()
    expect(seen.at(-1)!.etaSec).toBe(0)
  })
})

describe('schedules and statistics', () => {
  it('learning rate: linear warm-up to lr, then cosine down to lr·minLrFactor', () => {
    const o = resolveTrainOptions({ arch: 'score-mlp', steps: 1100, seed: 0, lr: 1e-3, warmupSteps: 100, minLrFactor: 0.1 })
    expect(learningRate(o, 0)).toBeCloseTo(1e-5, 15)
    expect(learningRate(o, 49)).toBeCloseTo(5e-4, 15)
    expect(learningRate(o, 99)).toBeCloseTo(1e-3, 15)
    expect(learningRate(o, 100)).toBeCloseTo(1e-3, 15)
    expect(learningRate(o, 600)).toBeCloseTo(1e-4 + 0.9e-3 * 0.5, 15) // halfway: cos = 0
    expect(learningRate(o, 1100)).toBeCloseTo(1e-4, 15)
  })

  it('σ draws follow the mixture: P(σₙ < s) = (1−f)Φ((ln s − P_mean)/P_std) + f·ln(s/min)/ln(max/min)', () => {
    const n = 200_000
    const s = sampleSigmas(DEFAULT_SIGMA, 5, n)
    const { pMean, pStd, uniformFraction: f, min, max } = DEFAULT_SIGMA
    for (const t of [0.005, 0.01, 0.05, 0.3, 2, 20]) {
      const p = (1 - f) * normalCdf((Math.log(t) - pMean) / pStd) + f * (Math.log(t / min) / Math.log(max / min))
      let c = 0
      for (const v of s) if (v < t) c++
      // 5 binomial standard deviations
      expect(Math.abs(c / n - p)).toBeLessThan(5 * Math.sqrt((p * (1 - p)) / n))
    }
    let lo = Infinity
    let hi = 0
    for (const v of s) {
      lo = Math.min(lo, v)
      hi = Math.max(hi, v)
    }
    expect(lo).toBeGreaterThanOrEqual(Math.fround(min) * (1 - 1e-6))
    expect(hi).toBeLessThanOrEqual(Math.fround(max) * (1 + 1e-6))
  })

  it('σ_data, mean and trust region (radius = 1.1 × largest whitened distance) match direct formulas', () => {
    const frames = Float32Array.from([0, 0, 2, 0, 0, 4, 2, 4])
    const { stats, trustRegion } = dataStatistics({ frames, nFrames: 4, dim: 2 })
    expect(Array.from(stats.mean)).toEqual([1, 2])
    // deviations ±1 in x, ±2 in y: σ_data² = (4·1 + 4·4)/8 = 2.5
    expect(stats.sigmaData).toBeCloseTo(Math.sqrt(2.5), 12)
    expect(Array.from(trustRegion.scale)).toEqual([1, 2])
    expect(trustRegion.radius).toBeCloseTo(1.1 * Math.SQRT2, 6)
  })

  it('the validation split is a seeded partition', () => {
    const { train, val } = splitFrames(50, 0.2, 3)
    expect(val.length).toBe(10)
    expect([...train, ...val].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i))
    expect(Array.from(splitFrames(50, 0.2, 3).val)).toEqual(Array.from(val))
    expect(Array.from(splitFrames(50, 0.2, 4).val)).not.toEqual(Array.from(val))
  })

  it('initial parameters: LeCun normal weights, zero biases and zero output layer (the untrained model is the unit-Gaussian score)', () => {
    const cfg: ArchConfig = { arch: 'score-mlp', dim: 20, width: 400, depth: 2, embDim: 8 }
    const p = initParams(cfg, 1)
    const defs = paramDefs(cfg)
    const w2 = p[defs.findIndex((d) => d.name === 'w2')]!
    let ss = 0
    for (const v of w2) ss += v * v
    // variance 1/fanIn = 1/400 from 160 000 draws: relative std of the estimate √(2/n) ≈ 0.35 %
    expect(Math.abs(ss / w2.length - 1 / 400) / (1 / 400)).toBeLessThan(0.02)
    expect(p[defs.findIndex((d) => d.name === 'wo')]!.every((v) => v === 0)).toBe(true)
  })
})
