/**
 * Identity tests (docs/science.md "Systems with exact answers"): the single-σ forms equal an independently written EM step
 * bit-for-bit with the same noise; the adapter step equals an independently written bridge;
 * with one denoising step and σ_min → 0 it reduces to the EM form.
 */
import { describe, expect, it } from 'vitest'
import { runTrajectory } from '../../../src/core/sampler/runner'
import { AdapterStep, bridgeGrid } from '../../../src/core/sampler/adapter-step'
import { HarmonicModel } from '../../../src/core/score/analytic/harmonic'
import { fillNormals, fillNormalsOf, NOISE_KINDS } from '../../../src/core/rng/normals'
import type { ScoreModel } from '../../../src/core/score/types'
import { gaussianInit } from './stats'

const bits = (a: Float32Array): Uint32Array => new Uint32Array(a.buffer, a.byteOffset, a.length)

describe('single-σ Langevin forms', () => {
  for (const mode of ['tied', 'clean'] as const) {
    it(`${mode} equals an inline Euler–Maruyama step bit-for-bit (both noise kinds; unset = ziggurat)`, async () => {
      for (const noise of [undefined, ...NOISE_KINDS]) {
      const model = new HarmonicModel({ kappa: 2, beta: 0.7, dim: 3 })
      const R = 4
      const d = 3
      const F = 6
      const inner = 2
      const eta = 0.05
      const sigmaMin = 0.03
      const seed = 1234
      const init = gaussianInit(R, d, 1, 77)
      const { trajectory } = await runTrajectory(model, { mode, eta, innerSteps: inner, denoiseSteps: 7, sigmaMin, replicas: R, frames: F, seed, ...(noise ? { noise } : {}) }, init)
      // independent EM: x ← x + η·s(x, σ) + √(2η)·ξ, ξ = normals [t·d, (t+1)·d) of stream r
      const expected = new Float32Array(R * F * d)
      const sigma = new Float32Array([mode === 'tied' ? Math.sqrt(2 * eta) : sigmaMin])
      const x = new Float32Array(d)
      const s = new Float32Array(d)
      const xi = new Float32Array(d)
      for (let r = 0; r < R; r++) {
        x.set(init.subarray(r * d, (r + 1) * d))
        expected.set(x, r * F * d)
        for (let t = 0; t < (F - 1) * inner; t++) {
          fillNormalsOf(noise ?? 'ziggurat', xi, seed, r, t * d)
          model.score(x, sigma, 1, s)
          for (let i = 0; i < d; i++) x[i] = x[i]! + eta * s[i]! + Math.sqrt(2 * eta) * xi[i]!
          if ((t + 1) % inner === 0) expected.set(x, (r * F + (t + 1) / inner) * d)
        }
      }
      expect(trajectory.frames).toBe(F)
      expect(bits(trajectory.data)).toEqual(bits(expected))
      }
    })
  }
})

describe('bridge adapter step', () => {
  it('uses the geometric σ grid from σ_K to σ_min', () => {
    const tau = bridgeGrid(2, 0.02, 4)
    expect(tau[0]).toBe(2)
    expect(tau[4]).toBe(0.02)
    for (let i = 0; i < 4; i++) expect(tau[i + 1]! / tau[i]!).toBeCloseTo(Math.pow(0.01, 1 / 4), 12)
  })

  it('equals an inline reverse-diffusion step with the documented noise layout, bit-for-bit', async () => {
    const model = new HarmonicModel({ kappa: 1, beta: 1, dim: 2 })
    const R = 3
    const d = 2
    const M = 3
    const eta = 0.4
    const sigmaMin = 0.05
    const seed = 9
    const F = 4
    const init = gaussianInit(R, d, 1, 5)
    const { trajectory, modelCalls } = await runTrajectory(model, { mode: 'bridge', scheme: 'em', eta, innerSteps: 1, denoiseSteps: M, sigmaMin, replicas: R, frames: F, seed }, init)
    expect(modelCalls).toBe((F - 1) * M)
    const P = d * (1 + M)
    const noise = new Float32Array(P)
    const x = new Float32Array(d)
    const s = new Float32Array(d)
    // σ_K² = η + σ_min²: the frame carries σ_min, the adapter adds η (docs/science.md "The adapter step")
    const sk = Math.sqrt(eta + sigmaMin * sigmaMin)
    const tau = (i: number): number => (i === M ? sigmaMin : sk * Math.pow(sigmaMin / sk, i / M))
    for (let r = 0; r < R; r++) {
      const y = init.slice(r * d, (r + 1) * d)
      for (let t = 0; t < F - 1; t++) {
        fillNormalsOf('ziggurat', noise, seed, r, t * P)
        for (let i = 0; i < d; i++) x[i] = y[i]! + Math.sqrt(eta) * noise[i]!
        for (let m = 0; m < M; m++) {
          const h = tau(m) ** 2 - tau(m + 1) ** 2
          model.score(x, new Float32Array([tau(m)]), 1, s)
          for (let i = 0; i < d; i++) x[i] = x[i]! + h * s[i]! + Math.sqrt(h) * noise[(1 + m) * d + i]!
        }
        y.set(x)
        const off = (r * F + t + 1) * d
        expect(bits(trajectory.data.slice(off, off + d))).toEqual(bits(y))
      }
    }
  })

  it('with M = 1 and σ_min = 0 reduces to the EM form (constant score: exactly; harmonic: by the exact O(η^{3/2}) difference)', async () => {
    const d = 4
    const B = 64
    const seed = 31
    const eta = 0.01
    const sk = Math.sqrt(eta)
    const noise = new Float32Array(B * 2 * d)
    for (let b = 0; b < B; b++) fillNormals(noise, seed, b, 0, b * 2 * d, 2 * d)
    const y = gaussianInit(B, d, 1, 3)
    // constant score c (linear potential; its smoothed score is c at every σ)
    const c = [0.3, -1.2, 2.5, 0]
    const constant: ScoreModel = {
      dim: d, sigmaRange: [0, Infinity], smoothed: true, rigidBody: false, name: 'constant',
      score(_x, _s, batch, out) { for (let b = 0; b < batch; b++) for (let i = 0; i < d; i++) out[b * d + i] = c[i]! },
    }
    const out = new Float32Array(B * d)
    const step = new AdapterStep(constant, { mode: 'bridge', scheme: 'em', eta, denoiseSteps: 1, sigmaMin: 0 }, B)
    step.step(y, noise, B, out)
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < d; i++) {
        // EM with the combined noise ξ' = (ξ_0 + z)/√2
        const xi = (noise[b * 2 * d + i]! + noise[b * 2 * d + d + i]!) / Math.SQRT2
        const em = y[b * d + i]! + eta * c[i]! + Math.sqrt(2 * eta) * xi
        expect(Math.abs(out[b * d + i]! - em)).toBeLessThan(1e-6 * (1 + Math.abs(em)))
      }
    }
    // harmonic (v = 1, exact smoothed score): bridge − EM = η²y/(v(v+η)) − η^{3/2}ξ_0/(v+η) exactly
    const v = 1
    const harm = new HarmonicModel({ kappa: 1, beta: 1, dim: d })
    const hs = new AdapterStep(harm, { mode: 'bridge', scheme: 'em', eta, denoiseSteps: 1, sigmaMin: 0 }, B)
    hs.step(y, noise, B, out)
    let maxDiff = 0
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < d; i++) {
        const yi = y[b * d + i]!
        const x0 = noise[b * 2 * d + i]!
        const z = noise[b * 2 * d + d + i]!
        const em = yi - (eta * yi) / v + sk * (x0 + z)
        const predicted = (eta * eta * yi) / (v * (v + eta)) - (Math.pow(eta, 1.5) * x0) / (v + eta)
        expect(Math.abs(out[b * d + i]! - em - predicted)).toBeLessThan(2e-7 * (1 + Math.abs(em)))
        maxDiff = Math.max(maxDiff, Math.abs(out[b * d + i]! - em))
      }
    }
    // the difference is O(η^{3/2}) = 1e-3 here: small next to the EM increment √(2η) ≈ 0.14
    expect(maxDiff).toBeLessThan(5 * Math.pow(eta, 1.5))
  })
})

describe('frame storage', () => {
  it('replica r depends only on stream r; growing storage and keepFrames = false keep the frames exact', async () => {
    const model = new HarmonicModel({ kappa: 1, beta: 1, dim: 3 })
    const p = { mode: 'clean' as const, eta: 0.1, innerSteps: 1, denoiseSteps: 1, sigmaMin: 0, frames: 50, seed: 3 }
    const big = 1000 // 3000 values per frame: storage starts at 21 frames and doubles twice
    const initBig = gaussianInit(big, 3, 1, 1)
    const full = await runTrajectory(model, { ...p, replicas: big }, initBig)
    const small = await runTrajectory(model, { ...p, replicas: 2 }, initBig.slice(0, 6))
    expect(full.trajectory.frames).toBe(50)
    expect(bits(full.trajectory.data.slice(0, 2 * 50 * 3))).toEqual(bits(small.trajectory.data))
    const last = await runTrajectory(model, { ...p, replicas: 2 }, initBig.slice(0, 6), { keepFrames: false })
    expect(last.trajectory.frames).toBe(1)
    expect(last.trajectory.meta.firstFrame).toBe(49)
    for (let r = 0; r < 2; r++) expect(bits(last.trajectory.data.slice(r * 3, r * 3 + 3))).toEqual(bits(small.trajectory.data.slice((r * 50 + 49) * 3, (r * 50 + 50) * 3)))
  })
})
