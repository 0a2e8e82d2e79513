/**
 * symmetricEigen (Householder + implicit QL) against exact answers: the second-difference matrix,
 * whose eigenvalues are 2 − 2cos(kπ/(n+1)); repeated and zero eigenvalues; and, on random
 * covariance matrices, Q Λ Qᵀ = A, QᵀQ = I and the eigenvalues of cyclic Jacobi (jacobi.ts).
 */
import { describe, expect, it } from 'vitest'
import { symmetricEigen } from '../../../src/core/geometry/symmetric-eigen'
import { jacobiEigen } from '../../../src/core/geometry/jacobi'
import { fillNormals } from '../../../src/core/rng/normals'

function decompose(A: Float64Array, n: number) {
  const values = new Float64Array(n)
  const vectors = new Float64Array(n * n)
  symmetricEigen(Float64Array.from(A), n, values, vectors)
  return { values, vectors }
}

/** max |Q Λ Qᵀ − A| and max |QᵀQ − I| */
function residuals(A: Float64Array, n: number, values: Float64Array, Q: Float64Array): { recon: number; orth: number } {
  let recon = 0
  let orth = 0
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0
      let o = 0
      for (let k = 0; k < n; k++) {
        s += Q[i * n + k]! * values[k]! * Q[j * n + k]!
        o += Q[k * n + i]! * Q[k * n + j]!
      }
      recon = Math.max(recon, Math.abs(s - A[i * n + j]!))
      orth = Math.max(orth, Math.abs(o - (i === j ? 1 : 0)))
    }
  }
  return { recon, orth }
}

describe('symmetricEigen', () => {
  it('the second-difference matrix: eigenvalues 2 − 2cos(kπ/(n+1)) in ascending order, eigenvectors sin(jkπ/(n+1))', () => {
    for (const n of [1, 2, 5, 40]) {
      const A = new Float64Array(n * n)
      for (let i = 0; i < n; i++) {
        A[i * n + i] = 2
        if (i + 1 < n) A[i * n + i + 1] = A[(i + 1) * n + i] = -1
      }
      const { values, vectors } = decompose(A, n)
      for (let k = 1; k <= n; k++) expect(values[k - 1]!).toBeCloseTo(2 - 2 * Math.cos((k * Math.PI) / (n + 1)), 13)
      // eigenvector k (up to sign) is √(2/(n+1))·sin(j k π/(n+1))
      for (let k = 1; k <= n; k++) {
        const sign = Math.sign(vectors[0 * n + k - 1]!)
        for (let j = 1; j <= n; j++) expect(sign * vectors[(j - 1) * n + k - 1]!).toBeCloseTo(Math.sqrt(2 / (n + 1)) * Math.sin((j * k * Math.PI) / (n + 1)), 12)
      }
    }
  })

  it('repeated and zero eigenvalues: the identity, the zero matrix, and a reflected diag(0, 0, 1, 1, 3)', () => {
    const n = 5
    const I = new Float64Array(n * n)
    for (let i = 0; i < n; i++) I[i * n + i] = 1
    const id = decompose(I, n)
    expect(Array.from(id.values)).toEqual([1, 1, 1, 1, 1])
    expect(residuals(I, n, id.values, id.vectors).orth).toBeLessThan(1e-14)
    const Z = decompose(new Float64Array(n * n), n)
    expect(Array.from(Z.values)).toEqual([0, 0, 0, 0, 0])
    // R diag(0, 0, 1, 1, 3) Rᵀ with R a Householder reflection I − 2vvᵀ/|v|²
    const v = [1, -2, 0.5, 3, 1]
    const vv = v.reduce((a, b) => a + b * b, 0)
    const R = new Float64Array(n * n)
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) R[i * n + j] = (i === j ? 1 : 0) - (2 * v[i]! * v[j]!) / vv
    const lam = [0, 0, 1, 1, 3]
    const A = new Float64Array(n * n)
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) A[i * n + j] = A[i * n + j]! + R[i * n + k]! * lam[k]! * R[j * n + k]!
    const r = decompose(A, n)
    r.values.forEach((x, k) => expect(x).toBeCloseTo(lam[k]!, 14))
    const res = residuals(A, n, r.values, r.vectors)
    expect(res.recon).toBeLessThan(1e-14)
    expect(res.orth).toBeLessThan(1e-14)
  })

  it('random covariance matrices up to d = 90: Q Λ Qᵀ = A and QᵀQ = I to 1e-13, the eigenvalues of cyclic Jacobi', () => {
    for (const n of [3, 12, 66, 90]) {
      const m = 2 * n
      const X = new Float32Array(m * n)
      fillNormals(X, 100 + n, 0, 0)
      const A = new Float64Array(n * n)
      for (let f = 0; f < m; f++) for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) A[i * n + j] = A[i * n + j]! + (X[f * n + i]! * X[f * n + j]! * (1 + i / n)) / m
      // symmetric to the last bit
      for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) A[i * n + j] = A[j * n + i]!
      const { values, vectors } = decompose(A, n)
      for (let k = 1; k < n; k++) expect(values[k]!).toBeGreaterThanOrEqual(values[k - 1]!)
      const scale = Math.max(...Array.from(values).map(Math.abs))
      const res = residuals(A, n, values, vectors)
      expect(res.recon / scale).toBeLessThan(1e-13)
      expect(res.orth).toBeLessThan(1e-13)
      const jv = new Float64Array(n)
      jacobiEigen(Float64Array.from(A), n, jv, new Float64Array(n * n))
      const js = Array.from(jv).sort((a, b) => a - b)
      js.forEach((x, k) => expect(Math.abs(x - values[k]!) / scale).toBeLessThan(1e-13))
    }
  })
})
