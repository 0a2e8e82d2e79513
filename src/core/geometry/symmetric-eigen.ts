/**
 * Eigen-decomposition of a dense real symmetric matrix in float64, for the sizes a molecule's
 * covariance has (d = 3N up to a few thousand): Householder reduction to tridiagonal form, then the
 * implicit QL iteration with Wilkinson-type shifts, both accumulating the orthogonal transform.
 * About (4/3)d³ + 3d³ flops, against cyclic Jacobi's ~10 sweeps of ~4d³ (jacobi.ts, kept for the
 * 3×3 and 4×4 matrices of Kabsch and the inertia tensor, where its robustness matters more than
 * speed). The algorithm is the textbook one (Householder 1958; Bowdler, Martin, Reinsch and
 * Wilkinson 1968, "The QR and QL algorithms for symmetric matrices"), written for row-major
 * Float64Arrays. docs/sampler-integrators.md "Preconditioned down kernel" says where it is used.
 */

/**
 * Diagonalises the symmetric n×n row-major matrix `a` IN PLACE (it is destroyed). Writes the
 * eigenvalues in ascending order to `values[0..n)` and the eigenvectors as COLUMNS of the row-major
 * n×n `vectors` (vectors[i·n + k] = component i of eigenvector k), the same layout as jacobiEigen.
 * Throws if the QL iteration does not converge (it does in practice within a few sweeps per value).
 */
export function symmetricEigen(a: Float64Array, n: number, values: Float64Array, vectors: Float64Array): void {
  if (a.length < n * n || values.length < n || vectors.length < n * n) throw new RangeError(`symmetricEigen: arrays too small for n = ${n}`)
  const e = new Float64Array(n)
  householder(a, n, values, e)
  // the QL rotations act on pairs of columns of Q: keep Qᵀ, so they run along contiguous rows
  const qt = new Float64Array(n * n)
  for (let i = 0; i < n; i++) for (let k = 0; k < n; k++) qt[k * n + i] = a[i * n + k]!
  ql(values, e, n, qt)
  // ascending order, vectors permuted with their values
  const order = Array.from({ length: n }, (_, i) => i).sort((p, q) => values[p]! - values[q]!)
  const v = Float64Array.from(values.subarray(0, n))
  for (let k = 0; k < n; k++) {
    const src = order[k]!
    values[k] = v[src]!
    for (let i = 0; i < n; i++) vectors[i * n + k] = qt[src * n + i]!
  }
}

/**
 * Householder reduction of the symmetric `a` to tridiagonal form: diagonal in `d`, sub-diagonal in
 * `e[1..n)` (e[0] = 0); `a` is replaced by the orthogonal matrix Q of the reduction.
 */
function householder(a: Float64Array, n: number, d: Float64Array, e: Float64Array): void {
  for (let i = n - 1; i > 0; i--) {
    const l = i - 1
    let h = 0
    if (l > 0) {
      let scale = 0
      for (let k = 0; k <= l; k++) scale += Math.abs(a[i * n + k]!)
      if (scale === 0) {
        e[i] = a[i * n + l]!
      } else {
        for (let k = 0; k <= l; k++) {
          const v = a[i * n + k]! / scale
          a[i * n + k] = v
          h += v * v
        }
        let f = a[i * n + l]!
        let g = f >= 0 ? -Math.sqrt(h) : Math.sqrt(h)
        e[i] = scale * g
        h -= f * g
        a[i * n + l] = f - g
        f = 0
        for (let j = 0; j <= l; j++) {
          a[j * n + i] = a[i * n + j]! / h
          g = 0
          for (let k = 0; k <= j; k++) g += a[j * n + k]! * a[i * n + k]!
          for (let k = j + 1; k <= l; k++) g += a[k * n + j]! * a[i * n + k]!
          e[j] = g / h
          f += e[j]! * a[i * n + j]!
        }
        const hh = f / (h + h)
        for (let j = 0; j <= l; j++) {
          const fj = a[i * n + j]!
          const gj = e[j]! - hh * fj
          e[j] = gj
          for (let k = 0; k <= j; k++) a[j * n + k] = a[j * n + k]! - (fj * e[k]! + gj * a[i * n + k]!)
        }
      }
    } else {
      e[i] = a[i * n + l]!
    }
    d[i] = h
  }
  d[0] = 0
  e[0] = 0
  // accumulate the transformations (row by row, so the inner loops run along contiguous rows)
  const gv = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    const l = i - 1
    if (d[i] !== 0) {
      gv.fill(0, 0, i)
      for (let k = 0; k <= l; k++) {
        const aik = a[i * n + k]!
        const rk = k * n
        for (let j = 0; j <= l; j++) gv[j] = gv[j]! + aik * a[rk + j]!
      }
      for (let k = 0; k <= l; k++) {
        const aki = a[k * n + i]!
        const rk = k * n
        for (let j = 0; j <= l; j++) a[rk + j] = a[rk + j]! - gv[j]! * aki
      }
    }
    d[i] = a[i * n + i]!
    a[i * n + i] = 1
    for (let j = 0; j <= l; j++) {
      a[j * n + i] = 0
      a[i * n + j] = 0
    }
  }
}

/**
 * Implicit QL iteration on the tridiagonal matrix (diagonal d, sub-diagonal e[1..n)), applying the
 * rotations to the rows of zt = Qᵀ (n×n row-major): on return d holds the eigenvalues and row k of
 * zt the eigenvector of d[k].
 */
function ql(d: Float64Array, e: Float64Array, n: number, zt: Float64Array): void {
  for (let i = 1; i < n; i++) e[i - 1] = e[i]!
  e[n - 1] = 0
  for (let l = 0; l < n; l++) {
    let iter = 0
    for (;;) {
      let m = l
      for (; m < n - 1; m++) {
        const dd = Math.abs(d[m]!) + Math.abs(d[m + 1]!)
        if (Math.abs(e[m]!) <= Number.EPSILON * dd) break
      }
      if (m === l) break
      if (iter++ === 60) throw new Error(`symmetricEigen: no convergence for eigenvalue ${l} of ${n}`)
      let g = (d[l + 1]! - d[l]!) / (2 * e[l]!)
      let r = Math.hypot(g, 1)
      g = d[m]! - d[l]! + e[l]! / (g + (g >= 0 ? r : -r))
      let s = 1
      let c = 1
      let p = 0
      let i = m - 1
      let underflow = false
      for (; i >= l; i--) {
        const f = s * e[i]!
        const b = c * e[i]!
        r = Math.hypot(f, g)
        e[i + 1] = r
        if (r === 0) {
          // a zero sub-diagonal element: the matrix splits; recover and start again
          d[i + 1] = d[i + 1]! - p
          e[m] = 0
          underflow = true
          break
        }
        s = f / r
        c = g / r
        g = d[i + 1]! - p
        r = (d[i]! - g) * s + 2 * c * b
        p = s * r
        d[i + 1] = g + p
        g = c * r - b
        const ri = i * n
        const rf = ri + n
        for (let k = 0; k < n; k++) {
          const zf = zt[rf + k]!
          const zi = zt[ri + k]!
          zt[rf + k] = s * zi + c * zf
          zt[ri + k] = c * zi - s * zf
        }
      }
      if (underflow) continue
      d[l] = d[l]! - p
      e[l] = g
      e[m] = 0
    }
  }
}
