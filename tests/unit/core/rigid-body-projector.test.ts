/**
 * The closed-form rigid-body projector (src/core/geometry/rigid-body.ts: v − v̄ − (I⁺L) × r) against
 * an independent answer: the explicit 6 rigid-body directions orthonormalised by Gram–Schmidt in
 * float64 (the algorithm it replaced), and the defining properties (the result is orthogonal to
 * every rigid-body direction and projecting twice changes nothing).
 * Tolerances: v is float32 (relative rounding 6·10⁻⁸ per value); the projection sums O(N) float64
 * terms and writes float32, so agreement to 1e-5 of |v| is float32 rounding with a wide margin.
 */
import { describe, expect, it } from 'vitest'
import { RigidBodyProjector } from '../../../src/core/geometry/rigid-body'
import { fillNormals } from '../../../src/core/rng/normals'

/** reference: explicit basis, modified Gram–Schmidt twice, drop rotations with norm² ≤ 1e-10 spread */
function projectRef(v: Float64Array, x: Float64Array, n: number): { out: Float64Array; rank: number } {
  const d = 3 * n
  const c = [0, 1, 2].map((a) => { let s = 0; for (let i = 0; i < n; i++) s += x[3 * i + a]!; return s / n })
  let spread = 0
  for (let i = 0; i < n; i++) for (let a = 0; a < 3; a++) spread += (x[3 * i + a]! - c[a]!) ** 2
  const basis: Float64Array[] = []
  for (let a = 0; a < 6; a++) {
    const b = new Float64Array(d)
    for (let i = 0; i < n; i++) {
      const r = [0, 1, 2].map((k) => x[3 * i + k]! - c[k]!)
      if (a < 3) b[3 * i + a] = 1
      else {
        const e = [0, 0, 0]
        e[a - 3] = 1
        b[3 * i] = e[1]! * r[2]! - e[2]! * r[1]!
        b[3 * i + 1] = e[2]! * r[0]! - e[0]! * r[2]!
        b[3 * i + 2] = e[0]! * r[1]! - e[1]! * r[0]!
      }
    }
    for (let pass = 0; pass < 2; pass++) for (const q of basis) { let dot = 0; for (let k = 0; k < d; k++) dot += b[k]! * q[k]!; for (let k = 0; k < d; k++) b[k] = b[k]! - dot * q[k]! }
    let nrm = 0
    for (let k = 0; k < d; k++) nrm += b[k]! ** 2
    if (a < 3 || nrm > 1e-10 * spread) { for (let k = 0; k < d; k++) b[k] = b[k]! / Math.sqrt(nrm); basis.push(b) }
  }
  const out = Float64Array.from(v)
  for (const q of basis) { let dot = 0; for (let k = 0; k < d; k++) dot += out[k]! * q[k]!; for (let k = 0; k < d; k++) out[k] = out[k]! - dot * q[k]! }
  return { out, rank: basis.length }
}

function check(x: Float32Array, n: number, seed: number, expectedRank: number): void {
  const v = new Float32Array(3 * n)
  fillNormals(v, seed, 1, 0)
  const ref = projectRef(Float64Array.from(v), Float64Array.from(x), n)
  const p = new RigidBodyProjector(n)
  const w = Float32Array.from(v)
  p.project(w, x)
  expect(p.dimension).toBe(expectedRank)
  expect(ref.rank).toBe(expectedRank)
  let norm = 0
  for (let k = 0; k < 3 * n; k++) norm = Math.max(norm, Math.abs(v[k]!))
  for (let k = 0; k < 3 * n; k++) expect(Math.abs(w[k]! - ref.out[k]!)).toBeLessThan(1e-5 * norm)
  // idempotent: projecting again moves nothing beyond float32 rounding
  const w2 = Float32Array.from(w)
  p.project(w2, x)
  for (let k = 0; k < 3 * n; k++) expect(Math.abs(w2[k]! - w[k]!)).toBeLessThan(1e-5 * norm)
}

describe('RigidBodyProjector (closed form) vs Gram–Schmidt on the explicit basis', () => {
  it('22 random atoms (alanine dipeptide size), several frames, with offsets', () => {
    const n = 22
    for (let s = 0; s < 5; s++) {
      const x = new Float32Array(3 * n)
      fillNormals(x, 100 + s, 0, 0)
      for (let k = 0; k < x.length; k++) x[k] = 2 * x[k]! + 5
      check(x, n, 200 + s, 6)
    }
    // offsets: frame 1 of a two-frame buffer
    const x = new Float32Array(6 * n)
    fillNormals(x, 7, 0, 0)
    const v = new Float32Array(6 * n)
    fillNormals(v, 8, 0, 0)
    const p = new RigidBodyProjector(n)
    const alone = v.slice(3 * n)
    p.project(alone, x.slice(3 * n))
    p.project(v, x, 3 * n, 3 * n)
    expect(Array.from(v.subarray(3 * n))).toEqual(Array.from(alone))
  })

  it('planar molecule keeps all 3 rotations', () => {
    const x = Float32Array.from([0, 0, 0, 1.4, 0, 0, 2.1, 1.2, 0, 0.3, -1.1, 0])
    check(x, 4, 3, 6)
  })

  it('linear molecule: 2 rotations (the one about its axis is no motion)', () => {
    const x = Float32Array.from([0, 0, 0, 1.1, 1.1, 1.1, 2.5, 2.5, 2.5, -1, -1, -1])
    check(x, 4, 4, 5)
  })

  it('a single atom: translations only', () => {
    check(Float32Array.from([0.3, -2, 1]), 1, 5, 3)
    const p = new RigidBodyProjector(1)
    const v = Float32Array.from([1, 2, 3])
    p.project(v, Float32Array.from([0.3, -2, 1]))
    expect(Array.from(v)).toEqual([0, 0, 0])
  })

  it('removes a pure rigid motion entirely and keeps an internal one', () => {
    const n = 6
    const x = new Float32Array(3 * n)
    fillNormals(x, 11, 0, 0)
    const c = [0, 1, 2].map((a) => { let s = 0; for (let i = 0; i < n; i++) s += x[3 * i + a]!; return s / n })
    // translation (0.5, −1, 2) plus rotation ω = (0.3, −0.2, 0.7) about the centroid
    const w = [0.3, -0.2, 0.7]
    const v = new Float32Array(3 * n)
    for (let i = 0; i < n; i++) {
      const r = [0, 1, 2].map((a) => x[3 * i + a]! - c[a]!)
      v[3 * i] = 0.5 + w[1]! * r[2]! - w[2]! * r[1]!
      v[3 * i + 1] = -1 + w[2]! * r[0]! - w[0]! * r[2]!
      v[3 * i + 2] = 2 + w[0]! * r[1]! - w[1]! * r[0]!
    }
    new RigidBodyProjector(n).project(v, x)
    for (const a of v) expect(Math.abs(a)).toBeLessThan(1e-5)
  })
})
