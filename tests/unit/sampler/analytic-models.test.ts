/**
 * The analytic ScoreModels against exact answers: scores equal the gradient of their own
 * log-density (central differences), the smoothed scores equal the score of the analytically
 * smoothed density, Müller–Brown has its stationary points where the literature puts them, and
 * GMM draws have the mixture's moments.
 */
import { describe, expect, it } from 'vitest'
import { HarmonicModel } from '../../../src/core/score/analytic/harmonic'
import { GaussianMixtureModel, normalCdf, threeWellMixture } from '../../../src/core/score/analytic/gmm'
import { DoubleWellModel } from '../../../src/core/score/analytic/double-well'
import { MUELLER_BROWN_MINIMA, MuellerBrownModel, muellerBrownPotential } from '../../../src/core/score/analytic/mueller-brown'
import { NormalStream } from '../../../src/core/rng/normals'
import { runTrajectory } from '../../../src/core/sampler/runner'
import type { ScoreModel } from '../../../src/core/score/types'
import { UserError } from '../../../src/core/errors'

/** central-difference gradient of model.logDensity at (x, σ), in float64 */
function fdGradient(model: ScoreModel, x: Float64Array, sigma: number, h = 1e-4): Float64Array {
  const g = new Float64Array(x.length)
  // logDensity takes Float32Array; evaluate through a double-precision wrapper of the exact formula
  const f = (y: Float64Array): number => model.logDensity!(Float32Array.from(y), sigma)
  for (let i = 0; i < x.length; i++) {
    const p = Float64Array.from(x)
    const m = Float64Array.from(x)
    p[i] = p[i]! + h
    m[i] = m[i]! - h
    g[i] = (f(p) - f(m)) / (2 * h)
  }
  return g
}

function scoreAt(model: ScoreModel, x: ArrayLike<number>, sigma: number): Float32Array {
  const out = new Float32Array(model.dim)
  void model.score(Float32Array.from(x), new Float32Array([sigma]), 1, out)
  return out
}

/** checks score = ∇ log p_σ at a few points by central differences (h = 1e-2: truncation error O(h²·∂³log p) ≲ 1e-3 here) */
function checkGradient(model: ScoreModel, points: number[][], sigmas: number[]): void {
  for (const pt of points) {
    // points representable in float32, so the score and the finite differences see the same x
    const x = Float64Array.from(Float32Array.from(pt))
    for (const s of sigmas) {
      const g = fdGradient(model, x, s, 1e-2)
      const sc = scoreAt(model, x, s)
      for (let i = 0; i < x.length; i++) {
        expect(Math.abs(sc[i]! - g[i]!), `${model.name} at ${pt} σ=${s}: ${sc[i]} vs ${g[i]}`).toBeLessThan(2e-3 * (1 + Math.abs(g[i]!)))
      }
    }
  }
}

describe('analytic score models', () => {
  it('harmonic: s_σ(x) = −x/(v + σ²) exactly', () => {
    const m = new HarmonicModel({ kappa: 4, beta: 0.5, dim: 3 })
    expect(m.variance).toBe(0.5)
    const x = [1, -2, 0.5]
    for (const s of [0, 0.3, 2]) {
      const sc = scoreAt(m, x, s)
      for (let i = 0; i < 3; i++) expect(sc[i]).toBeCloseTo(-x[i]! / (0.5 + Math.fround(s) ** 2), 6)
    }
    expect(m.smoothed && !m.rigidBody).toBe(true)
  })

  it('double well: s = −4βx(x² − 1) = ∇(−βU), zero at the minima ±1 and the barrier 0', () => {
    const m = new DoubleWellModel({ beta: 3, dim: 2 })
    checkGradient(m, [[0.3, -1.4], [1.7, 0.05]], [0])
    expect(scoreAt(m, [1, -1], 0).every((v) => v === 0)).toBe(true)
    expect(scoreAt(m, [0, 0.5], 0)[1]).toBeCloseTo(-4 * 3 * 0.5 * (0.25 - 1), 5)
    expect(m.smoothed).toBe(false)
  })

  it('Müller–Brown: stationary points at the literature minima, score = ∇(−β·scale·U_MB)', () => {
    const m = new MuellerBrownModel()
    expect(m.scale).toBe(1 / 20)
    checkGradient(m, [[-0.3, 1.0], [0.5, 0.3], [-1.0, 0.8]], [0])
    // minima of U_MB: −146.70, −108.17, −80.77 (Müller & Brown 1979)
    const values = [-146.7, -108.17, -80.77]
    MUELLER_BROWN_MINIMA.forEach(([x, y], k) => {
      expect(muellerBrownPotential(x, y)).toBeCloseTo(values[k]!, 1)
      const s = scoreAt(m, [x, y], 0)
      // |∇U_MB| at the 6-digit minimum is below ~1e-2 (Hessian eigenvalues up to ~4000)
      expect(Math.hypot(s[0]!, s[1]!)).toBeLessThan(0.05 * m.scale * 20)
    })
  })

  it('GMM: exact smoothed score equals ∇ log of the σ²-broadened mixture (diagonal and isotropic)', () => {
    const m = new GaussianMixtureModel([
      { weight: 2, mean: [0, 1], variance: [0.5, 0.2] },
      { weight: 1, mean: [1.5, -0.5], variance: 0.3 },
    ])
    expect(m.weight(0)).toBeCloseTo(2 / 3, 12)
    checkGradient(m, [[0.2, 0.4], [1.1, -0.2], [3, 3]], [0, 0.1, 0.7, 3])
    // far from everything, with σ large, the score tends to −(x − overall mean)/(V + σ²)
    const sc = scoreAt(m, [0.5, 0.5], 1e3)
    expect(Math.abs(sc[0]!)).toBeLessThan(1e-6)
    // single component: exactly the Gaussian score
    const g = new GaussianMixtureModel([{ weight: 1, mean: [1, 2, 3], variance: [1, 2, 4] }])
    const s2 = scoreAt(g, [0, 0, 0], 0.5)
    expect(s2[0]).toBeCloseTo(1 / 1.25, 6)
    expect(s2[1]).toBeCloseTo(2 / 2.25, 6)
    expect(s2[2]).toBeCloseTo(3 / 4.25, 6)
  })

  it('GMM sample(): component shares and moments of the mixture (5 standard errors)', () => {
    const m = threeWellMixture(2)
    const n = 20000
    const x = m.sample(n, new NormalStream(42, 0))
    const counts = [0, 0, 0]
    let sy = 0
    for (let j = 0; j < n; j++) {
      const px = x[2 * j]!
      const py = x[2 * j + 1]!
      // the three means are 1.5 Å apart, std 0.32 Å: nearest mean identifies the component except ~1% tails
      const k = py > 0.75 ? 1 : px < 0 ? 0 : 2
      counts[k]!++
      sy += py
    }
    // binomial standard error √(w(1−w)/n) ≈ 0.0035; misassignment (|z| > 2.3 across a boundary, ~1%) shifts shares by < 0.005 in total
    ;[0.5, 0.3, 0.2].forEach((w, k) => expect(Math.abs(counts[k]! / n - w)).toBeLessThan(5 * Math.sqrt((w * (1 - w)) / n) + 0.01))
    // E[y] = 0.3·1.5 = 0.45; Var[y] = 0.1 + 0.3·1.5² − 0.45² = 0.5725 → SE = √(0.5725/n)
    expect(Math.abs(sy / n - 0.45)).toBeLessThan(5 * Math.sqrt(0.5725 / n))
    // Var[x] = 0.1 + 0.7·1.5² − 0.45² = 1.4725 (E[x] = −0.75 + 0.3 = −0.45)
    expect(m.dataStd()).toBeCloseTo(Math.sqrt((1.4725 + 0.5725) / 2), 6)
  })

  it('normalCdf matches Φ at reference points', () => {
    expect(normalCdf(0)).toBeCloseTo(0.5, 7)
    expect(normalCdf(1.959964)).toBeCloseTo(0.975, 6)
    expect(normalCdf(-3)).toBeCloseTo(0.0013498980, 8)
  })

  it('bridge on a non-smoothed model is refused with a clear UserError', async () => {
    const m = new DoubleWellModel({ beta: 1 })
    const run = runTrajectory(m, { mode: 'bridge', eta: 0.1, innerSteps: 1, denoiseSteps: 5, sigmaMin: 0.01, replicas: 1, frames: 2, seed: 1 }, new Float32Array(1))
    await expect(run).rejects.toBeInstanceOf(UserError)
    await expect(run).rejects.toThrow(/bridge.*σ = 0 score.*--mode clean or tied/)
  })
})
