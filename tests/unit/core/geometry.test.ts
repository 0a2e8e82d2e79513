import { describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { Aligner, centroid, kabsch } from '../../../src/core/geometry/kabsch'
import { jacobiEigen } from '../../../src/core/geometry/jacobi'
import { RigidBodyProjector } from '../../../src/core/geometry/rigid-body'
import { angle, dihedral, distance, radiusOfGyration, rmsd } from '../../../src/core/geometry/internal'
import { fillNormals } from '../../../src/core/rng/normals'

function randn(n: number, seed: number, scale = 1): Float32Array {
  const a = new Float32Array(n)
  fillNormals(a, seed, 0, 0)
  for (let i = 0; i < n; i++) a[i]! *= scale
  return a
}

/** rotation matrix of the unit quaternion along (a, b, c, d) */
function quatRot(a: number, b: number, c: number, d: number): number[] {
  const n = Math.hypot(a, b, c, d)
  a /= n; b /= n; c /= n; d /= n
  return [
    a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c),
    2 * (b * c + a * d), a * a - b * b + c * c - d * d, 2 * (c * d - a * b),
    2 * (b * d - a * c), 2 * (c * d + a * b), a * a - b * b - c * c + d * d,
  ]
}

function transform(x: Float32Array, n: number, R: ArrayLike<number>, t: number[]): Float32Array {
  const y = new Float32Array(3 * n)
  for (let i = 0; i < n; i++) {
    const [a, b, c] = [x[3 * i]!, x[3 * i + 1]!, x[3 * i + 2]!]
    for (let r = 0; r < 3; r++) y[3 * i + r] = R[3 * r]! * a + R[3 * r + 1]! * b + R[3 * r + 2]! * c + t[r]!
  }
  return y
}

const det3 = (R: ArrayLike<number>): number =>
  R[0]! * (R[4]! * R[8]! - R[5]! * R[7]!) - R[1]! * (R[3]! * R[8]! - R[5]! * R[6]!) + R[2]! * (R[3]! * R[7]! - R[4]! * R[6]!)

function expectProperRotation(R: Float64Array): void {
  expect(R.every(Number.isFinite)).toBe(true)
  expect(det3(R)).toBeCloseTo(1, 10)
  for (let a = 0; a < 3; a++) {
    for (let b = 0; b < 3; b++) {
      const dot = R[3 * a]! * R[3 * b]! + R[3 * a + 1]! * R[3 * b + 1]! + R[3 * a + 2]! * R[3 * b + 2]!
      expect(dot).toBeCloseTo(a === b ? 1 : 0, 10)
    }
  }
}

/**
 * Independent optimal-RMSD formula (Kabsch via singular values): with H = Σ (m−c_m)(r−c_r)ᵀ and
 * singular values s₁ ≥ s₂ ≥ s₃ (square roots of the eigenvalues of HᵀH),
 * RMSD² = (Σ|m−c_m|² + Σ|r−c_r|² − 2(s₁ + s₂ + sign(det H)·s₃))/N.
 */
function svdRmsd(m: Float32Array, r: Float32Array, n: number): number {
  const cm = centroid(m, n)
  const cr = centroid(r, n)
  const H = new Float64Array(9)
  let G = 0
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < 3; a++) {
      const ma = m[3 * i + a]! - cm[a]!
      G += ma * ma + (r[3 * i + a]! - cr[a]!) ** 2
      for (let b = 0; b < 3; b++) H[3 * a + b]! += ma * (r[3 * i + b]! - cr[b]!)
    }
  }
  const HtH = new Float64Array(9)
  for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) for (let k = 0; k < 3; k++) HtH[3 * a + b]! += H[3 * k + a]! * H[3 * k + b]!
  const vals = new Float64Array(3)
  jacobiEigen(HtH, 3, vals, new Float64Array(9))
  const s = Array.from(vals, (v) => Math.sqrt(Math.max(0, v))).sort((p, q) => q - p)
  const sign = det3(H) < 0 ? -1 : 1
  return Math.sqrt(Math.max(0, (G - 2 * (s[0]! + s[1]! + sign * s[2]!)) / n))
}

describe('jacobiEigen', () => {
  it('diagonalises a symmetric matrix: A v = λ v, orthonormal vectors', () => {
    const A = [4, 1, -2, 0.5, 1, 3, 0, 1, -2, 0, 1, 2, 0.5, 1, 2, -1]
    const work = Float64Array.from(A)
    const vals = new Float64Array(4)
    const V = new Float64Array(16)
    jacobiEigen(work, 4, vals, V)
    for (let k = 0; k < 4; k++) {
      for (let i = 0; i < 4; i++) {
        let av = 0
        for (let j = 0; j < 4; j++) av += A[4 * i + j]! * V[4 * j + k]!
        expect(av).toBeCloseTo(vals[k]! * V[4 * i + k]!, 12)
      }
    }
    // trace is preserved
    expect(vals.reduce((s, v) => s + v, 0)).toBeCloseTo(4 + 3 + 1 - 1, 12)
  })
})

describe('kabsch', () => {
  it('recovers a random rotation + translation of random points to 1e-5 Å', () => {
    for (let trial = 0; trial < 10; trial++) {
      const n = 5 + 3 * trial
      const m = randn(3 * n, 100 + trial, 3)
      const q = randn(4, 200 + trial)
      const Q = quatRot(q[0]!, q[1]!, q[2]!, q[3]!)
      const t = [10 * q[1]!, -7, 3 * q[0]!]
      const r = transform(m, n, Q, t)
      const { R, rmsd: e } = kabsch(m, r, n)
      expect(e).toBeLessThan(1e-5)
      expectProperRotation(R)
      for (let k = 0; k < 9; k++) expect(R[k]).toBeCloseTo(Q[k]!, 5)
    }
  })

  it('noisy data: RMSD equals the independent singular-value formula', () => {
    const n = 12
    const m = randn(3 * n, 7, 2)
    const Q = quatRot(0.3, -0.5, 0.2, 0.7)
    const r = transform(m, n, Q, [1, 2, 3])
    const noise = randn(3 * n, 8, 0.3)
    for (let k = 0; k < 3 * n; k++) r[k]! += noise[k]!
    const { R, rmsd: e } = kabsch(m, r, n)
    expectProperRotation(R)
    expect(e).toBeCloseTo(svdRmsd(m, r, n), 5)
    expect(e).toBeGreaterThan(0.1)
  })

  it('reflection guard: a mirror image gives a proper rotation and the optimal proper RMSD', () => {
    const n = 15
    const m = randn(3 * n, 11, 2)
    const r = new Float32Array(m)
    for (let i = 0; i < n; i++) r[3 * i]! *= -1 // mirror through the yz-plane
    const { R, rmsd: e } = kabsch(m, r, n)
    expectProperRotation(R)
    expect(e).toBeCloseTo(svdRmsd(m, r, n), 5)
    expect(e).toBeGreaterThan(0.1)
  })

  it('with offsets and weights: only weighted atoms define the fit', () => {
    const n = 10
    const buf = new Float32Array(3 * n + 6)
    const m = randn(3 * n, 21, 2)
    buf.set(m, 6)
    const Q = quatRot(1, 2, 3, 4)
    const r = transform(m, n, Q, [0, 0, 5])
    // atoms 7..9 are garbage in the reference but weight 0
    for (let k = 21; k < 30; k++) r[k] = 100 + k
    const refBuf = new Float32Array(3 * n + 3)
    refBuf.set(r, 3)
    const w = new Float64Array(n).fill(1)
    w[7] = w[8] = w[9] = 0
    const { R, rmsd: e } = kabsch(buf, refBuf, n, 6, 3, w)
    expect(e).toBeLessThan(1e-5)
    for (let k = 0; k < 9; k++) expect(R[k]).toBeCloseTo(Q[k]!, 5)
  })

  it('degenerate input (planar, collinear, coincident, 1–2 atoms) gives no NaN', () => {
    const planar = randn(3 * 8, 31, 2)
    for (let i = 0; i < 8; i++) planar[3 * i + 2] = 0
    const Q = quatRot(0.2, 0.9, -0.3, 0.1)
    let out = kabsch(planar, transform(planar, 8, Q, [1, 1, 1]), 8)
    expectProperRotation(out.R)
    expect(out.rmsd).toBeLessThan(1e-5)
    for (let k = 0; k < 9; k++) expect(out.R[k]).toBeCloseTo(Q[k]!, 5) // a rigid planar set still fixes R

    const line = new Float32Array(3 * 6)
    for (let i = 0; i < 6; i++) { line[3 * i] = i; line[3 * i + 1] = 2 * i; line[3 * i + 2] = -i }
    out = kabsch(line, transform(line, 6, Q, [0, 3, 0]), 6)
    expectProperRotation(out.R)
    expect(out.rmsd).toBeLessThan(1e-5)

    const same = new Float32Array(12).fill(1.5)
    out = kabsch(same, new Float32Array(12).fill(-2), 4)
    expectProperRotation(out.R)
    expect(out.rmsd).toBe(0)

    out = kabsch(new Float32Array([1, 2, 3]), new Float32Array([4, 5, 6]), 1)
    expectProperRotation(out.R)
    expect(out.rmsd).toBe(0)
    out = kabsch(new Float32Array([0, 0, 0, 1, 0, 0]), new Float32Array([0, 0, 0, 0, 0, 2]), 2)
    expectProperRotation(out.R)
    expect(out.rmsd).toBeCloseTo(Math.sqrt((0.25 + 0.25) / 2), 6) // lengths 1 vs 2: ends 0.5 off
  })
})

describe('Aligner', () => {
  it('superposes frames in place onto the reference and keeps the reference centroid', () => {
    const n = 9
    const ref = randn(3 * n, 41, 2)
    for (let i = 0; i < n; i++) ref[3 * i]! += 4 // reference centroid away from the origin
    const Q = quatRot(-0.4, 0.1, 0.8, 0.3)
    const moved = transform(ref, n, Q, [-3, 8, 1])
    const buf = new Float32Array(3 * 3 * n).fill(7)
    buf.set(moved, 3 * n) // frame 1 of 3
    const al = new Aligner(ref, n)
    const e = al.align(buf, 3 * n)
    expect(e).toBeLessThan(1e-5)
    for (let k = 0; k < 3 * n; k++) expect(buf[3 * n + k]).toBeCloseTo(ref[k]!, 4)
    expect(buf.subarray(0, 3 * n).every((v) => v === 7)).toBe(true)
    expect(buf.subarray(6 * n).every((v) => v === 7)).toBe(true)
    // RMSD reported equals the plain RMSD after alignment
    const noisy = new Float32Array(moved)
    const noise = randn(3 * n, 42, 0.2)
    for (let k = 0; k < 3 * n; k++) noisy[k]! += noise[k]!
    const e2 = al.align(noisy)
    expect(e2).toBeCloseTo(rmsd(noisy, ref, n), 5)
    const c1 = centroid(noisy, n)
    const c0 = centroid(ref, n)
    for (let a = 0; a < 3; a++) expect(c1[a]).toBeCloseTo(c0[a]!, 5)
  })
})

describe('RigidBodyProjector', () => {
  const n = 10
  const x = randn(3 * n, 51, 2)
  const c = centroid(x, n)

  function rigid(t: number[], w: number[]): Float32Array {
    const v = new Float32Array(3 * n)
    for (let i = 0; i < n; i++) {
      const r = [x[3 * i]! - c[0]!, x[3 * i + 1]! - c[1]!, x[3 * i + 2]! - c[2]!]
      v[3 * i] = t[0]! + w[1]! * r[2]! - w[2]! * r[1]!
      v[3 * i + 1] = t[1]! + w[2]! * r[0]! - w[0]! * r[2]!
      v[3 * i + 2] = t[2]! + w[0]! * r[1]! - w[1]! * r[0]!
    }
    return v
  }
  /** Σ coef·(bond-stretch of pair i,j): vᵢ −= u, vⱼ += u, u = xⱼ − xᵢ. Orthogonal to all 6 rigid modes:
   *  Σv = 0, and Σ (ω×(xₖ−c))·vₖ = (ω×u)·u = 0. */
  function stretches(seed: number): Float32Array {
    const v = new Float32Array(3 * n)
    const coef = randn(n * n, seed)
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        const cf = coef[i * n + j]!
        for (let a = 0; a < 3; a++) {
          const u = x[3 * j + a]! - x[3 * i + a]!
          v[3 * i + a]! -= cf * u
          v[3 * j + a]! += cf * u
        }
      }
    }
    return v
  }
  const norm = (v: Float32Array): number => Math.hypot(...v)

  it('removes pure translations and infinitesimal rotations entirely', () => {
    const P = new RigidBodyProjector(n)
    for (const [t, w] of [[[1, 0, 0], [0, 0, 0]], [[0, 0, 0], [0, 0, 1]], [[0.3, -2, 1], [1, -0.5, 0.2]]] as const) {
      const v = rigid([...t], [...w])
      const v0 = norm(v)
      P.project(v, x)
      expect(norm(v)).toBeLessThan(1e-5 * v0)
    }
    expect(P.dimension).toBe(6)
  })

  it('leaves internal motions untouched, splits a mixture exactly and is idempotent', () => {
    const P = new RigidBodyProjector(n)
    const s = stretches(52)
    const v = new Float32Array(s)
    P.project(v, x)
    for (let k = 0; k < 3 * n; k++) expect(Math.abs(v[k]! - s[k]!)).toBeLessThan(1e-5 * norm(s))
    const mix = rigid([1, 2, -1], [0.4, 0.1, -0.9])
    for (let k = 0; k < 3 * n; k++) mix[k]! += s[k]!
    const buf = new Float32Array(3 * n + 4)
    buf.set(mix, 4)
    const xbuf = new Float32Array(3 * n + 2)
    xbuf.set(x, 2)
    P.project(buf, xbuf, 4, 2)
    for (let k = 0; k < 3 * n; k++) expect(Math.abs(buf[4 + k]! - s[k]!)).toBeLessThan(1e-5 * norm(s))
    const once = buf.slice()
    P.project(buf, xbuf, 4, 2)
    for (let k = 0; k < buf.length; k++) expect(Math.abs(buf[k]! - once[k]!)).toBeLessThan(1e-6 * norm(s))
  })

  it('handles linear molecules (5 modes) and a single atom (3 modes) without NaN', () => {
    const line = new Float32Array([0, 0, 0, 1, 1, 1, 2.5, 2.5, 2.5])
    const P = new RigidBodyProjector(3)
    const v = new Float32Array([1, 0.3, -2, 0.5, 0.1, 0, -1, 2, 1])
    P.project(v, line)
    expect(P.dimension).toBe(5)
    expect(v.every(Number.isFinite)).toBe(true)
    // what is left is a stretch along the line and bends: no net translation
    for (let a = 0; a < 3; a++) expect(Math.abs(v[a]! + v[3 + a]! + v[6 + a]!)).toBeLessThan(1e-6)
    const P1 = new RigidBodyProjector(1)
    const v1 = new Float32Array([1, 2, 3])
    P1.project(v1, new Float32Array([5, 5, 5]))
    expect(P1.dimension).toBe(3)
    expect(Array.from(v1)).toEqual([0, 0, 0])
  })
})

describe('internal coordinates', () => {
  // Bond j–k along +z; i in the xz-plane at azimuth 0; l at azimuth θ (counter-clockwise seen from +z).
  // Looking along j→k (from −z towards +z) counter-clockwise-from-above appears clockwise, so by the
  // IUPAC rule the dihedral is +θ.
  const build = (thetaDeg: number): Float32Array => {
    const t = (thetaDeg * Math.PI) / 180
    return new Float32Array([1, 0, -0.5, 0, 0, 0, 0, 0, 1, Math.cos(t), Math.sin(t), 1.5])
  }
  it('dihedral sign conventions on hand-built cases', () => {
    expect(dihedral(build(180), 0, 1, 2, 3)).toBeCloseTo(Math.PI, 6) // trans = +π, never −π
    expect(dihedral(build(0), 0, 1, 2, 3)).toBeCloseTo(0, 6)
    expect(dihedral(build(60), 0, 1, 2, 3)).toBeCloseTo(Math.PI / 3, 6)
    expect(dihedral(build(-60), 0, 1, 2, 3)).toBeCloseTo(-Math.PI / 3, 6)
    expect(dihedral(build(-90), 0, 1, 2, 3)).toBeCloseTo(-Math.PI / 2, 6)
    const exact = new Float64Array([1, 0, 0, 0, 0, 0, 0, 0, 1, -1, 0, 1]) // trans, exactly y = 0
    expect(dihedral(exact, 0, 1, 2, 3)).toBe(Math.PI)
    // reversing the atom order keeps the dihedral; mirroring flips its sign
    expect(dihedral(build(60), 3, 2, 1, 0)).toBeCloseTo(Math.PI / 3, 6)
    const mirror = build(60).map((v, k) => (k % 3 === 1 ? -v : v))
    expect(dihedral(mirror, 0, 1, 2, 3)).toBeCloseTo(-Math.PI / 3, 6)
    // collinear atoms: 0, not NaN
    expect(dihedral(new Float32Array([0, 0, 0, 0, 0, 1, 0, 0, 2, 1, 0, 3]), 0, 1, 2, 3)).toBe(0)
  })

  it('ala2 reference: φ ≈ −150°, ψ ≈ 165° (and values from an independent numpy computation)', () => {
    const lines = readFileSync(path.resolve(__dirname, '../../../resources/examples/ala2/ala2_reference.pdb'), 'utf8').split('\n').filter((l) => l.startsWith('ATOM'))
    expect(lines).toHaveLength(22)
    const x = new Float32Array(lines.flatMap((l) => [30, 38, 46].map((c) => Number(l.slice(c, c + 8)))))
    const idx = (res: string, name: string): number => lines.findIndex((l) => l.slice(17, 20) === res && l.slice(12, 16).trim() === name)
    const [cAce, n, ca, c, nNme] = [idx('ACE', 'C'), idx('ALA', 'N'), idx('ALA', 'CA'), idx('ALA', 'C'), idx('NME', 'N')]
    const deg = 180 / Math.PI
    const phi = dihedral(x, cAce, n, ca, c) * deg
    const psi = dihedral(x, n, ca, c, nNme) * deg
    expect(Math.abs(phi + 150)).toBeLessThan(1)
    expect(Math.abs(psi - 165)).toBeLessThan(1)
    // numpy (Praxeolitic projection formula) on the same coordinates: −150.31069°, 165.75351°
    expect(phi).toBeCloseTo(-150.31069, 3)
    expect(psi).toBeCloseTo(165.75351, 3)
    // numpy: |N−CA| = 1.4637329 Å, angle C(ACE)–N–CA = 124.746063°, Rg (equal weights) = 2.9776520 Å
    expect(distance(x, n, ca)).toBeCloseTo(1.4637329, 5)
    expect(angle(x, cAce, n, ca) * deg).toBeCloseTo(124.746063, 3)
    expect(radiusOfGyration(x, 22)).toBeCloseTo(2.977652, 5)
  })

  it('distance, angle, rmsd and Rg on exact cases', () => {
    const x = new Float32Array([0, 0, 0, 3, 4, 0, 3, 4, 12])
    expect(distance(x, 0, 1)).toBe(5)
    expect(distance(x, 0, 2)).toBe(13)
    expect(angle(x, 0, 1, 2)).toBeCloseTo(Math.PI / 2, 12)
    expect(angle(new Float32Array([1, 0, 0, 0, 0, 0, -2, 0, 0]), 0, 1, 2)).toBeCloseTo(Math.PI, 12)
    expect(angle(new Float32Array([1, 0, 0, 0, 0, 0, 2, 0, 0]), 0, 1, 2)).toBe(0)
    const y = new Float32Array([1, 0, 0, 3, 4, 0, 3, 4, 12])
    expect(rmsd(x, y, 3)).toBeCloseTo(Math.sqrt(1 / 3), 7)
    expect(rmsd(new Float32Array([9, 9, 9, ...y]), y, 3, 3, 0)).toBe(0)
    // two unit masses at ±1 on x: Rg = 1; masses 3:1 at 0 and 4 → c = 1, Rg² = (3·1 + 1·9)/4 = 3
    expect(radiusOfGyration(new Float32Array([-1, 0, 0, 1, 0, 0]), 2)).toBe(1)
    expect(radiusOfGyration(new Float32Array([0, 0, 0, 4, 0, 0]), 2, 0, [3, 1])).toBeCloseTo(Math.sqrt(3), 12)
  })
})
