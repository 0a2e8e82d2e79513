/**
 * Cyclic Jacobi eigen-decomposition of a small real symmetric matrix, in float64.
 * Robust for repeated and zero eigenvalues (what Kabsch needs for planar/collinear/degenerate input).
 */

/**
 * Diagonalises the symmetric n×n row-major matrix `a` IN PLACE (it is destroyed; its diagonal
 * ends up holding the eigenvalues). Writes eigenvalues to `values[0..n)` and the eigenvectors as
 * COLUMNS of the row-major n×n `vectors` (vectors[i·n + k] = component i of eigenvector k).
 * Not sorted. Allocation-free. Returns the number of sweeps used.
 */
export function jacobiEigen(a: Float64Array, n: number, values: Float64Array, vectors: Float64Array, maxSweeps = 50): number {
  vectors.fill(0, 0, n * n)
  for (let i = 0; i < n; i++) vectors[i * n + i] = 1
  let sweep = 0
  for (; sweep < maxSweeps; sweep++) {
    let off = 0
    let diag = 0
    for (let p = 0; p < n; p++) {
      diag += a[p * n + p]! * a[p * n + p]!
      for (let q = p + 1; q < n; q++) off += a[p * n + q]! * a[p * n + q]!
    }
    if (off === 0 || off <= 1e-30 * diag) break
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q]!
        if (apq === 0) continue
        const app = a[p * n + p]!
        const aqq = a[q * n + q]!
        // rotation angle: tan 2θ = 2a_pq/(a_qq − a_pp); t = tan θ, smaller root for stability
        const theta = (aqq - app) / (2 * apq)
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1))
        const c = 1 / Math.sqrt(t * t + 1)
        const s = t * c
        for (let k = 0; k < n; k++) {
          // columns p, q of A·J
          const akp = a[k * n + p]!
          const akq = a[k * n + q]!
          a[k * n + p] = c * akp - s * akq
          a[k * n + q] = s * akp + c * akq
        }
        for (let k = 0; k < n; k++) {
          // rows p, q of Jᵀ·(A·J)
          const apk = a[p * n + k]!
          const aqk = a[q * n + k]!
          a[p * n + k] = c * apk - s * aqk
          a[q * n + k] = s * apk + c * aqk
        }
        a[p * n + q] = 0
        a[q * n + p] = 0
        for (let k = 0; k < n; k++) {
          const vkp = vectors[k * n + p]!
          const vkq = vectors[k * n + q]!
          vectors[k * n + p] = c * vkp - s * vkq
          vectors[k * n + q] = s * vkp + c * vkq
        }
      }
    }
  }
  for (let i = 0; i < n; i++) values[i] = a[i * n + i]!
  return sweep
}
