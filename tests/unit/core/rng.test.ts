import { describe, expect, it } from 'vitest'
import { philox4x32 } from '../../../src/core/rng/philox'
import { NormalStream, fillNormals } from '../../../src/core/rng/normals'

const hex = (a: Uint32Array): string => Array.from(a, (w) => w.toString(16).padStart(8, '0')).join(' ')

describe('Philox4x32-10', () => {
  // Known-answer vectors of Random123 (kat_vectors, philox4x32 10), re-derived with an independent
  // arbitrary-precision Python implementation of the SC'11 round function.
  const kat: [number[], number[], string][] = [
    [[0, 0, 0, 0], [0, 0], '6627e8d5 e169c58d bc57ac4c 9b00dbd8'],
    [[0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff], '408f276d 41c83b0e a20bc7c6 6d5451fd'],
    [[0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0], 'd16cfe09 94fdcceb 5001e420 24126ea1'],
    // computed with the same independent Python reference only
    [[5, 7, 3, 0], [0x12345678, 0x1abcd], 'db46afaf 704221f1 9c007255 14c49d32'],
  ]
  it.each(kat)('counter %j key %j', (c, k, expected) => {
    const out = new Uint32Array(6)
    philox4x32(c[0]!, c[1]!, c[2]!, c[3]!, k[0]!, k[1]!, out, 1)
    expect(hex(out.subarray(1, 5))).toBe(expected)
    expect(out[0]).toBe(0)
    expect(out[5]).toBe(0)
  })
})

describe('fillNormals', () => {
  it('matches an independent Python implementation of the documented mapping', () => {
    // Python: key = (seed & 0xffffffff, seed >> 32), counter = (b & 0xffffffff, b >> 32, stream, 0),
    // u = (w + 0.5)/2^32, Box–Muller (cos, sin) on (u0,u1) and (u2,u3).
    const seed = 2 ** 40 + 12345
    const a = new Float32Array(6)
    fillNormals(a, seed, 7, 0)
    const expA = [0.3353025441395572, -0.5441264191585635, 1.0782505120983907, -0.04649370320602142, -1.1053218664083793, 0.3715625117799664]
    expA.forEach((v, i) => expect(a[i]).toBeCloseTo(v, 6))
    const b = new Float32Array(3)
    fillNormals(b, seed, 7, 4 * 2 ** 33 + 1) // block index 2^33: exercises the counter's high word
    ;[-1.3937293542937206, -0.4081472845685362, 1.1191813710731724].forEach((v, i) => expect(b[i]).toBeCloseTo(v, 6))
    const c = new Float32Array(4)
    fillNormals(c, 0, 0, 0)
    ;[0.9911376799303855, -0.9246625876655352, -0.6176089594591907, -0.48206858748717946].forEach((v, i) => expect(c[i]).toBeCloseTo(v, 6))
  })

  it('unaligned starts and offsets agree with the aligned fill', () => {
    const full = new Float32Array(64)
    fillNormals(full, 99, 3, 0)
    for (const start of [1, 2, 3, 5, 7, 13]) {
      for (const count of [0, 1, 2, 3, 4, 9, 30]) {
        const out = new Float32Array(count + 5).fill(123)
        fillNormals(out, 99, 3, start, 2, count)
        expect(out[0]).toBe(123)
        expect(out[1]).toBe(123)
        expect(Array.from(out.subarray(2, 2 + count))).toEqual(Array.from(full.subarray(start, start + count)))
        for (let i = 2 + count; i < out.length; i++) expect(out[i]).toBe(123)
      }
    }
  })

  it('different seeds (incl. the high half) and streams give different numbers', () => {
    const a = new Float32Array(8)
    const b = new Float32Array(8)
    fillNormals(a, 5, 0, 0)
    fillNormals(b, 5 + 2 ** 32, 0, 0)
    expect(Array.from(a)).not.toEqual(Array.from(b))
    fillNormals(b, 5, 1, 0)
    expect(Array.from(a)).not.toEqual(Array.from(b))
  })

  it('rejects bad seeds, streams and ranges', () => {
    const a = new Float32Array(4)
    expect(() => fillNormals(a, -1, 0, 0)).toThrow(/seed/)
    expect(() => fillNormals(a, 2 ** 53, 0, 0)).toThrow(/seed/)
    expect(() => fillNormals(a, 1.5, 0, 0)).toThrow(/seed/)
    expect(() => fillNormals(a, 1, 2 ** 32, 0)).toThrow(/stream/)
    expect(() => fillNormals(a, 1, 0, 0, 2, 3)).toThrow(RangeError)
    expect(() => fillNormals(a, 1, 0, -1)).toThrow(RangeError)
  })

  it('moments of 10^6 normals are standard within 5 standard errors', () => {
    const N = 1_000_000
    const z = new Float32Array(N)
    fillNormals(z, 20240601, 0, 0)
    let s1 = 0
    let s2 = 0
    let s4 = 0
    let lag = 0
    for (let i = 0; i < N; i++) {
      const v = z[i]!
      s1 += v
      s2 += v * v
      s4 += v * v * v * v
      if (i > 0) lag += v * z[i - 1]!
    }
    // Standard errors for N i.i.d. N(0,1): mean √(1/N); mean of z² √(Var z²/N) = √(2/N);
    // mean of z⁴ √((E z⁸ − (E z⁴)²)/N) = √((105 − 9)/N); lag-1 product mean √(1/N).
    expect(Math.abs(s1 / N)).toBeLessThan(5 * Math.sqrt(1 / N))
    expect(Math.abs(s2 / N - 1)).toBeLessThan(5 * Math.sqrt(2 / N))
    expect(Math.abs(s4 / N - 3)).toBeLessThan(5 * Math.sqrt(96 / N))
    expect(Math.abs(lag / (N - 1))).toBeLessThan(5 * Math.sqrt(1 / N))
  })

  it('streams and neighbouring seeds are uncorrelated', () => {
    // For independent unit-variance series the sample correlation has standard error 1/√N.
    const N = 200_000
    const a = new Float32Array(N)
    const b = new Float32Array(N)
    const c = new Float32Array(N)
    fillNormals(a, 42, 0, 0)
    fillNormals(b, 42, 1, 0)
    fillNormals(c, 43, 0, 0)
    const corr = (x: Float32Array, y: Float32Array): number => {
      let sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0
      for (let i = 0; i < N; i++) {
        sx += x[i]!; sy += y[i]!; sxx += x[i]! * x[i]!; syy += y[i]! * y[i]!; sxy += x[i]! * y[i]!
      }
      const cov = sxy / N - (sx / N) * (sy / N)
      return cov / Math.sqrt((sxx / N - (sx / N) ** 2) * (syy / N - (sy / N) ** 2))
    }
    expect(Math.abs(corr(a, b))).toBeLessThan(5 / Math.sqrt(N))
    expect(Math.abs(corr(a, c))).toBeLessThan(5 / Math.sqrt(N))
    expect(Math.abs(corr(b, c))).toBeLessThan(5 / Math.sqrt(N))
  })
})

describe('NormalStream', () => {
  it('resumed from toJSON continues identically', () => {
    const s = new NormalStream(7, 2)
    const first = new Float32Array(7)
    s.fill(first)
    expect(s.position).toBe(7)
    const saved = JSON.parse(JSON.stringify(s)) as { seed: number; stream: number; position: number }
    expect(saved).toEqual({ seed: 7, stream: 2, position: 7 })
    const cont = new Float32Array(11)
    s.fill(cont, 1, 10)
    const resumed = new NormalStream(saved.seed, saved.stream, saved.position)
    const again = new Float32Array(11)
    resumed.fill(again, 1, 10)
    expect(Array.from(again)).toEqual(Array.from(cont))
    // and the whole thing equals one uninterrupted draw
    const all = new Float32Array(17)
    fillNormals(all, 7, 2, 0)
    expect(Array.from(all.subarray(0, 7))).toEqual(Array.from(first))
    expect(Array.from(all.subarray(7))).toEqual(Array.from(cont.subarray(1)))
    expect(resumed.position).toBe(17)
    expect(NormalStream.fromJSON(resumed.toJSON()).position).toBe(17)
  })
})
