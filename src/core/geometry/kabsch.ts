/**
 * Optimal superposition (Kabsch problem) by Horn's quaternion method: the best rotation is the
 * unit quaternion of the largest eigenvalue of a symmetric 4×4 matrix, found by Jacobi in float64.
 * A unit quaternion always gives a proper rotation (det +1), so mirror images never produce a
 * reflection, and planar, collinear or coincident atoms give a valid (if non-unique) rotation.
 * Coordinates in Å, atom-major (x0,y0,z0,x1,…), `offset` counts floats, not atoms.
 */
import { jacobiEigen } from './jacobi'

/**
 * Centroid (Å) of nAtoms atoms of x starting at float offset `offset`; with `weights`
 * (length ≥ nAtoms, e.g. masses or a 0/1 fit selection) the weighted centroid.
 */
export function centroid(x: Float32Array, nAtoms: number, offset = 0, out: Float64Array = new Float64Array(3), weights?: Float64Array): Float64Array {
  let cx = 0
  let cy = 0
  let cz = 0
  let wsum = 0
  for (let i = 0; i < nAtoms; i++) {
    const w = weights ? weights[i]! : 1
    const o = offset + 3 * i
    cx += w * x[o]!
    cy += w * x[o + 1]!
    cz += w * x[o + 2]!
    wsum += w
  }
  if (!(wsum > 0)) throw new RangeError('centroid: the weights must have a positive sum')
  out[0] = cx / wsum
  out[1] = cy / wsum
  out[2] = cz / wsum
  return out
}

/** preallocated scratch for one superposition */
export class KabschScratch {
  readonly cMobile = new Float64Array(3)
  readonly cRef = new Float64Array(3)
  /** correlation S_ab = Σ w (m − c_m)_a (r − c_r)_b, row-major 3×3 */
  readonly corr = new Float64Array(9)
  readonly n4 = new Float64Array(16)
  readonly values = new Float64Array(4)
  readonly vectors = new Float64Array(16)
}

/** step 1: weighted centroids of mobile (→ s.cMobile) and ref (→ s.cRef, or copied from refCentroid); returns Σw */
function centroids(mobile: Float32Array, mobileOffset: number, ref: Float32Array | Float64Array, refOffset: number, nAtoms: number, weights: Float64Array | undefined, s: KabschScratch, refCentroid?: Float64Array): number {
  const cm = s.cMobile
  const cr = s.cRef
  let mx = 0, my = 0, mz = 0, rx = 0, ry = 0, rz = 0, wsum = 0
  for (let i = 0; i < nAtoms; i++) {
    const w = weights ? weights[i]! : 1
    const om = mobileOffset + 3 * i
    const or = refOffset + 3 * i
    mx += w * mobile[om]!
    my += w * mobile[om + 1]!
    mz += w * mobile[om + 2]!
    rx += w * ref[or]!
    ry += w * ref[or + 1]!
    rz += w * ref[or + 2]!
    wsum += w
  }
  if (!(wsum > 0)) throw new RangeError('kabsch: the weights must have a positive sum')
  cm[0] = mx / wsum
  cm[1] = my / wsum
  cm[2] = mz / wsum
  if (refCentroid) {
    cr[0] = refCentroid[0]!
    cr[1] = refCentroid[1]!
    cr[2] = refCentroid[2]!
  } else {
    cr[0] = rx / wsum
    cr[1] = ry / wsum
    cr[2] = rz / wsum
  }
  return wsum
}

/** step 2: the correlation matrix S_ab = Σ w (m − c_m)_a (r − c_r)_b into s.corr */
function correlation(mobile: Float32Array, mobileOffset: number, ref: Float32Array | Float64Array, refOffset: number, nAtoms: number, weights: Float64Array | undefined, s: KabschScratch): void {
  const cmx = s.cMobile[0]!, cmy = s.cMobile[1]!, cmz = s.cMobile[2]!
  const crx = s.cRef[0]!, cry = s.cRef[1]!, crz = s.cRef[2]!
  let sxx = 0, sxy = 0, sxz = 0, syx = 0, syy = 0, syz = 0, szx = 0, szy = 0, szz = 0
  for (let i = 0; i < nAtoms; i++) {
    const w = weights ? weights[i]! : 1
    if (w === 0) continue
    const om = mobileOffset + 3 * i
    const or = refOffset + 3 * i
    const ax = mobile[om]! - cmx
    const ay = mobile[om + 1]! - cmy
    const az = mobile[om + 2]! - cmz
    const bx = w * (ref[or]! - crx)
    const by = w * (ref[or + 1]! - cry)
    const bz = w * (ref[or + 2]! - crz)
    sxx += ax * bx; sxy += ax * by; sxz += ax * bz
    syx += ay * bx; syy += ay * by; syz += ay * bz
    szx += az * bx; szy += az * by; szz += az * bz
  }
  const S = s.corr
  S[0] = sxx; S[1] = sxy; S[2] = sxz; S[3] = syx; S[4] = syy; S[5] = syz; S[6] = szx; S[7] = szy; S[8] = szz
}

/** step 3: Horn (1987): the rotation R maximising Σ r·(R m) = qᵀ N q over unit quaternions q, from s.corr */
function hornRotation(s: KabschScratch, R: Float64Array): void {
  const S = s.corr
  const sxx = S[0]!, sxy = S[1]!, sxz = S[2]!, syx = S[3]!, syy = S[4]!, syz = S[5]!, szx = S[6]!, szy = S[7]!, szz = S[8]!
  const N = s.n4
  N[0] = sxx + syy + szz
  N[1] = N[4] = syz - szy
  N[2] = N[8] = szx - sxz
  N[3] = N[12] = sxy - syx
  N[5] = sxx - syy - szz
  N[6] = N[9] = sxy + syx
  N[7] = N[13] = szx + sxz
  N[10] = -sxx + syy - szz
  N[11] = N[14] = syz + szy
  N[15] = -sxx - syy + szz
  jacobiEigen(N, 4, s.values, s.vectors)
  let best = 0
  for (let k = 1; k < 4; k++) if (s.values[k]! > s.values[best]!) best = k
  const V = s.vectors
  let q0 = V[best]!
  let q1 = V[4 + best]!
  let q2 = V[8 + best]!
  let q3 = V[12 + best]!
  const qn = Math.hypot(q0, q1, q2, q3)
  q0 /= qn; q1 /= qn; q2 /= qn; q3 /= qn
  R[0] = q0 * q0 + q1 * q1 - q2 * q2 - q3 * q3
  R[1] = 2 * (q1 * q2 - q0 * q3)
  R[2] = 2 * (q1 * q3 + q0 * q2)
  R[3] = 2 * (q1 * q2 + q0 * q3)
  R[4] = q0 * q0 - q1 * q1 + q2 * q2 - q3 * q3
  R[5] = 2 * (q2 * q3 - q0 * q1)
  R[6] = 2 * (q1 * q3 - q0 * q2)
  R[7] = 2 * (q2 * q3 + q0 * q1)
  R[8] = q0 * q0 - q1 * q1 - q2 * q2 + q3 * q3
}

/** step 4: the weighted RMSD after superposition, evaluated directly (no cancellation as in G − 2λ_max) */
function rmsdAfter(mobile: Float32Array, mobileOffset: number, ref: Float32Array | Float64Array, refOffset: number, nAtoms: number, weights: Float64Array | undefined, R: Float64Array, s: KabschScratch, wsum: number): number {
  const cmx = s.cMobile[0]!, cmy = s.cMobile[1]!, cmz = s.cMobile[2]!
  const crx = s.cRef[0]!, cry = s.cRef[1]!, crz = s.cRef[2]!
  const r0 = R[0]!, r1 = R[1]!, r2 = R[2]!, r3 = R[3]!, r4 = R[4]!, r5 = R[5]!, r6 = R[6]!, r7 = R[7]!, r8 = R[8]!
  let ssd = 0
  for (let i = 0; i < nAtoms; i++) {
    const w = weights ? weights[i]! : 1
    if (w === 0) continue
    const om = mobileOffset + 3 * i
    const or = refOffset + 3 * i
    const ax = mobile[om]! - cmx
    const ay = mobile[om + 1]! - cmy
    const az = mobile[om + 2]! - cmz
    const dx = r0 * ax + r1 * ay + r2 * az - (ref[or]! - crx)
    const dy = r3 * ax + r4 * ay + r5 * az - (ref[or + 1]! - cry)
    const dz = r6 * ax + r7 * ay + r8 * az - (ref[or + 2]! - crz)
    ssd += w * (dx * dx + dy * dy + dz * dz)
  }
  return Math.sqrt(ssd / wsum)
}

/**
 * Core of the superposition, allocation-free: writes into R (3×3 row-major) the proper rotation
 * minimising Σ wᵢ|R(mᵢ − c_m) − (rᵢ − c_r)|², leaves the weighted centroids in scratch.cMobile and
 * scratch.cRef, and returns the weighted RMSD after superposition (Å). `refCentroid`, when given,
 * is used instead of computing the reference centroid (it must be the weighted centroid).
 * Steps: centroids, correlation matrix, Horn's quaternion rotation, RMSD.
 */
export function superpose(
  mobile: Float32Array,
  mobileOffset: number,
  ref: Float32Array | Float64Array,
  refOffset: number,
  nAtoms: number,
  weights: Float64Array | undefined,
  R: Float64Array,
  s: KabschScratch,
  refCentroid?: Float64Array
): number {
  const wsum = centroids(mobile, mobileOffset, ref, refOffset, nAtoms, weights, s, refCentroid)
  correlation(mobile, mobileOffset, ref, refOffset, nAtoms, weights, s)
  hornRotation(s, R)
  return rmsdAfter(mobile, mobileOffset, ref, refOffset, nAtoms, weights, R, s, wsum)
}

const shared = new KabschScratch()

/**
 * Rotation R (3×3 row-major, proper: det +1, reflection guard) minimising
 * Σ wᵢ|R(mᵢ − c_m) − (rᵢ − c_r)|², and the RMSD (Å) after superposition.
 * weights: optional, length ≥ nAtoms (masses, or 0/1 to fit on a subset).
 */
export function kabsch(
  mobile: Float32Array,
  ref: Float32Array,
  nAtoms: number,
  mobileOffset = 0,
  refOffset = 0,
  weights?: Float64Array
): { R: Float64Array; rmsd: number } {
  const R = new Float64Array(9)
  const rmsd = superpose(mobile, mobileOffset, ref, refOffset, nAtoms, weights, R, shared)
  return { R, rmsd }
}

/**
 * In-place superposition of frames onto a fixed reference: after align(), a frame's (weighted)
 * centroid coincides with the reference's (e.g. the origin) and its orientation is optimal.
 * All atoms are moved; only atoms with weight > 0 determine the fit. Allocation-free per call.
 */
export class Aligner {
  private readonly ref: Float64Array
  private readonly refCentroid: Float64Array
  private readonly weights: Float64Array | undefined
  private readonly scratch = new KabschScratch()
  /** rotation applied by the last align() call (3×3 row-major) */
  readonly R = new Float64Array(9)

  constructor(
    reference: Float32Array,
    readonly nAtoms: number,
    weights?: Float64Array
  ) {
    if (reference.length < 3 * nAtoms) throw new RangeError(`Aligner: reference has ${reference.length} values, need ${3 * nAtoms}`)
    this.ref = Float64Array.from(reference.subarray(0, 3 * nAtoms))
    this.weights = weights ? Float64Array.from(weights.subarray(0, nAtoms)) : undefined
    this.refCentroid = centroid(reference, nAtoms, 0, new Float64Array(3), this.weights)
  }

  /** superposes frame[offset … offset+3N) onto the reference in place; returns the RMSD (Å) */
  align(frame: Float32Array, offset = 0): number {
    const R = this.R
    const rmsd = superpose(frame, offset, this.ref, 0, this.nAtoms, this.weights, R, this.scratch, this.refCentroid)
    const cm = this.scratch.cMobile
    const cr = this.refCentroid
    for (let i = 0; i < this.nAtoms; i++) {
      const o = offset + 3 * i
      const ax = frame[o]! - cm[0]!
      const ay = frame[o + 1]! - cm[1]!
      const az = frame[o + 2]! - cm[2]!
      frame[o] = R[0]! * ax + R[1]! * ay + R[2]! * az + cr[0]!
      frame[o + 1] = R[3]! * ax + R[4]! * ay + R[5]! * az + cr[1]!
      frame[o + 2] = R[6]! * ax + R[7]! * ay + R[8]! * az + cr[2]!
    }
    return rmsd
  }
}
