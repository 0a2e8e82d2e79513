/**
 * Rigid-body models (docs/science.md "Rigid-body motion"): frames are re-aligned to the reference (bridge and Langevin
 * modes), and in Langevin modes the rigid-body part of the step is projected out first.
 */
import { describe, expect, it } from 'vitest'
import { runTrajectory } from '../../../src/core/sampler/runner'
import { kabsch } from '../../../src/core/geometry/kabsch'
import type { ScoreModel } from '../../../src/core/score/types'
import type { SamplerMode } from '../../../src/core/sampler/params'
import { UserError } from '../../../src/core/errors'

const N = 5
const d = 3 * N
// an asymmetric, centred reference "molecule" (Å)
const ref = (() => {
  const pts = [[0, 0, 0], [1.5, 0, 0], [2.1, 1.3, 0], [1.9, 1.8, 1.2], [-0.6, -1.1, 0.4]]
  const c = [0, 1, 2].map((a) => pts.reduce((s, p) => s + p[a]!, 0) / N)
  return Float32Array.from(pts.flatMap((p) => p.map((v, a) => v - c[a]!)))
})()

/**
 * Harmonic pull towards the reference rotated by 40° about z and shifted by (1, 2, 3) Å: a model
 * whose score has rigid-body components (exact smoothed score of that Gaussian, v = 0.05 Å²).
 */
function displacedHarmonic(rigidBody: boolean): ScoreModel {
  const c = Math.cos(0.7)
  const s = Math.sin(0.7)
  const target = new Float32Array(d)
  for (let i = 0; i < N; i++) {
    const x = ref[3 * i]!, y = ref[3 * i + 1]!, z = ref[3 * i + 2]!
    target[3 * i] = c * x - s * y + 1
    target[3 * i + 1] = s * x + c * y + 2
    target[3 * i + 2] = z + 3
  }
  const v = 0.05
  return {
    dim: d, sigmaRange: [0, Infinity], smoothed: true, rigidBody, reference: ref, name: 'displaced-harmonic',
    score(x, sigma, batch, out) {
      for (let b = 0; b < batch; b++) for (let k = 0; k < d; k++) out[b * d + k] = -(x[b * d + k]! - target[k]!) / (v + sigma[b]! ** 2)
    },
  }
}

/** a pure infinitesimal-rotation field about z through the centroid, strength λ (Å⁻² per Å) */
function spinner(rigidBody: boolean, lambda: number): ScoreModel {
  return {
    dim: d, sigmaRange: [0, Infinity], smoothed: true, rigidBody, reference: ref, name: 'spinner',
    score(x, _s, batch, out) {
      for (let b = 0; b < batch; b++) {
        let cx = 0, cy = 0
        for (let i = 0; i < N; i++) { cx += x[b * d + 3 * i]! / N; cy += x[b * d + 3 * i + 1]! / N }
        for (let i = 0; i < N; i++) {
          const o = b * d + 3 * i
          out[o] = -lambda * (x[o + 1]! - cy)
          out[o + 1] = lambda * (x[o]! - cx)
          out[o + 2] = 0
        }
      }
    },
  }
}

/** largest deviation from alignment of frame f: |centroid| and |R − I| of the optimal superposition onto ref */
function misalignment(data: Float32Array, off: number): number {
  const frame = data.slice(off, off + d)
  let worst = 0
  for (let a = 0; a < 3; a++) {
    let c = 0
    for (let i = 0; i < N; i++) c += frame[3 * i + a]! / N
    worst = Math.max(worst, Math.abs(c))
  }
  const { R } = kabsch(frame, ref, N)
  for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) worst = Math.max(worst, Math.abs(R[3 * a + b]! - (a === b ? 1 : 0)))
  return worst
}

function distances(data: Float32Array, off: number): number[] {
  const out: number[] = []
  for (let i = 0; i < N; i++) for (let j = i + 1; j < N; j++) {
    out.push(Math.hypot(data[off + 3 * i]! - data[off + 3 * j]!, data[off + 3 * i + 1]! - data[off + 3 * j + 1]!, data[off + 3 * i + 2]! - data[off + 3 * j + 2]!))
  }
  return out
}

describe('rigid-body models', () => {
  const R = 3
  const init = new Float32Array(R * d)
  for (let r = 0; r < R; r++) init.set(ref, r * d)

  for (const mode of ['bridge', 'tied', 'clean'] as SamplerMode[]) {
    it(`${mode}: every frame stays aligned to the reference (and would not without re-alignment)`, async () => {
      const p = { mode, eta: 0.01, innerSteps: 2, denoiseSteps: 4, sigmaMin: 0.01, replicas: R, frames: 12, seed: 3 }
      const res = await runTrajectory(displacedHarmonic(true), p, init)
      let worst = 0
      for (let k = 0; k < R * 12; k++) worst = Math.max(worst, misalignment(res.trajectory.data, k * d))
      // float32 coordinates of a few Å: alignment holds to ~1e-5
      expect(worst).toBeLessThan(1e-4)
      const free = await runTrajectory(displacedHarmonic(false), p, init)
      let drift = 0
      for (let r = 0; r < R; r++) drift = Math.max(drift, misalignment(free.trajectory.data, (r * 12 + 11) * d))
      expect(drift).toBeGreaterThan(0.3)
    })
  }

  it('Langevin modes project the rigid-body part of the step out before re-aligning', async () => {
    // a stiff rotational score: η·λ = 2 rad of tangential displacement per step. Unprojected, that
    // stretches the molecule by √(1 + 2²) ≈ 2.2×; projected, only the noise (√(2η) ≈ 0.045 Å) moves atoms.
    const p = { mode: 'clean' as const, eta: 1e-3, innerSteps: 1, denoiseSteps: 1, sigmaMin: 0, replicas: R, frames: 4, seed: 9 }
    const ref0 = distances(ref, 0)
    const res = await runTrajectory(spinner(true, 2000), p, init)
    const free = await runTrajectory(spinner(false, 2000), p, init)
    let projected = 0
    let unprojected = 0
    for (let r = 0; r < R; r++) {
      const a = distances(res.trajectory.data, (r * 4 + 1) * d)
      const b = distances(free.trajectory.data, (r * 4 + 1) * d)
      a.forEach((v, k) => { projected = Math.max(projected, Math.abs(v - ref0[k]!)) })
      b.forEach((v, k) => { unprojected = Math.max(unprojected, Math.abs(v - ref0[k]!)) })
    }
    // noise alone: each distance changes by N(0, 2·2η) → sd 0.063 Å; 5 sd = 0.32 Å
    expect(projected).toBeLessThan(0.32)
    expect(unprojected).toBeGreaterThan(1)
  })

  it('a rigid-body model without a reference is refused', async () => {
    const m = { ...displacedHarmonic(true), reference: undefined }
    await expect(runTrajectory(m, { mode: 'bridge', eta: 0.01, innerSteps: 1, denoiseSteps: 2, sigmaMin: 0.01, replicas: 1, frames: 2, seed: 1 }, ref)).rejects.toBeInstanceOf(UserError)
  })
})
