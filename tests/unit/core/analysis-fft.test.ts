import { describe, expect, it } from 'vitest'
import { FFT, RealFFT, nextPow2 } from '../../../src/core/analysis/fft'
import { fillNormals } from '../../../src/core/rng/normals'

function randn64(n: number, seed: number): Float64Array {
  const a = new Float32Array(n)
  fillNormals(a, seed, 0, 0)
  return Float64Array.from(a)
}

/** naive O(n²) DFT, X[k] = Σ x[t] e^{−2πi kt/n} */
function dft(re: Float64Array, im: Float64Array): [Float64Array, Float64Array] {
  const n = re.length
  const R = new Float64Array(n)
  const I = new Float64Array(n)
  for (let k = 0; k < n; k++) {
    for (let t = 0; t < n; t++) {
      const a = (-2 * Math.PI * ((k * t) % n)) / n
      R[k]! += re[t]! * Math.cos(a) - im[t]! * Math.sin(a)
      I[k]! += re[t]! * Math.sin(a) + im[t]! * Math.cos(a)
    }
  }
  return [R, I]
}

describe('FFT', () => {
  it('nextPow2', () => {
    expect([1, 2, 3, 4, 5, 1000, 1024, 1025].map(nextPow2)).toEqual([1, 2, 4, 4, 8, 1024, 1024, 2048])
  })

  it.each([1, 2, 4, 8, 64, 256])('complex FFT of size %i equals the naive DFT and inverts', (n) => {
    const re = randn64(n, 1)
    const im = randn64(n, 2)
    const [R, I] = dft(re, im)
    const plan = new FFT(n)
    const a = re.slice()
    const b = im.slice()
    plan.forward(a, b)
    for (let k = 0; k < n; k++) {
      expect(Math.abs(a[k]! - R[k]!)).toBeLessThan(1e-10 * n)
      expect(Math.abs(b[k]! - I[k]!)).toBeLessThan(1e-10 * n)
    }
    plan.inverse(a, b)
    for (let k = 0; k < n; k++) {
      expect(Math.abs(a[k]! - re[k]!)).toBeLessThan(1e-12 * n)
      expect(Math.abs(b[k]! - im[k]!)).toBeLessThan(1e-12 * n)
    }
  })

  it.each([2, 4, 16, 128, 1024])('real FFT of size %i equals the naive DFT and inverts', (n) => {
    const x = randn64(n, 3)
    const [R, I] = dft(x, new Float64Array(n))
    const plan = new RealFFT(n)
    const re = new Float64Array(n / 2 + 1)
    const im = new Float64Array(n / 2 + 1)
    plan.forward(x, re, im)
    for (let k = 0; k <= n / 2; k++) {
      expect(Math.abs(re[k]! - R[k]!)).toBeLessThan(1e-10 * n)
      expect(Math.abs(im[k]! - I[k]!)).toBeLessThan(1e-10 * n)
    }
    const back = new Float64Array(n)
    plan.inverse(re, im, back)
    for (let t = 0; t < n; t++) expect(Math.abs(back[t]! - x[t]!)).toBeLessThan(1e-12 * n)
  })

  it('rejects sizes that are not powers of two', () => {
    expect(() => new FFT(12)).toThrow(RangeError)
    expect(() => new RealFFT(1)).toThrow(RangeError)
  })
})
