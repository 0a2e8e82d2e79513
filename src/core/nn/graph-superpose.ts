/**
 * The sampler's per-step checks written as ONNX ops, so a fused K-step graph can keep its state on
 * the device between calls (docs/speed.md "WebGPU: state on the device"):
 *
 *  - emitSuperpose: Horn's quaternion superposition onto a fixed reference, the same optimal proper
 *    rotation as the host's Aligner (core/geometry/kabsch.ts). ONNX has no eigensolver, so the
 *    quaternion of the largest eigenvalue of Horn's symmetric 4×4 matrix N is found by repeated
 *    squaring of the shifted matrix N + c·I (c = ‖N‖_F ≥ every |eigenvalue|, so it is positive
 *    semi-definite and its top eigenvector is N's): after s squarings the other eigen-directions are
 *    down by ((λ₂ + c)/(λ₁ + c))^(2^s), and the normalised power is the projector q qᵀ.
 *  - emitTrustInside: the trust region's whitened-distance test (core/sampler/trust-region.ts).
 *  - emitFinite: the explosion test of the core sampler (core/sampler/run-state.ts).
 *
 * All take and return plain tensors of the graph: frames are [B, d] with d = 3N, atom-major. They use
 * only ops that onnxruntime-web's WebGPU kernels implement (no Max, IsNaN or eigensolver), so on a
 * GPU no node falls back to the CPU and no step copies its state off the device.
 */
import type { Graph, Tensor } from './graph'
import { jacobiEigen } from '../geometry/jacobi'

/** most squarings of N + cI: 2^24 powers separate eigenvalues whose shifted ratio is 1 − 2·10⁻⁶ */
export const MAX_SQUARINGS = 24
const MIN_SQUARINGS = 6
/** renormalise by the trace every this many squarings (eigenvalues of a trace-1 PSD 4×4 stay ≥ 4^−16 over 3 squarings: no float32 underflow of the top one) */
const RENORM_EVERY = 3

/** N (row-major 4×4, flattened) as a linear map of the correlation S (row-major 3×3, flattened): N16 = S9 · HORN[9 × 16] */
function hornMap(): Float64Array {
  // rows: S index a·3 + b (S_ab = Σ m_a r_b); columns: N index i·4 + j
  const H = new Float64Array(9 * 16)
  const put = (a: number, b: number, i: number, j: number, sign: number): void => {
    H[(a * 3 + b) * 16 + i * 4 + j]! += sign
    if (i !== j) H[(a * 3 + b) * 16 + j * 4 + i]! += sign
  }
  const [x, y, z] = [0, 1, 2]
  // N00 = Sxx + Syy + Szz
  put(x, x, 0, 0, 1); put(y, y, 0, 0, 1); put(z, z, 0, 0, 1)
  // N01 = Syz − Szy, N02 = Szx − Sxz, N03 = Sxy − Syx
  put(y, z, 0, 1, 1); put(z, y, 0, 1, -1)
  put(z, x, 0, 2, 1); put(x, z, 0, 2, -1)
  put(x, y, 0, 3, 1); put(y, x, 0, 3, -1)
  // N11 = Sxx − Syy − Szz, N12 = Sxy + Syx, N13 = Szx + Sxz
  put(x, x, 1, 1, 1); put(y, y, 1, 1, -1); put(z, z, 1, 1, -1)
  put(x, y, 1, 2, 1); put(y, x, 1, 2, 1)
  put(z, x, 1, 3, 1); put(x, z, 1, 3, 1)
  // N22 = −Sxx + Syy − Szz, N23 = Syz + Szy
  put(x, x, 2, 2, -1); put(y, y, 2, 2, 1); put(z, z, 2, 2, -1)
  put(y, z, 2, 3, 1); put(z, y, 2, 3, 1)
  // N33 = −Sxx − Syy + Szz
  put(x, x, 3, 3, -1); put(y, y, 3, 3, -1); put(z, z, 3, 3, 1)
  return H
}

/** R (row-major 3×3, flattened) as a linear map of the quaternion's outer product Q16 = q qᵀ: R9 = Q16 · ROT[16 × 9] */
function rotationMap(): Float64Array {
  const T = new Float64Array(16 * 9)
  const put = (r: number, i: number, j: number, c: number): void => void (T[(i * 4 + j) * 9 + r]! += c)
  // R00 = q0² + q1² − q2² − q3², R01 = 2(q1q2 − q0q3), R02 = 2(q1q3 + q0q2)
  put(0, 0, 0, 1); put(0, 1, 1, 1); put(0, 2, 2, -1); put(0, 3, 3, -1)
  put(1, 1, 2, 2); put(1, 0, 3, -2)
  put(2, 1, 3, 2); put(2, 0, 2, 2)
  // R10 = 2(q1q2 + q0q3), R11 = q0² − q1² + q2² − q3², R12 = 2(q2q3 − q0q1)
  put(3, 1, 2, 2); put(3, 0, 3, 2)
  put(4, 0, 0, 1); put(4, 1, 1, -1); put(4, 2, 2, 1); put(4, 3, 3, -1)
  put(5, 2, 3, 2); put(5, 0, 1, -2)
  // R20 = 2(q1q3 − q0q2), R21 = 2(q2q3 + q0q1), R22 = q0² − q1² − q2² + q3²
  put(6, 1, 3, 2); put(6, 0, 2, -2)
  put(7, 2, 3, 2); put(7, 0, 1, 2)
  put(8, 0, 0, 1); put(8, 1, 1, -1); put(8, 2, 2, -1); put(8, 3, 3, 1)
  return T
}

/**
 * Squarings the superposition needs for frames near `reference`: the shifted eigenvalue ratio
 * r = (λ₂ + c)/(λ₁ + c) of Horn's matrix for the reference onto itself (its frames deviate little:
 * the sampler aligns after every step), then the fewest s with r^(2^s) < 10⁻¹², plus two for frames
 * that are less well separated than the reference; at least 6, at most MAX_SQUARINGS.
 */
export function squaringsFor(reference: Float32Array): number {
  const N = reference.length / 3
  const c = [0, 0, 0]
  for (let i = 0; i < N; i++) for (let a = 0; a < 3; a++) c[a]! += reference[3 * i + a]! / N
  const S9 = new Float64Array(9)
  for (let i = 0; i < N; i++) for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) S9[a * 3 + b]! += (reference[3 * i + a]! - c[a]!) * (reference[3 * i + b]! - c[b]!)
  const H = hornMap()
  const n4 = new Float64Array(16)
  for (let k = 0; k < 9; k++) for (let j = 0; j < 16; j++) n4[j]! += S9[k]! * H[k * 16 + j]!
  const shift = Math.sqrt(n4.reduce((acc, v) => acc + v * v, 0))
  const values = new Float64Array(4)
  jacobiEigen(Float64Array.from(n4), 4, values, new Float64Array(16))
  const [l1, l2] = Array.from(values).sort((a, b) => b - a) as [number, number]
  const r = (l2 + shift) / (l1 + shift)
  if (!(r < 1) || !(l1 + shift > 0)) return MAX_SQUARINGS
  const powers = Math.log(1e-12) / Math.log(r)
  return Math.min(MAX_SQUARINGS, Math.max(MIN_SQUARINGS, Math.ceil(Math.log2(powers)) + 2))
}

/**
 * x [B, 3N] superposed onto `reference` (3N values, Å): centroid onto the reference's centroid and the
 * optimal proper rotation about it, as Aligner.align does on the host.
 */
export function emitSuperpose(g: Graph, x: Tensor, reference: Float32Array, squarings = squaringsFor(reference)): Tensor {
  return superposer(g, reference, squarings)(x)
}

/**
 * emitSuperpose for many frames of one graph (a fused call's K steps): the reference's constants and
 * squaring count are made once, and each call of the returned function emits one superposition.
 */
export function superposer(g: Graph, reference: Float32Array, squarings = squaringsFor(reference)): (x: Tensor) => Tensor {
  const d = reference.length
  if (d % 3 !== 0 || d === 0) throw new RangeError(`superpose: the reference must have 3N values (got ${d})`)
  const N = d / 3
  const cRef = [0, 0, 0]
  for (let i = 0; i < N; i++) for (let a = 0; a < 3; a++) cRef[a]! += reference[3 * i + a]! / N
  // x·W = N16 of the centred frame: W[(i,a), (p,q)] = Σ_b HORN[(a,b), (p,q)] · (ref_i − c)_b (float64, then float32)
  const H = hornMap()
  const Wv = new Float64Array(d * 16)
  for (let i = 0; i < N; i++) {
    for (let a = 0; a < 3; a++) {
      for (let b = 0; b < 3; b++) {
        const yb = reference[3 * i + b]! - cRef[b]!
        for (let k = 0; k < 16; k++) Wv[(3 * i + a) * 16 + k]! += H[(a * 3 + b) * 16 + k]! * yb
      }
    }
  }
  const W = g.constant(Wv, [d, 16])
  const eye4 = g.constant([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1], [16])
  const I4 = g.reshape(eye4, [1, 4, 4])
  // tops before j: isTop · U with U[k][j] = 1 for k < j (a MatMul: onnxruntime-web's WebGPU CumSum ran on the CPU)
  const U = g.constant([0, 1, 1, 1, 0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0], [4, 4])
  const ROT = g.constant(rotationMap(), [16, 9])
  const centre = g.constant(cRef, [1, 1, 3])
  return (x) => {
    const X = g.reshape(x, [-1, N, 3]) // [B, N, 3]
    const cm = g.mul(g.reduceSum(X, [1], true), 1 / N) // [B, 1, 3] (ReduceSum: its axes are an input from opset 13, as inlined models of any opset ≥ 13 need)
    const Xc = g.sub(X, cm)
    const n16 = g.matmul(g.reshape(Xc, [-1, d]), W) // [B, 16]
    // shift by ‖N‖_F (+ a floor so coincident atoms give N = 0 → A = I, the identity rotation as on the host)
    const c = g.add(g.sqrt(g.reduceSum(g.mul(n16, n16), [1], true)), 1e-30) // [B, 1]
    let A = g.reshape(g.add(n16, g.mul(c, eye4)), [-1, 4, 4]) // [B, 4, 4]
    const normalise = (m: Tensor): Tensor => g.div(m, g.reduceSum(g.mul(m, I4), [1, 2], true))
    A = normalise(A)
    for (let s = 1; s <= squarings; s++) {
      A = g.emit('MatMul', [A, A], 'float32', A.shape)
      if (s % RENORM_EVERY === 0 || s === squarings) A = normalise(A)
    }
    // A ≈ q qᵀ: take the column of the largest diagonal entry |q_j|² (the first one on a tie)
    const diag = g.reduceSum(g.mul(A, I4), [2]) // [B, 4]
    // j is a top entry when diag_j ≥ diag_k for all four k (pairwise, [B, 4, 4]: no Max, which
    // onnxruntime-web's WebGPU kernels lack, and no boolean tensor of 1 value per replica)
    const beats = g.cast(g.greaterOrEqual(g.unsqueeze(diag, [2]), g.unsqueeze(diag, [1])), 'float32')
    const isTop = g.cast(g.greaterOrEqual(g.reduceSum(beats, [2]), 3.5), 'float32') // [B, 4]
    const before = g.matmul(isTop, U)
    const first = g.mul(isTop, g.cast(g.less(before, 0.5), 'float32'))
    const qUn = g.reduceSum(g.mul(A, g.unsqueeze(first, [1])), [2]) // [B, 4]: column j of A = q·q_j
    const q = g.div(qUn, g.sqrt(g.reduceSum(g.mul(qUn, qUn), [1], true)))
    const q16 = g.reshape(g.mul(g.unsqueeze(q, [2]), g.unsqueeze(q, [1])), [-1, 16])
    const R = g.reshape(g.matmul(q16, ROT), [-1, 1, 3, 3]) // [B, 1, 3, 3]
    // x'_i = R (x_i − c_m) + c_ref: Σ_c R[a, c]·Xc[i, c]
    const rotated = g.reduceSum(g.mul(R, g.unsqueeze(Xc, [2])), [3]) // [B, N, 3]
    return g.reshape(g.add(rotated, centre), [-1, d])
  }
}

/**
 * [B, 1] bool: x [B, d] is finite and its whitened distance from `mean` is at most `radius` (NaN →
 * false). Shaped [B, 1] for a Where over the coordinates: onnxruntime-web's WebGPU Unsqueeze takes no
 * booleans (it would run on the CPU).
 */
export function emitTrustInside(g: Graph, x: Tensor, region: { mean: Float32Array; scale: Float32Array; radius: number }): Tensor {
  return trustTester(g, region)(x)
}

/** emitTrustInside for many frames of one graph: the region's constants are made once */
export function trustTester(g: Graph, region: { mean: Float32Array; scale: Float32Array; radius: number }): (x: Tensor) => Tensor {
  const mean = g.constant(region.mean, [1, region.mean.length])
  const inv = g.constant(Float64Array.from(region.scale, (s) => 1 / s), [1, region.scale.length])
  return (x) => {
    const z = g.mul(g.sub(x, mean), inv)
    return g.lessOrEqual(g.reduceSum(g.mul(z, z), [1], true), region.radius * region.radius)
  }
}

/** [B] float32, 1 where every coordinate of x [B, d] is finite and within ±limit, else 0 */
export function emitFinite(g: Graph, x: Tensor, limit: number): Tensor {
  // Not(|x| ≤ limit) is true for NaN too (not IsNaN: onnxruntime-web's WebGPU kernels have none)
  const bad = g.cast(g.emit('Not', [g.lessOrEqual(g.abs(x), limit)], 'bool', x.shape), 'float32')
  return g.cast(g.lessOrEqual(g.reduceSum(bad, [1]), 0), 'float32')
}
