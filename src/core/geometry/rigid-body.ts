import { jacobiEigen } from './jacobi'

/**
 * Projection onto the orthogonal complement of the rigid-body tangent space (docs/science.md "Rigid-body motion").
 * At a configuration x (N atoms, Å) the 6 rigid-body directions in R^{3N} are the translations
 * e_a ⊗ 1 and the infinitesimal rotations about the centroid c, atom i component ω × r_i with
 * r_i = x_i − c. The two families are orthogonal (Σ r_i = 0), so the projection is closed-form:
 *   translations:  v_i ← v_i − v̄                                (v̄ the mean over atoms)
 *   rotations:     v_i ← v_i − ω × r_i,  ω = I⁺ L,
 * L = Σ r_i × v_i the "angular momentum" of v and I = Σ (|r_i|² 1 − r_i r_iᵀ) the inertia tensor
 * (unit masses): with A ω = (ω × r_i)_i, Aᵀv = L and AᵀA = I, so A I⁺ Aᵀ is the orthogonal projector
 * onto the rotations. I⁺ is taken over I's eigen-directions (Jacobi, 3×3, float64) with eigenvalue
 * above 10⁻¹⁰ of the spread Σ|r_i|²: a linear molecule has 2 rotations, a single atom none.
 * O(N) per frame and allocation-free (it replaced an O(N) Gram–Schmidt with ~10× the arithmetic).
 */
export class RigidBodyProjector {
  private rank = 0
  private readonly inertia = new Float64Array(9)
  private readonly values = new Float64Array(3)
  private readonly vectors = new Float64Array(9)

  constructor(readonly nAtoms: number) {
    if (!Number.isInteger(nAtoms) || nAtoms < 1) throw new RangeError(`RigidBodyProjector: nAtoms must be ≥ 1, got ${nAtoms}`)
  }

  /** number of independent rigid-body directions at the last projected configuration (≤ 6) */
  get dimension(): number {
    return this.rank
  }

  /**
   * Removes in place from v[vOffset … vOffset+3N) its components along the rigid-body directions
   * at x[xOffset …): v ← v − Σ_b (b·v) b over an orthonormal basis b of them. Allocation-free.
   */
  project(v: Float32Array, x: Float32Array, vOffset = 0, xOffset = 0): void {
    const n = this.nAtoms
    let cx = 0, cy = 0, cz = 0
    for (let i = 0; i < n; i++) {
      const o = xOffset + 3 * i
      cx += x[o]!
      cy += x[o + 1]!
      cz += x[o + 2]!
    }
    cx /= n; cy /= n; cz /= n
    let mx = 0, my = 0, mz = 0
    let ixx = 0, iyy = 0, izz = 0, ixy = 0, ixz = 0, iyz = 0
    let lx = 0, ly = 0, lz = 0
    for (let i = 0; i < n; i++) {
      const o = xOffset + 3 * i
      const q = vOffset + 3 * i
      const rx = x[o]! - cx, ry = x[o + 1]! - cy, rz = x[o + 2]! - cz
      const vx = v[q]!, vy = v[q + 1]!, vz = v[q + 2]!
      mx += vx; my += vy; mz += vz
      const xx = rx * rx, yy = ry * ry, zz = rz * rz
      ixx += yy + zz; iyy += xx + zz; izz += xx + yy
      ixy -= rx * ry; ixz -= rx * rz; iyz -= ry * rz
      lx += ry * vz - rz * vy
      ly += rz * vx - rx * vz
      lz += rx * vy - ry * vx
    }
    mx /= n; my /= n; mz /= n
    const spread = (ixx + iyy + izz) / 2
    const I = this.inertia
    I[0] = ixx; I[1] = ixy; I[2] = ixz
    I[3] = ixy; I[4] = iyy; I[5] = iyz
    I[6] = ixz; I[7] = iyz; I[8] = izz
    const lam = this.values
    const U = this.vectors
    jacobiEigen(I, 3, lam, U)
    const tol = 1e-10 * spread
    let wx = 0, wy = 0, wz = 0
    let rank = 3
    for (let k = 0; k < 3; k++) {
      const l = lam[k]!
      if (!(l > tol)) continue
      rank++
      const ux = U[k]!, uy = U[3 + k]!, uz = U[6 + k]!
      const c = (ux * lx + uy * ly + uz * lz) / l
      wx += c * ux; wy += c * uy; wz += c * uz
    }
    this.rank = rank
    for (let i = 0; i < n; i++) {
      const o = xOffset + 3 * i
      const q = vOffset + 3 * i
      const rx = x[o]! - cx, ry = x[o + 1]! - cy, rz = x[o + 2]! - cz
      // v_i − v̄ − ω × r_i
      v[q] = v[q]! - mx - (wy * rz - wz * ry)
      v[q + 1] = v[q + 1]! - my - (wz * rx - wx * rz)
      v[q + 2] = v[q + 2]! - mz - (wx * ry - wy * rx)
    }
  }
}
