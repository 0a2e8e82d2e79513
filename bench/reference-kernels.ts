/**
 * The kernels as they were before the speed work of issue 12, kept only so that the benches can
 * print before/after side by side in one run (a loaded machine's absolute numbers drift; ratios
 * measured in one process hold). Not used by the app.
 */
import { philox4x32 } from '../src/core/rng/philox'

const TWO32 = 4294967296
const INV_TWO32 = 1 / TWO32
const TWO_PI = 2 * Math.PI
const words = new Uint32Array(4)
const block = new Float64Array(4)

/** fillNormals before: one Philox call per block through philox4x32, then Box–Muller */
export function fillNormalsBefore(out: Float32Array, seed: number, stream: number, start: number, outOffset: number, count: number): void {
  const k0 = seed >>> 0
  const k1 = Math.floor(seed / TWO32) >>> 0
  let n = start
  let o = outOffset
  const end = outOffset + count
  while (o < end) {
    const b = Math.floor(n / 4)
    const lane = n - 4 * b
    philox4x32(b >>> 0, Math.floor(b / TWO32) >>> 0, stream, 0, k0, k1, words, 0)
    const r0 = Math.sqrt(-2 * Math.log((words[0]! + 0.5) * INV_TWO32))
    const t0 = TWO_PI * (words[1]! + 0.5) * INV_TWO32
    const r1 = Math.sqrt(-2 * Math.log((words[2]! + 0.5) * INV_TWO32))
    const t1 = TWO_PI * (words[3]! + 0.5) * INV_TWO32
    block[0] = r0 * Math.cos(t0)
    block[1] = r0 * Math.sin(t0)
    block[2] = r1 * Math.cos(t1)
    block[3] = r1 * Math.sin(t1)
    const take = Math.min(4 - lane, end - o)
    for (let i = 0; i < take; i++) out[o + i] = block[lane + i]!
    o += take
    n += take
  }
}

/** RigidBodyProjector before: explicit basis, Gram–Schmidt twice per frame */
export class RigidBodyProjectorBefore {
  /** orthonormal basis, up to 6 rows of length 3N */
  private readonly basis: Float64Array
  private rank = 0

  constructor(readonly nAtoms: number) {
    if (!Number.isInteger(nAtoms) || nAtoms < 1) throw new RangeError(`RigidBodyProjectorBefore: nAtoms must be ≥ 1, got ${nAtoms}`)
    this.basis = new Float64Array(6 * 3 * nAtoms)
  }

  /** number of independent rigid-body directions at the last projected configuration (≤ 6) */
  get dimension(): number {
    return this.rank
  }

  /** builds the orthonormal rigid-body basis at x[xOffset … xOffset+3N) */
  private build(x: Float32Array, xOffset: number): void {
    const n = this.nAtoms
    const d = 3 * n
    const B = this.basis
    let cx = 0, cy = 0, cz = 0
    for (let i = 0; i < n; i++) {
      cx += x[xOffset + 3 * i]!
      cy += x[xOffset + 3 * i + 1]!
      cz += x[xOffset + 3 * i + 2]!
    }
    cx /= n; cy /= n; cz /= n
    let spread = 0
    for (let i = 0; i < n; i++) {
      const rx = x[xOffset + 3 * i]! - cx
      const ry = x[xOffset + 3 * i + 1]! - cy
      const rz = x[xOffset + 3 * i + 2]! - cz
      spread += rx * rx + ry * ry + rz * rz
    }
    // a rotation direction is kept when its norm² after orthogonalisation exceeds this fraction of
    // the spread Σ|x_i − c|² (≥ the norm² of each raw rotation vector)
    const tol = 1e-10 * spread
    let rank = 0
    for (let a = 0; a < 6; a++) {
      const row = rank * d
      for (let i = 0; i < n; i++) {
        const o = row + 3 * i
        if (a < 3) {
          B[o] = a === 0 ? 1 : 0
          B[o + 1] = a === 1 ? 1 : 0
          B[o + 2] = a === 2 ? 1 : 0
        } else {
          const rx = x[xOffset + 3 * i]! - cx
          const ry = x[xOffset + 3 * i + 1]! - cy
          const rz = x[xOffset + 3 * i + 2]! - cz
          // e_a × r for a = x, y, z
          if (a === 3) { B[o] = 0; B[o + 1] = -rz; B[o + 2] = ry }
          else if (a === 4) { B[o] = rz; B[o + 1] = 0; B[o + 2] = -rx }
          else { B[o] = -ry; B[o + 1] = rx; B[o + 2] = 0 }
        }
      }
      for (let pass = 0; pass < 2; pass++) {
        for (let b = 0; b < rank; b++) {
          let dot = 0
          const rb = b * d
          for (let k = 0; k < d; k++) dot += B[row + k]! * B[rb + k]!
          for (let k = 0; k < d; k++) B[row + k] = B[row + k]! - dot * B[rb + k]!
        }
      }
      let nrm = 0
      for (let k = 0; k < d; k++) nrm += B[row + k]! * B[row + k]!
      if (a < 3 || nrm > tol) {
        const inv = 1 / Math.sqrt(nrm)
        for (let k = 0; k < d; k++) B[row + k] = B[row + k]! * inv
        rank++
      }
    }
    this.rank = rank
  }

  /**
   * Removes in place from v[vOffset … vOffset+3N) its components along the rigid-body directions
   * at x[xOffset …): v ← v − Σ_b (b·v) b. Allocation-free.
   */
  project(v: Float32Array, x: Float32Array, vOffset = 0, xOffset = 0): void {
    this.build(x, xOffset)
    const d = 3 * this.nAtoms
    const B = this.basis
    for (let b = 0; b < this.rank; b++) {
      const rb = b * d
      let dot = 0
      for (let k = 0; k < d; k++) dot += B[rb + k]! * v[vOffset + k]!
      for (let k = 0; k < d; k++) v[vOffset + k] = v[vOffset + k]! - dot * B[rb + k]!
    }
  }
}
