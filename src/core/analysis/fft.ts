/**
 * Radix-2 fast Fourier transforms in float64 with reusable plans (twiddles, bit reversal and
 * scratch are allocated once per size; transforms allocate nothing).
 * Convention: forward X[k] = Σ_t x[t]·e^{−2πi kt/n}; inverse includes the 1/n factor.
 */

/** smallest power of two ≥ n (n ≥ 1) */
export function nextPow2(n: number): number {
  let m = 1
  while (m < n) m *= 2
  return m
}

/** in-place complex FFT of size n (a power of two) on separate real and imaginary arrays */
export class FFT {
  private readonly cos: Float64Array
  private readonly sin: Float64Array
  private readonly rev: Uint32Array

  constructor(readonly n: number) {
    if (!Number.isInteger(n) || n < 1 || (n & (n - 1)) !== 0) throw new RangeError(`FFT size must be a power of two, got ${n}`)
    const half = Math.max(1, n >> 1)
    this.cos = new Float64Array(half)
    this.sin = new Float64Array(half)
    for (let k = 0; k < half; k++) {
      this.cos[k] = Math.cos((2 * Math.PI * k) / n)
      this.sin[k] = Math.sin((2 * Math.PI * k) / n)
    }
    this.rev = new Uint32Array(n)
    let bits = 0
    while (1 << bits < n) bits++
    for (let i = 0; i < n; i++) {
      let r = 0
      for (let b = 0; b < bits; b++) if (i & (1 << b)) r |= 1 << (bits - 1 - b)
      this.rev[i] = r
    }
  }

  /** forward transform in place (re, im have length ≥ n) */
  forward(re: Float64Array, im: Float64Array): void {
    this.run(re, im, -1)
  }

  /** inverse transform in place, scaled by 1/n */
  inverse(re: Float64Array, im: Float64Array): void {
    this.run(re, im, 1)
    const s = 1 / this.n
    for (let i = 0; i < this.n; i++) {
      re[i] = re[i]! * s
      im[i] = im[i]! * s
    }
  }

  /** unscaled transform with exponent sign `sign` (−1 forward, +1 inverse) */
  private run(re: Float64Array, im: Float64Array, sign: number): void {
    const n = this.n
    const rev = this.rev
    for (let i = 0; i < n; i++) {
      const j = rev[i]!
      if (j > i) {
        const tr = re[i]!
        re[i] = re[j]!
        re[j] = tr
        const ti = im[i]!
        im[i] = im[j]!
        im[j] = ti
      }
    }
    const C = this.cos
    const S = this.sin
    for (let size = 2; size <= n; size *= 2) {
      const halfSize = size >> 1
      const step = n / size
      for (let start = 0; start < n; start += size) {
        for (let k = 0; k < halfSize; k++) {
          const wr = C[k * step]!
          const wi = sign * S[k * step]!
          const a = start + k
          const b = a + halfSize
          const xr = re[b]! * wr - im[b]! * wi
          const xi = re[b]! * wi + im[b]! * wr
          re[b] = re[a]! - xr
          im[b] = im[a]! - xi
          re[a] = re[a]! + xr
          im[a] = im[a]! + xi
        }
      }
    }
  }
}

/**
 * FFT of a real sequence of size n (a power of two ≥ 2) through one complex FFT of size n/2.
 * Spectrum: bins 0 … n/2 (the rest follow from X[n−k] = conj X[k]).
 */
export class RealFFT {
  private readonly half: FFT
  private readonly zr: Float64Array
  private readonly zi: Float64Array
  private readonly wr: Float64Array
  private readonly wi: Float64Array

  constructor(readonly n: number) {
    if (!Number.isInteger(n) || n < 2 || (n & (n - 1)) !== 0) throw new RangeError(`real FFT size must be a power of two ≥ 2, got ${n}`)
    const m = n >> 1
    this.half = new FFT(m)
    this.zr = new Float64Array(m)
    this.zi = new Float64Array(m)
    this.wr = new Float64Array(m)
    this.wi = new Float64Array(m)
    for (let k = 0; k < m; k++) {
      this.wr[k] = Math.cos((2 * Math.PI * k) / n)
      this.wi[k] = -Math.sin((2 * Math.PI * k) / n)
    }
  }

  /** X[0 … n/2] of the real x[0 … n) into re, im (length ≥ n/2 + 1) */
  forward(x: Float64Array, re: Float64Array, im: Float64Array): void {
    const m = this.n >> 1
    const zr = this.zr
    const zi = this.zi
    for (let j = 0; j < m; j++) {
      zr[j] = x[2 * j]!
      zi[j] = x[2 * j + 1]!
    }
    this.half.forward(zr, zi)
    // E_k = (Z_k + conj Z_{m−k})/2, O_k = −i (Z_k − conj Z_{m−k})/2, X_k = E_k + w^k O_k, w = e^{−2πi/n}
    for (let k = 0; k <= m; k++) {
      const a = k % m
      const b = (m - k) % m
      const ar = zr[a]!, ai = zi[a]!, br = zr[b]!, bi = -zi[b]!
      const er = 0.5 * (ar + br), ei = 0.5 * (ai + bi)
      const dr = 0.5 * (ar - br), di = 0.5 * (ai - bi)
      const or = di, oi = -dr // −i·d
      const twr = k < m ? this.wr[k]! : -1
      const twi = k < m ? this.wi[k]! : 0
      re[k] = er + twr * or - twi * oi
      im[k] = ei + twr * oi + twi * or
    }
  }

  /** real x[0 … n) from its spectrum X[0 … n/2] (Hermitian-completed); includes the 1/n factor */
  inverse(re: Float64Array, im: Float64Array, x: Float64Array): void {
    const m = this.n >> 1
    const zr = this.zr
    const zi = this.zi
    // E_k = (X_k + conj X_{m−k})/2, O_k = (X_k − conj X_{m−k})/2 · e^{+2πik/n}, Z_k = E_k + i O_k
    for (let k = 0; k < m; k++) {
      const ar = re[k]!, ai = im[k]!, br = re[m - k]!, bi = -im[m - k]!
      const er = 0.5 * (ar + br), ei = 0.5 * (ai + bi)
      const dr = 0.5 * (ar - br), di = 0.5 * (ai - bi)
      const twr = this.wr[k]!, twi = -this.wi[k]!
      const or = dr * twr - di * twi
      const oi = dr * twi + di * twr
      zr[k] = er - oi
      zi[k] = ei + or
    }
    this.half.inverse(zr, zi)
    // the half-size inverse scaled by 1/m; the full transform needs 1/n = 1/(2m) — E, O above
    // already carry the ½ of the split, so no further factor
    for (let j = 0; j < m; j++) {
      x[2 * j] = zr[j]!
      x[2 * j + 1] = zi[j]!
    }
  }
}
