/**
 * The bridge-mh step with the preconditioned down kernel (src/core/sampler/metropolis.ts,
 * docs/sampler-integrators.md §2 "Preconditioned down kernel"): for Gaussian data with the exact
 * covariance the kernel is the exact reverse transition, so ln α = 0 for every proposal (em's kernel
 * is far from it on the same data); with a deliberately wrong score and a wrong covariance the
 * chain still samples exp(−E(·, σ_min)) exactly (χ²); the covariance's eigen-decomposition
 * reconstructs the sample covariance.
 */
import { describe, expect, it } from 'vitest'
import { AdapterStep } from '../../../src/core/sampler/adapter-step'
import { covariancePreconditioner, MH_COVARIANCE_MAX_DIM, type MhPreconditioner } from '../../../src/core/sampler/metropolis'
import { GaussianMixtureModel, normalCdf, threeWellMixture } from '../../../src/core/score/analytic/gmm'
import { fillNormals, NormalStream } from '../../../src/core/rng/normals'
import type { ScoreModel } from '../../../src/core/score/types'
import { chiSquare } from './stats'
import { runTrajectory } from '../../../src/core/sampler/runner'
import { checkpointFromJson, checkpointToJson, type Checkpoint } from '../../../src/core/sampler/checkpoint'
import { HarmonicModel } from '../../../src/core/score/analytic/harmonic'
import type { SamplerParams } from '../../../src/core/sampler/params'

/** a diagonal Gaussian seen through the orthogonal matrix R (row-major): x = R u */
function rotated(base: GaussianMixtureModel, R: Float64Array): ScoreModel {
  const d = base.dim
  const toU = (x: Float32Array, batch: number): Float32Array => {
    const u = new Float32Array(batch * d)
    for (let b = 0; b < batch; b++) for (let k = 0; k < d; k++) {
      let v = 0
      for (let j = 0; j < d; j++) v += R[j * d + k]! * x[b * d + j]!
      u[b * d + k] = v
    }
    return u
  }
  return {
    ...base,
    name: 'rotated',
    dim: d,
    smoothed: true,
    hasEnergy: true,
    score(x: Float32Array, sigma: Float32Array, batch: number, out: Float32Array): void {
      const su = new Float32Array(batch * d)
      base.score(toU(x, batch), sigma, batch, su)
      for (let b = 0; b < batch; b++) for (let j = 0; j < d; j++) {
        let v = 0
        for (let k = 0; k < d; k++) v += R[j * d + k]! * su[b * d + k]!
        out[b * d + j] = v
      }
    },
    energy(x: Float32Array, sigma: Float32Array, batch: number, out: Float32Array): void {
      void base.energy!(toU(x, batch), sigma, batch, out)
    },
  } as ScoreModel
}

/** an orthogonal d×d matrix: Gram–Schmidt on seeded normals */
function orthogonal(d: number, seed: number): Float64Array {
  const z = new Float32Array(d * d)
  new NormalStream(seed, 0).fill(z)
  const R = Float64Array.from(z)
  for (let k = 0; k < d; k++) {
    for (let p = 0; p < k; p++) {
      let dot = 0
      for (let j = 0; j < d; j++) dot += R[j * d + k]! * R[j * d + p]!
      for (let j = 0; j < d; j++) R[j * d + k] = R[j * d + k]! - dot * R[j * d + p]!
    }
    let n = 0
    for (let j = 0; j < d; j++) n += R[j * d + k]! ** 2
    for (let j = 0; j < d; j++) R[j * d + k] = R[j * d + k]! / Math.sqrt(n)
  }
  return R
}

describe('bridge-mh, preconditioned down kernel', () => {
  it('Gaussian data with the exact covariance: ln α = 0 for every proposal; em is far from it', async () => {
    const d = 12
    const SMIN = 0.025
    const v = Array.from({ length: d }, (_, i) => (i < 4 ? 0.0004 : 0.25))
    const base = new GaussianMixtureModel([{ weight: 1, mean: new Float64Array(d), variance: v }], 'stiff-soft')
    const R = orthogonal(d, 3)
    const model = rotated(base, R)
    // V = R diag(v) Rᵀ: eigenvalues v, eigenvectors the columns of R
    const pre: MhPreconditioner = { values: Float64Array.from(v), vectors: R }
    const B = 200
    const M = 10
    const u = new Float32Array(B * d)
    fillNormals(u, 41, 0, 0)
    for (let b = 0; b < B; b++) for (let k = 0; k < d; k++) u[b * d + k] = u[b * d + k]! * Math.sqrt(v[k]! + SMIN ** 2)
    const y = new Float32Array(B * d)
    for (let b = 0; b < B; b++) for (let j = 0; j < d; j++) {
      let s = 0
      for (let k = 0; k < d; k++) s += R[j * d + k]! * u[b * d + k]!
      y[b * d + j] = s
    }
    const cfg = { mode: 'bridge-mh' as const, eta: 0.158 ** 2 - SMIN ** 2, denoiseSteps: M, sigmaMin: SMIN }
    const step = new AdapterStep(model, { ...cfg, mhPreconditioner: pre }, B)
    const P = step.noiseSize
    const noise = new Float32Array(B * P)
    for (let b = 0; b < B; b++) fillNormals(noise, 42, b, 0, b * P, P)
    await step.step(y, noise, B, new Float32Array(B * d))
    // float32 points: |ln α| stays at rounding level (terms of size d·M ≈ 100 cancel to ~1e-4)
    const worst = Math.max(...Array.from(step.logAlpha, Math.abs))
    expect(worst).toBeLessThan(5e-3)
    expect(step.accepted.reduce((a, b) => a + b, 0)).toBe(B)
    const em = new AdapterStep(model, cfg, B)
    await em.step(y, noise, B, new Float32Array(B * d))
    const meanEm = Array.from(em.logAlpha).reduce((a, b) => a + b, 0) / B
    expect(meanEm).toBeLessThan(-0.5)
  })

  it('a wrong score and a wrong covariance: the chain still samples exp(−E(·, σ_min)) exactly (χ²)', async () => {
    // 1-D three-well mixture, score ×1.3; "covariance" 0.01 Å² (the true variance is ≈ 1.5); R
    // replicas from exact draws, S steps each; χ² of the last frames in 20 equal-probability bins
    // (mean 19, sd √38; bound 19 + 5√38 ≈ 50)
    const gmm = threeWellMixture(1)
    const sigmaMin = 0.05
    const model: ScoreModel = {
      ...gmm,
      name: 'gmm ×1.3',
      dim: 1,
      smoothed: true,
      hasEnergy: true,
      score(x: Float32Array, s: Float32Array, batch: number, out: Float32Array): void {
        gmm.score(x, s, batch, out)
        for (let i = 0; i < batch; i++) out[i] = out[i]! * 1.3
      },
      energy: (x: Float32Array, s: Float32Array, batch: number, out: Float32Array) => gmm.energy!(x, s, batch, out),
    } as ScoreModel
    const R = 6000
    const S = 6
    const x = gmm.sample(R, new NormalStream(5, 0))
    const z = new Float32Array(R)
    new NormalStream(6, 0).fill(z)
    for (let r = 0; r < R; r++) x[r] = x[r]! + sigmaMin * z[r]!
    const step = new AdapterStep(model, { mode: 'bridge-mh', eta: 0.5, denoiseSteps: 6, sigmaMin, mhPreconditioner: { values: Float64Array.of(0.01), vectors: Float64Array.of(1) } }, R)
    const P = step.noiseSize
    const noise = new Float32Array(R * P)
    let accepted = 0
    for (let t = 0; t < S; t++) {
      for (let r = 0; r < R; r++) fillNormals(noise, 11, r, t * P, r * P, P)
      await step.step(x, noise, R, x)
      accepted += step.accepted.reduce((a, b) => a + b, 0)
    }
    const comps = [[0.5, -1.5], [0.3, 0], [0.2, 1.5]] as const
    const cdf = (v: number): number => comps.reduce((p, [w, m]) => p + w * normalCdf((v - m) / Math.sqrt(0.1 + sigmaMin ** 2)), 0)
    const counts = new Array<number>(20).fill(0)
    for (let r = 0; r < R; r++) counts[Math.min(19, Math.floor(20 * cdf(x[r]!)))]!++
    const c = chiSquare(counts, new Array<number>(20).fill(1 / 20), R)
    expect(c.chi2, `χ² ${c.chi2} (bound ${c.bound})`).toBeLessThan(c.bound)
    const acc = accepted / (R * S)
    expect(acc).toBeGreaterThan(0.05)
    expect(acc).toBeLessThan(0.95)
  })

  it('covariancePreconditioner refuses a model too large for a dense covariance, in one line naming the flag', () => {
    const d = MH_COVARIANCE_MAX_DIM + 3
    expect(() => covariancePreconditioner(new Float32Array(2 * d), 2, d)).toThrow(/^--mh-kernel covariance: the model has 1203 coordinates, more than the 1200 .*; use --mh-kernel em$/)
  })

  it('covariancePreconditioner: Q Λ Qᵀ reconstructs the sample covariance, Q is orthonormal', () => {
    const d = 5
    const n = 400
    const f = new Float32Array(n * d)
    fillNormals(f, 9, 0, 0)
    // correlate the coordinates: x_k += 0.5·x_{k−1}, scale coordinate k by k + 1
    for (let i = 0; i < n; i++) for (let k = 1; k < d; k++) f[i * d + k] = (k + 1) * (f[i * d + k]! + 0.5 * f[i * d + k - 1]!)
    const { values, vectors: Q } = covariancePreconditioner(f, n, d)
    const mu = Array.from({ length: d }, (_, k) => Array.from({ length: n }, (_, i) => f[i * d + k]!).reduce((a, b) => a + b, 0) / n)
    for (let j = 0; j < d; j++) for (let k = 0; k < d; k++) {
      let c = 0
      for (let i = 0; i < n; i++) c += (f[i * d + j]! - mu[j]!) * (f[i * d + k]! - mu[k]!)
      c /= n - 1
      let r = 0
      let o = 0
      for (let m = 0; m < d; m++) {
        r += Q[j * d + m]! * values[m]! * Q[k * d + m]!
        o += Q[m * d + j]! * Q[m * d + k]!
      }
      expect(Math.abs(r - c)).toBeLessThan(1e-9 * (1 + Math.abs(c)))
      expect(Math.abs(o - (j === k ? 1 : 0))).toBeLessThan(1e-12)
    }
  })

  it('through runTrajectory (mhKernel covariance): recorded in the metadata; a checkpoint resumes bit for bit, and not with em', async () => {
    const model = new HarmonicModel({ kappa: 4, beta: 1, dim: 3 })
    const R = 3
    const init = new Float32Array(R * 3).map((_, i) => 0.3 * Math.cos(i))
    const pre: MhPreconditioner = { values: Float64Array.of(0.3, 0.2, 0.01), vectors: orthogonal(3, 5) }
    const p: SamplerParams = { mode: 'bridge-mh', mhKernel: 'covariance', eta: 0.4, innerSteps: 2, denoiseSteps: 4, sigmaMin: 0.05, replicas: R, frames: 13, seed: 77 }
    const full = await runTrajectory(model, p, init, { mhPreconditioner: pre })
    expect(full.trajectory.meta.mhKernel).toBe('covariance')
    const plain = await runTrajectory(model, { ...p, mhKernel: undefined }, init)
    expect(plain.trajectory.meta.mhKernel).toBe('em')
    expect(Array.from(plain.trajectory.data)).not.toEqual(Array.from(full.trajectory.data))
    await expect(runTrajectory(model, p, init)).rejects.toThrow(/--mh-kernel covariance needs the training data's covariance/)
    const cps: Checkpoint[] = []
    await runTrajectory(model, { ...p, frames: 6 }, init, { mhPreconditioner: pre, checkpointEvery: 5, onCheckpoint: (c) => void cps.push(c) })
    const cp = checkpointFromJson(checkpointToJson(cps[0]!), 'test')
    const rest = await runTrajectory(model, p, init, { mhPreconditioner: pre, resumeFrom: cp })
    expect(Array.from(rest.trajectory.data)).toEqual(Array.from(full.trajectory.data.filter((_, i) => Math.floor(i / 3) % 13 >= 5)))
    expect(rest.accepted).toEqual(full.accepted)
    await expect(runTrajectory(model, { ...p, mhKernel: 'em' }, init, { resumeFrom: cp })).rejects.toThrow(/checkpoint was written with mhKernel = covariance, this run has em/)
  })
})
