/**
 * The batched normal kernel (fillNormals' fillBlocks, src/core/rng/normals.ts) against an
 * independent reference: Philox4x32-10 written here with BigInt arithmetic (exact 64-bit products,
 * nothing shared with philox.ts or normals.ts) and the documented Box–Muller mapping in float64
 * with the same operation order. The noise addressing (seed, stream, n) must not change (resumes,
 * Picard and merged shards depend on it), so the comparison is bit for bit, not to a tolerance.
 */
import { describe, expect, it } from 'vitest'
import { MASK, philoxRef } from './philox-ref'
import { fillNormals } from '../../../src/core/rng/normals'


/** normal n of (seed, stream) by the documented mapping (normals.ts header), as float32 */
function normalRef(seed: number, stream: number, n: number): number {
  const b = BigInt(Math.floor(n / 4))
  const s = BigInt(seed)
  const w = philoxRef([b & MASK, b >> 32n, BigInt(stream), 0n], [s & MASK, s >> 32n])
  const lane = n % 4
  const pair = lane < 2 ? 0 : 2
  const r = Math.sqrt(-2 * Math.log((w[pair]! + 0.5) * (1 / 4294967296)))
  const t = 2 * Math.PI * (w[pair + 1]! + 0.5) * (1 / 4294967296)
  return Math.fround(lane % 2 === 0 ? r * Math.cos(t) : r * Math.sin(t))
}

describe('fillNormals batched kernel vs an independent BigInt reference (bit for bit)', () => {
  const cases: [string, number, number, number, number][] = [
    // name, seed, stream, start, count
    ['aligned, seed 0', 0, 0, 0, 64],
    ['sampler chunk (d·(1+M) = 66·11), replica 1023', 42, 1023, 726 * 5, 726],
    ['unaligned head and tail', 7, 3, 5, 23],
    ['seed with a high half', 2 ** 40 + 12345, 7, 9, 40],
    ['largest stream', 2 ** 53 - 1, 0xffffffff, 1, 17],
    // blocks 2^32 − 2 … 2^32 + 3: the counter's low word wraps inside one call
    ['counter low word wraps', 99, 5, 4 * (2 ** 32 - 2) + 2, 22],
    ['block index 2^33', 2 ** 40 + 12345, 7, 4 * 2 ** 33 + 1, 11],
  ]
  it.each(cases)('%s', (_name, seed, stream, start, count) => {
    const out = new Float32Array(count + 2).fill(123)
    fillNormals(out, seed, stream, start, 1, count)
    expect(out[0]).toBe(123)
    expect(out[count + 1]).toBe(123)
    for (let i = 0; i < count; i++) {
      const ref = normalRef(seed, stream, start + i)
      if (!Object.is(out[1 + i], ref)) throw new Error(`normal ${start + i} of (${seed}, ${stream}): ${out[1 + i]} ≠ reference ${ref}`)
    }
  })

  it('random (seed, stream, start, count) draws agree with the reference', () => {
    // a fixed linear congruential sequence picks the cases, so the test is reproducible
    let s = 12345
    const next = (m: number): number => {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0
      return s % m
    }
    for (let c = 0; c < 40; c++) {
      const seed = next(1 << 30) * 1024 + next(1024)
      const stream = next(5000)
      const start = next(1 << 20)
      const count = next(50)
      const out = new Float32Array(count)
      fillNormals(out, seed, stream, start)
      for (let i = 0; i < count; i++) expect(Object.is(out[i], normalRef(seed, stream, start + i))).toBe(true)
    }
  })
})
