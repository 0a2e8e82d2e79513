/**
 * Internal coordinates and simple structural measures of atom-major coordinates (Å).
 * Atom indices are 0-based; `offset` (in floats) selects a frame inside a trajectory buffer.
 */

type Coords = Float32Array | Float64Array

/** |x_j − x_i| in Å */
export function distance(x: Coords, i: number, j: number, offset = 0): number {
  const a = offset + 3 * i
  const b = offset + 3 * j
  return Math.hypot(x[b]! - x[a]!, x[b + 1]! - x[a + 1]!, x[b + 2]! - x[a + 2]!)
}

/** bond angle i–j–k (vertex j) in radians, in [0, π]; atan2 form, accurate near 0 and π */
export function angle(x: Coords, i: number, j: number, k: number, offset = 0): number {
  const a = offset + 3 * i
  const b = offset + 3 * j
  const c = offset + 3 * k
  const ux = x[a]! - x[b]!, uy = x[a + 1]! - x[b + 1]!, uz = x[a + 2]! - x[b + 2]!
  const vx = x[c]! - x[b]!, vy = x[c + 1]! - x[b + 1]!, vz = x[c + 2]! - x[b + 2]!
  const cx = uy * vz - uz * vy
  const cy = uz * vx - ux * vz
  const cz = ux * vy - uy * vx
  return Math.atan2(Math.hypot(cx, cy, cz), ux * vx + uy * vy + uz * vz)
}

/**
 * Dihedral i–j–k–l in radians, in (−π, π], IUPAC sign: looking along j→k, positive when the
 * front bond j–i must turn clockwise to eclipse the back bond k–l.
 * φ = atan2(|b₂| b₁·(b₂×b₃), (b₁×b₂)·(b₂×b₃)), b₁ = x_j − x_i, b₂ = x_k − x_j, b₃ = x_l − x_k.
 * Degenerate (collinear) geometry gives 0, never NaN.
 */
export function dihedral(x: Coords, i: number, j: number, k: number, l: number, offset = 0): number {
  const a = offset + 3 * i
  const b = offset + 3 * j
  const c = offset + 3 * k
  const d = offset + 3 * l
  const b1x = x[b]! - x[a]!, b1y = x[b + 1]! - x[a + 1]!, b1z = x[b + 2]! - x[a + 2]!
  const b2x = x[c]! - x[b]!, b2y = x[c + 1]! - x[b + 1]!, b2z = x[c + 2]! - x[b + 2]!
  const b3x = x[d]! - x[c]!, b3y = x[d + 1]! - x[c + 1]!, b3z = x[d + 2]! - x[c + 2]!
  // n1 = b1 × b2, n2 = b2 × b3
  const n1x = b1y * b2z - b1z * b2y, n1y = b1z * b2x - b1x * b2z, n1z = b1x * b2y - b1y * b2x
  const n2x = b2y * b3z - b2z * b3y, n2y = b2z * b3x - b2x * b3z, n2z = b2x * b3y - b2y * b3x
  const b2n = Math.hypot(b2x, b2y, b2z)
  const y = b2n * (b1x * n2x + b1y * n2y + b1z * n2z)
  const xx = n1x * n2x + n1y * n2y + n1z * n2z
  const phi = Math.atan2(y, xx)
  return phi === -Math.PI ? Math.PI : phi
}

/** RMSD (Å) between two frames without any fitting */
export function rmsd(a: Coords, b: Coords, nAtoms: number, aOffset = 0, bOffset = 0): number {
  let s = 0
  for (let k = 0; k < 3 * nAtoms; k++) {
    const d = a[aOffset + k]! - b[bOffset + k]!
    s += d * d
  }
  return Math.sqrt(s / nAtoms)
}

/**
 * Radius of gyration (Å): √(Σ mᵢ|xᵢ − c|² / Σ mᵢ) about the (mass-weighted) centroid c;
 * masses optional (equal weights when omitted).
 */
export function radiusOfGyration(x: Coords, nAtoms: number, offset = 0, masses?: ArrayLike<number>): number {
  let cx = 0, cy = 0, cz = 0, m = 0
  for (let i = 0; i < nAtoms; i++) {
    const w = masses ? masses[i]! : 1
    const o = offset + 3 * i
    cx += w * x[o]!
    cy += w * x[o + 1]!
    cz += w * x[o + 2]!
    m += w
  }
  if (!(m > 0)) throw new RangeError('radiusOfGyration: masses must have a positive sum')
  cx /= m; cy /= m; cz /= m
  let s = 0
  for (let i = 0; i < nAtoms; i++) {
    const w = masses ? masses[i]! : 1
    const o = offset + 3 * i
    const dx = x[o]! - cx, dy = x[o + 1]! - cy, dz = x[o + 2]! - cz
    s += w * (dx * dx + dy * dy + dz * dz)
  }
  return Math.sqrt(s / m)
}
