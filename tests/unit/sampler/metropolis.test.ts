/**
 * The Metropolis-corrected adapter step, mode bridge-mh (src/core/sampler/metropolis.ts,
 * docs/sampler-integrators.md): its log acceptance ratio against an independent float64 evaluation
 * of the path probabilities (normalisations included), an accepted proposal equals the em bridge
 * frame bit for bit, exactness (χ²) with a deliberately wrong score, acceptance on the issue's
 * stiff + soft Gaussian, Picard and checkpoint identities, and the refusal of score-only models.
 */
import { describe, expect, it } from 'vitest'
import { AdapterStep, bridgeGrid, noisePerStep } from '../../../src/core/sampler/adapter-step'
import { runTrajectory } from '../../../src/core/sampler/runner'
import { validateParams, type SamplerParams } from '../../../src/core/sampler/params'
import { GaussianMixtureModel, normalCdf, threeWellMixture } from '../../../src/core/score/analytic/gmm'
import { HarmonicModel } from '../../../src/core/score/analytic/harmonic'
import { fillNormals, NormalStream } from '../../../src/core/rng/normals'
import type { Checkpoint } from '../../../src/core/sampler/checkpoint'
import type { ScoreModel } from '../../../src/core/score/types'
import { chiSquare } from './stats'

const bits = (a: Float32Array): Uint32Array => new Uint32Array(a.buffer, a.byteOffset, a.length)

/** the model's energy with its score multiplied by `factor` (a deliberately inconsistent pair when factor ≠ 1) */
function scaledScore(m: GaussianMixtureModel | HarmonicModel, factor: number): ScoreModel {
  return {
    dim: m.dim, sigmaRange: m.sigmaRange, smoothed: true, rigidBody: false, name: `${m.name}×${factor}`,
    score(x, s, batch, out) {
      m.score(x, s, batch, out)
      for (let k = 0; k < batch * m.dim; k++) out[k] = out[k]! * factor
    },
    energy: (x, s, batch, out) => m.energy(x, s, batch, out),
  }
}

/** the same model answering asynchronously, as an ONNX model does */
function asyncOf(m: ScoreModel): ScoreModel {
  const later = (f: () => void) => new Promise<void>((resolve) => setTimeout(() => { f(); resolve() }, 0))
  return {
    dim: m.dim, sigmaRange: m.sigmaRange, smoothed: m.smoothed, rigidBody: m.rigidBody, name: m.name,
    score: (x, s, b, out) => later(() => void m.score(x, s, b, out)),
    energy: (x, s, b, out) => later(() => void m.energy!(x, s, b, out)),
  }
}

/** ln N(x; m, h·I) with its normalisation */
function logGauss(x: Float64Array, m: Float64Array, h: number): number {
  let q = 0
  for (let k = 0; k < x.length; k++) q += (x[k]! - m[k]!) ** 2
  return -q / (2 * h) - 0.5 * x.length * Math.log(2 * Math.PI * h)
}

describe('bridge-mh acceptance ratio', () => {
  it('equals an independent float64 evaluation of π(x′)Q(ω̃|x′)/(π(y)Q(ω|y)); accepted = em bridge frame, rejected = y', async () => {
    const gmm = threeWellMixture(2)
    const model = scaledScore(gmm, 1.2)
    const d = 2
    const M = 5
    const B = 200
    const eta = 0.3
    const sigmaMin = 0.05
    const P = noisePerStep('bridge-mh', d, M)
    expect(P).toBe(2 * d * M + 1)
    const noise = new Float32Array(B * P)
    for (let b = 0; b < B; b++) fillNormals(noise, 21, b, 0, b * P, P)
    const y = gmm.sample(B, new NormalStream(22, 0))
    const mh = new AdapterStep(model, { mode: 'bridge-mh', eta, denoiseSteps: M, sigmaMin }, B)
    const out = new Float32Array(B * d)
    await mh.step(y, noise, B, out)
    // the uncorrected em bridge with the first d(1 + M) normals of each row
    const Pb = noisePerStep('bridge', d, M)
    const nb = new Float32Array(B * Pb)
    for (let b = 0; b < B; b++) nb.set(noise.subarray(b * P, b * P + Pb), b * Pb)
    const em = new Float32Array(B * d)
    void new AdapterStep(model, { mode: 'bridge', scheme: 'em', eta, denoiseSteps: M, sigmaMin }, B).step(y, nb, B, em)

    const tau = bridgeGrid(Math.sqrt(eta + sigmaMin * sigmaMin), sigmaMin, M)
    const h = Array.from({ length: M }, (_, i) => tau[i]! ** 2 - tau[i + 1]! ** 2)
    const score = (x: Float64Array, t: number): Float64Array => {
      const o = new Float32Array(d)
      model.score(Float32Array.from(x), Float32Array.of(t), 1, o)
      return Float64Array.from(o)
    }
    const energy = (x: Float64Array): number => {
      const o = new Float32Array(1)
      void model.energy!(Float32Array.from(x), Float32Array.of(sigmaMin), 1, o)
      return o[0]!
    }
    let accepted = 0
    for (let b = 0; b < B; b++) {
      const row = noise.subarray(b * P, (b + 1) * P)
      // up path a_0 … a_M (float32 values, as stored): endpoint y + c0·ξ, interior by the Brownian bridge
      const a: Float64Array[] = new Array(M + 1)
      a[0] = Float64Array.from(y.subarray(b * d, (b + 1) * d))
      const c0 = Math.sqrt(eta)
      a[M] = a[0].map((v, k) => Math.fround(v + c0 * row[k]!))
      for (let j = 0; j < M - 1; j++) {
        const hu = h[M - j - 1]!
        const Rj = tau[0]! ** 2 - tau[M - j]! ** 2
        a[j + 1] = a[j]!.map((v, k) => Math.fround(v + (hu / Rj) * (a[M]![k]! - v) + Math.sqrt((hu * (Rj - hu)) / Rj) * row[d * (1 + M) + j * d + k]!))
      }
      // down path b_0 = a_M … b_M
      const bb: Float64Array[] = [a[M]!]
      for (let i = 0; i < M; i++) {
        const s = score(bb[i]!, tau[i]!)
        bb.push(bb[i]!.map((v, k) => Math.fround(v + h[i]! * s[k]! + Math.sqrt(h[i]!) * row[(1 + i) * d + k]!)))
      }
      let logFwd = 0
      let logRev = 0
      for (let j = 0; j < M; j++) logFwd += logGauss(a[j + 1]!, a[j]!, h[M - j - 1]!)
      for (let i = 0; i < M; i++) {
        const s = score(bb[i]!, tau[i]!)
        logFwd += logGauss(bb[i + 1]!, bb[i]!.map((v, k) => v + h[i]! * s[k]!), h[i]!)
      }
      // reverse path from x′ = b_M: up through b_{M−1} … b_0 = a_M, then down through a_{M−1} … a_0 = y
      for (let j = 0; j < M; j++) logRev += logGauss(bb[M - j - 1]!, bb[M - j]!, h[M - j - 1]!)
      for (let i = 0; i < M; i++) {
        const s = score(a[M - i]!, tau[i]!)
        logRev += logGauss(a[M - i - 1]!, a[M - i]!.map((v, k) => v + h[i]! * s[k]!), h[i]!)
      }
      const logAlpha = energy(a[0]) - energy(bb[M]!) + logRev - logFwd
      // float32 energies (≈ 1e-7 relative) and float32 points: agreement to 1e-4 absolute
      expect(Math.abs(mh.logAlpha[b]! - logAlpha), `row ${b}: ${mh.logAlpha[b]} vs ${logAlpha}`).toBeLessThan(1e-4 * (1 + Math.abs(logAlpha)))
      const ok = Math.log(normalCdf(row[P - 1]!)) < mh.logAlpha[b]!
      expect(mh.accepted[b]).toBe(ok ? 1 : 0)
      const got = out.subarray(b * d, (b + 1) * d)
      if (ok) {
        accepted++
        expect(bits(got)).toEqual(bits(em.subarray(b * d, (b + 1) * d)))
        expect(Array.from(got)).toEqual(Array.from(bb[M]!))
      } else expect(bits(got)).toEqual(bits(y.subarray(b * d, (b + 1) * d)))
    }
    // both branches were exercised
    expect(accepted).toBeGreaterThan(10)
    expect(accepted).toBeLessThan(B - 10)
  })
})

/**
 * Exactness. R independent replicas start from exact draws of π = p_{σ_min} (three-well mixture,
 * d = 1) and take S steps; if the kernel leaves π invariant, each replica's last frame is an exact
 * draw of π, independent across replicas (distinct streams). χ² of R last frames in 20 bins of equal
 * π-probability has mean 19 and sd √38; the bound of chiSquare() is 19 + 5√38 ≈ 50. The score is
 * 1.3× the energy's gradient: the uncorrected bridge chain with it drifts to a measurably different
 * law (χ² ≫ bound), the corrected one does not.
 */
describe('bridge-mh samples exp(−E(·, σ_min)) exactly with a wrong score', () => {
  const gmm = threeWellMixture(1)
  const sigmaMin = 0.05
  const R = 6000
  const S = 6
  const nBins = 20
  // equal-probability bin edges of π from its CDF Σ w_k Φ((x − μ_k)/√(V + σ_min²)), by bisection
  const comps = [[0.5, -1.5], [0.3, 0], [0.2, 1.5]] as const
  const cdf = (x: number): number => comps.reduce((p, [w, m]) => p + w * normalCdf((x - m) / Math.sqrt(0.1 + sigmaMin ** 2)), 0)
  const edges: number[] = []
  for (let k = 1; k < nBins; k++) {
    let lo = -5
    let hi = 5
    for (let it = 0; it < 60; it++) {
      const mid = (lo + hi) / 2
      if (cdf(mid) < k / nBins) lo = mid
      else hi = mid
    }
    edges.push((lo + hi) / 2)
  }
  const chi2Of = (data: Float32Array, F: number): { chi2: number; bound: number } => {
    const counts = new Array<number>(nBins).fill(0)
    for (let r = 0; r < R; r++) {
      const x = data[r * F + F - 1]!
      let k = 0
      while (k < nBins - 1 && x > edges[k]!) k++
      counts[k]!++
    }
    return chiSquare(counts, new Array<number>(nBins).fill(1 / nBins), R)
  }
  const init = (): Float32Array => {
    const x = gmm.sample(R, new NormalStream(5, 0))
    const z = new Float32Array(R)
    new NormalStream(6, 0).fill(z)
    for (let r = 0; r < R; r++) x[r] = x[r]! + sigmaMin * z[r]!
    return x
  }

  for (const factor of [1.3, 0.6]) {
    it(`score ×${factor}: corrected χ² within bound, uncorrected far outside`, async () => {
      const model = scaledScore(gmm, factor)
      const p: SamplerParams = { mode: 'bridge-mh', eta: 0.5, innerSteps: 1, denoiseSteps: 6, sigmaMin, replicas: R, frames: S + 1, seed: 11 }
      const mh = await runTrajectory(model, p, init())
      const c = chi2Of(mh.trajectory.data, S + 1)
      expect(c.chi2, `corrected χ² ${c.chi2} (bound ${c.bound})`).toBeLessThan(c.bound)
      const acc = mh.acceptance!.reduce((a, b) => a + b, 0) / R
      expect(acc).toBeGreaterThan(0.05)
      expect(acc).toBeLessThan(0.95)
      const plain = await runTrajectory(model, { ...p, mode: 'bridge', scheme: 'em' }, init())
      const u = chi2Of(plain.trajectory.data, S + 1)
      // twice the 5σ bound is ≈ 15 standard deviations of χ²₁₉ above its mean
      expect(u.chi2, `uncorrected χ² ${u.chi2}`).toBeGreaterThan(2 * u.bound)
    })
  }

  it('the exact smoothed GMM energy/score pair: χ² within bound; acceptance rises with M', async () => {
    const p: SamplerParams = { mode: 'bridge-mh', eta: 0.5, innerSteps: 1, denoiseSteps: 6, sigmaMin, replicas: R, frames: S + 1, seed: 12 }
    const exact = await runTrajectory(gmm, p, init())
    const c = chi2Of(exact.trajectory.data, S + 1)
    expect(c.chi2, `χ² ${c.chi2}`).toBeLessThan(c.bound)
    const fine = await runTrajectory(gmm, { ...p, denoiseSteps: 24 }, init())
    const mean = (a: number[]): number => a.reduce((s, x) => s + x, 0) / a.length
    // R·S = 36000 decisions: the acceptance's standard error is below 0.003, the M = 6 → 24 gain far above it
    expect(mean(fine.acceptance!)).toBeGreaterThan(mean(exact.acceptance!) + 0.05)
  })
})

/**
 * Acceptance on the stiff + soft Gaussian (exact score, d = 66, σ_K 0.158, σ_min 0.025 Å).
 * Mean of min(1, α) over N = 300 draws of y from π: standard error ≤ 0.5/√300 ≈ 0.03; the issue's
 * numpy prototype of the same construction gave 0.10 (M = 20) and 0.41 (M = 80) with 21 stiff modes,
 * 0.91 (M = 20) with all modes soft; we allow 4 standard errors (0.12).
 */
describe('bridge-mh acceptance on the stiff + soft Gaussian', () => {
  const D = 66
  const N = 300
  const SMIN = 0.025
  const gauss = (nStiff: number): GaussianMixtureModel =>
    new GaussianMixtureModel([{ weight: 1, mean: new Float64Array(D), variance: Array.from({ length: D }, (_, i) => (i < nStiff ? 0.0004 : 0.25)) }], 'stiff-soft')
  async function meanAcceptance(model: ScoreModel, M: number, vOf: (i: number) => number): Promise<number> {
    const P = noisePerStep('bridge-mh', D, M)
    const noise = new Float32Array(N * P)
    for (let b = 0; b < N; b++) fillNormals(noise, 40 + M, b, 0, b * P, P)
    const y = new Float32Array(N * D)
    fillNormals(y, 41, 0, 0)
    for (let b = 0; b < N; b++) for (let i = 0; i < D; i++) y[b * D + i] = y[b * D + i]! * Math.sqrt(vOf(i) + SMIN ** 2)
    const step = new AdapterStep(model, { mode: 'bridge-mh', eta: 0.158 ** 2 - SMIN ** 2, denoiseSteps: M, sigmaMin: SMIN }, N)
    await step.step(y, noise, N, new Float32Array(N * D))
    let s = 0
    for (let b = 0; b < N; b++) s += Math.min(1, Math.exp(step.logAlpha[b]!))
    return s / N
  }
  it('reproduces 0.10 / 0.41 (21 stiff modes, M = 20 / 80) and 0.91 (all soft, M = 20); → 1 as M grows and the model becomes exact', async () => {
    const mixed = gauss(21)
    const vMixed = (i: number): number => (i < 21 ? 0.0004 : 0.25)
    const a20 = await meanAcceptance(mixed, 20, vMixed)
    const a80 = await meanAcceptance(mixed, 80, vMixed)
    expect(Math.abs(a20 - 0.1)).toBeLessThan(0.12)
    expect(Math.abs(a80 - 0.41)).toBeLessThan(0.12)
    const soft = gauss(0)
    const s20 = await meanAcceptance(soft, 20, () => 0.25)
    const s80 = await meanAcceptance(soft, 80, () => 0.25)
    expect(Math.abs(s20 - 0.91)).toBeLessThan(0.12)
    expect(s80).toBeGreaterThan(s20)
    // the model becoming exact: score ×1.2 → ×1.05 → ×1 (all soft, M = 20)
    const w12 = await meanAcceptance(scaledScore(soft, 1.2), 20, () => 0.25)
    const w105 = await meanAcceptance(scaledScore(soft, 1.05), 20, () => 0.25)
    expect(w12).toBeLessThan(w105)
    expect(w105).toBeLessThan(s20 + 0.03)
  }, 60_000)
})

describe('bridge-mh bookkeeping', () => {
  const model = new HarmonicModel({ kappa: 4, beta: 1, dim: 3 })
  const R = 3
  const init = new Float32Array(R * 3).map((_, i) => 0.3 * Math.cos(i))
  const p: SamplerParams = { mode: 'bridge-mh', eta: 0.4, innerSteps: 2, denoiseSteps: 4, sigmaMin: 0.05, replicas: R, frames: 13, seed: 77 }

  it('Picard (tol 0, async model) equals sequential bit for bit, acceptance counts included', async () => {
    const seq = await runTrajectory(model, p, init)
    const par = await runTrajectory(asyncOf(model), { ...p, parallel: { kind: 'picard', window: 5, tol: 0 } }, init)
    expect(bits(par.trajectory.data)).toEqual(bits(seq.trajectory.data))
    expect(par.accepted).toEqual(seq.accepted)
    const steps = (p.frames - 1) * p.innerSteps
    expect(seq.acceptance).toEqual(seq.accepted!.map((a) => a / steps))
    // a harmonic well with its exact energy at M = 4: some steps are rejected, most accepted
    const total = seq.accepted!.reduce((a, b) => a + b, 0)
    expect(total).toBeGreaterThan(0)
    expect(total).toBeLessThan(R * steps)
    expect(seq.modelCalls).toBe(steps * (p.denoiseSteps + 2))
    expect(seq.trajectory.meta.acceptance).toEqual(seq.acceptance)
  })

  it('resuming from a checkpoint gives the uninterrupted frames and acceptance', async () => {
    const full = await runTrajectory(model, p, init)
    const cps: Checkpoint[] = []
    await runTrajectory(model, { ...p, frames: 6 }, init, { checkpointEvery: 5, onCheckpoint: (c) => void cps.push(c) })
    expect(cps[0]!.accepted).toBeDefined()
    const rest = await runTrajectory(model, p, init, { resumeFrom: cps[0] })
    const d = 3
    for (let r = 0; r < R; r++) {
      expect(bits(rest.trajectory.data.slice(r * 8 * d, (r + 1) * 8 * d))).toEqual(bits(full.trajectory.data.slice((r * 13 + 5) * d, (r * 13 + 13) * d)))
    }
    expect(rest.accepted).toEqual(full.accepted)
    expect(rest.acceptance).toEqual(full.acceptance)
  })

  it('refuses a score-only model and a tweedie scheme with one-line messages', () => {
    const scoreOnly: ScoreModel = { dim: 3, sigmaRange: [0, Infinity], smoothed: true, rigidBody: false, name: 'score-only', score: (x, s, b, o) => model.score(x, s, b, o) }
    expect(() => validateParams(scoreOnly, p)).toThrow(/bridge-mh needs an energy model.*use --mode bridge/)
    expect(() => validateParams({ ...scoreOnly, energy: () => undefined, hasEnergy: false }, p)).toThrow(/energy model/)
    expect(() => validateParams(model, { ...p, scheme: 'tweedie' })).toThrow(/--scheme em/)
  })
})
