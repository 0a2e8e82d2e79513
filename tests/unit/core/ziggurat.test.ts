/**
 * The ziggurat normals (src/core/rng/ziggurat.ts, the WebAssembly kernel ziggurat.wat):
 *  - the tables against independently computed constants (the layer area by quadrature, the
 *    chain closing at the top);
 *  - the kernel bit for bit against the JavaScript reference, and both against the documented
 *    mapping written here on BigInt Philox words (nothing shared with philox.ts);
 *  - every normal a pure function of (seed, stream, n) however the range is split;
 *  - the distribution against the exact normal: Kolmogorov–Smirnov, χ² on bins, moments and the
 *    tail beyond r (the slow path), with fixed seeds and bounds from the expected sampling error;
 *  - the committed kernel bytes are the compiled ziggurat.wat (scripts/build-wasm.mjs --check).
 */
import { describe, expect, it } from 'vitest'
import { MASK, philoxRef } from './philox-ref'
import { execFileSync } from 'node:child_process'
import { fillNormalsOf, fillNormals } from '../../../src/core/rng/normals'
import { philox4x32 } from '../../../src/core/rng/philox'
import { fillZigguratBlocks, zigguratKernel, zigStats, ZIG_R, ZIG_V, ZIG_TABLES } from '../../../src/core/rng/ziggurat'
import { normalCdf } from '../../../src/core/score/analytic/gmm'

const f = (x: number): number => Math.exp(-0.5 * x * x)


/** the documented mapping (ziggurat.ts header) for normal n of (seed, stream), as float32 */
function zigRef(seed: number, stream: number, n: number): number {
  const x: number[] = [ZIG_V / f(ZIG_R), ZIG_R]
  for (let i = 1; i < 255; i++) x.push(Math.sqrt(-2 * Math.log(ZIG_V / x[i]! + f(x[i]!))))
  x.push(0)
  const b = BigInt(Math.floor(n / 4))
  const lane = n % 4
  const s = BigInt(seed)
  const key: [bigint, bigint] = [s & MASK, s >> 32n]
  let w = philoxRef([b & MASK, b >> 32n, BigInt(stream), 0n], key)[lane]!
  const extra: number[] = []
  let j = 0
  const next = (): number => {
    if (extra.length === 0) extra.push(...philoxRef([b & MASK, b >> 32n, BigInt(stream), BigInt(1 + lane + 4 * j++)], key))
    return extra.shift()!
  }
  for (;;) {
    const i = w & 255
    const sign = w & 256 ? -1 : 1
    const u = (Math.floor(w / 512) + 0.5) / 2 ** 23
    const z = u * x[i]!
    if (u < x[i + 1]! / x[i]!) return Math.fround(sign * z)
    if (i === 0) {
      for (;;) {
        const a = -Math.log((next() + 0.5) / 2 ** 32) / ZIG_R
        const bb = -Math.log((next() + 0.5) / 2 ** 32)
        if (bb + bb > a * a) return Math.fround(sign * (ZIG_R + a))
      }
    }
    const fi = f(x[i]!)
    const fi1 = i === 255 ? 1 : f(x[i + 1]!)
    if (fi + ((next() + 0.5) / 2 ** 32) * (fi1 - fi) < f(z)) return Math.fround(sign * z)
    w = next()
  }
}

describe('ziggurat tables', () => {
  it('the layer area is r·f(r) plus the tail integral, and the layers close at the top', () => {
    // ∫_r^∞ f by composite Simpson on [r, r + 30] (f(r + 30) ≈ 0), 2·10⁵ panels: error ≪ 1e-15
    const n = 200_000
    const h = 30 / n
    let s = f(ZIG_R) + f(ZIG_R + 30)
    for (let i = 1; i < n; i++) s += (i % 2 ? 4 : 2) * f(ZIG_R + i * h)
    const v = ZIG_R * f(ZIG_R) + (s * h) / 3
    expect(Math.abs(v - ZIG_V) / ZIG_V).toBeLessThan(1e-10)
    const { x, k, fx } = ZIG_TABLES
    // the top layer [0, x₂₅₅] × [f(x₂₅₅), 1] has area v: the chain closes
    expect(Math.abs(x[255]! * (1 - fx[255]!) - ZIG_V) / ZIG_V).toBeLessThan(1e-8)
    for (let i = 0; i < 256; i++) {
      expect(x[i + 1]!).toBeLessThan(x[i]!)
      expect(k[i]).toBe(x[i + 1]! / x[i]!)
    }
    expect(x[256]).toBe(0)
    expect(fx[256]).toBe(1)
  })
})

describe('philox4x32 (the float64 high word)', () => {
  it('equals the BigInt Philox for edge and random counters and keys', () => {
    const a = new Uint32Array(4)
    const edge = [0, 1, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff]
    let state = 12345
    const rnd = (): number => (state = (Math.imul(state, 1103515245) + 12345) >>> 0)
    for (let t = 0; t < 2000; t++) {
      const pick = (): number => (t < 216 ? edge[(t + rnd()) % edge.length]! : rnd())
      const c = [pick(), pick(), pick(), pick()]
      const k = [pick(), pick()]
      philox4x32(c[0]!, c[1]!, c[2]!, c[3]!, k[0]!, k[1]!, a)
      expect(Array.from(a)).toEqual(philoxRef([BigInt(c[0]!), BigInt(c[1]!), BigInt(c[2]!), BigInt(c[3]!)], [BigInt(k[0]!), BigInt(k[1]!)]))
    }
  })
})

describe('ziggurat normals', () => {
  it('runs the WebAssembly kernel here', () => {
    expect(zigguratKernel()).not.toBeNull()
  })

  it('kernel = JavaScript reference, bit for bit (counter carry, large seeds, many slow words)', () => {
    const cases = [
      { b0: 0, k0: 7, k1: 0, stream: 3 },
      { b0: 2 ** 32 - 5000, k0: 0xffffffff, k1: 0x1fffff, stream: 0xffffffff }, // the counter's low word wraps
      { b0: 123456789, k0: 1, k1: 2, stream: 41 },
    ]
    for (const c of cases) {
      const n = 1 << 16
      const a = new Float32Array(n)
      const b = new Float32Array(n)
      const slow0 = zigStats.slow
      fillZigguratBlocks(a, 0, c.b0, n / 4, c.k0, c.k1, c.stream, true)
      fillZigguratBlocks(b, 0, c.b0, n / 4, c.k0, c.k1, c.stream, false)
      // each call visits the slow words (wedge, tail, top cap) about 1.5 % of the time
      expect(zigStats.slow - slow0).toBeGreaterThan(0.01 * n)
      let same = 0
      for (let i = 0; i < n; i++) if (Object.is(a[i], b[i])) same++
      expect(same).toBe(n)
    }
  })

  it('equals the documented mapping on BigInt Philox words, tail and wedge included', () => {
    const seed = 2 ** 53 - 1
    const stream = 9
    const n = 6000
    const got = new Float32Array(n)
    const slow0 = zigStats.slow
    fillNormalsOf('ziggurat', got, seed, stream, 1000)
    // ~1.5 % of the words took the slow path (wedge, top cap or tail): about 90 of these 6000
    expect(zigStats.slow - slow0).toBeGreaterThan(40)
    for (let i = 0; i < n; i++) expect(got[i]).toBe(zigRef(seed, stream, 1000 + i))
    // and normals that only the tail makes (|z| > r): find some in a longer run and check them
    const long = new Float32Array(1 << 17)
    fillNormalsOf('ziggurat', long, 5, 1, 0)
    const tail = [...long.keys()].filter((i) => Math.abs(long[i]!) > ZIG_R)
    expect(tail.length).toBeGreaterThan(10)
    for (const i of tail) expect(long[i]).toBe(zigRef(5, 1, i))
  })

  it('is a pure function of (seed, stream, n): any split of a range gives the same numbers', () => {
    const whole = new Float32Array(5003)
    fillNormalsOf('ziggurat', whole, 77, 2, 13)
    const parts = new Float32Array(5003)
    let at = 0
    for (const len of [1, 2, 3, 5, 4, 7, 4096, 885]) {
      fillNormalsOf('ziggurat', parts, 77, 2, 13 + at, at, len)
      at += len
    }
    expect(at).toBe(5003)
    expect(Array.from(parts)).toEqual(Array.from(whole))
    // and it is another stream than Box–Muller's on the same words
    const bm = new Float32Array(5003)
    fillNormals(bm, 77, 2, 13)
    expect(Array.from(bm)).not.toEqual(Array.from(whole))
  })

  it('is standard normal: KS, χ² on 60 bins, moments and the tail beyond r (fixed seeds)', () => {
    const N = 1 << 21
    const z = new Float32Array(N)
    for (let s = 0; s < 8; s++) fillNormalsOf('ziggurat', z, 2026, s, 0, s * (N / 8), N / 8)
    // moments: standard errors 1/√N, √(2/N), √(96/N) for the mean, variance and 4th moment
    let m1 = 0
    let m2 = 0
    let m4 = 0
    for (let i = 0; i < N; i++) {
      const v = z[i]!
      m1 += v
      m2 += v * v
      m4 += v * v * v * v
    }
    m1 /= N
    m2 /= N
    m4 /= N
    expect(Math.abs(m1)).toBeLessThan(4 / Math.sqrt(N))
    expect(Math.abs(m2 - 1)).toBeLessThan(4 * Math.sqrt(2 / N))
    expect(Math.abs(m4 - 3)).toBeLessThan(4 * Math.sqrt(96 / N))
    const sorted = Float64Array.from(z).sort()
    // Kolmogorov–Smirnov: D < 1.95/√N is p > 0.001 for a true normal (Φ's error 1e-7 ≪ 1/√N)
    let D = 0
    for (let i = 0; i < N; i++) {
      const F = normalCdf(sorted[i]!)
      D = Math.max(D, Math.abs(F - i / N), Math.abs((i + 1) / N - F))
    }
    expect(D).toBeLessThan(1.95 / Math.sqrt(N))
    // χ² on 60 equal-width bins over [−6, 6] plus two outer bins: 61 degrees of freedom, mean 61,
    // sd √122 ≈ 11; 61 + 5 sd is p ≈ 10⁻⁵
    const edges = Array.from({ length: 61 }, (_, i) => -6 + 0.2 * i)
    const counts = new Array<number>(62).fill(0)
    for (let i = 0; i < N; i++) {
      const v = sorted[i]!
      const bin = v < -6 ? 0 : v >= 6 ? 61 : 1 + Math.min(59, Math.floor((v + 6) / 0.2))
      counts[bin]!++
    }
    let chi2 = 0
    for (let b = 0; b < 62; b++) {
      const lo = b === 0 ? -Infinity : edges[b - 1]!
      const hi = b === 61 ? Infinity : edges[b]!
      const p = (hi === Infinity ? 1 : normalCdf(hi)) - (lo === -Infinity ? 0 : normalCdf(lo))
      const e = N * p
      if (e > 5) chi2 += (counts[b]! - e) ** 2 / e
    }
    expect(chi2).toBeLessThan(61 + 5 * Math.sqrt(122))
    // the tail beyond r (made only by the slow path): its count within 4 binomial sd, and the mean
    // excess E[|z| − r | |z| > r] = φ(r)/Q(r) − r against its standard error
    const q = 1 - normalCdf(ZIG_R)
    const expected = 2 * q * N
    const over = sorted.filter((v) => Math.abs(v) > ZIG_R)
    expect(Math.abs(over.length - expected)).toBeLessThan(4 * Math.sqrt(expected))
    const phi = f(ZIG_R) / Math.sqrt(2 * Math.PI)
    const meanExcess = phi / q - ZIG_R
    const got = over.reduce((s, v) => s + Math.abs(v) - ZIG_R, 0) / over.length
    // the excess is close to exponential with rate r: sd ≈ mean
    expect(Math.abs(got - meanExcess)).toBeLessThan((4 * meanExcess) / Math.sqrt(over.length))
  })
})

describe('scripts/build-wasm.mjs', () => {
  it('the committed kernel bytes are the compiled ziggurat.wat', () => {
    expect(() => execFileSync(process.execPath, ['scripts/build-wasm.mjs', '--check'], { stdio: 'pipe' })).not.toThrow()
  })
})
