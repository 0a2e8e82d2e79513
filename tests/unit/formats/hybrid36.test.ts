import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { decodeHybrid36, encodeHybrid36, hybrid36Max } from '../../../src/core/formats/hybrid36'

describe('hybrid-36', () => {
  it('matches the published table (cctbx hybrid_36 examples)', () => {
    expect(encodeHybrid36(99999, 5)).toBe('99999')
    expect(encodeHybrid36(100000, 5)).toBe('A0000')
    expect(encodeHybrid36(100035, 5)).toBe('A000Z')
    expect(encodeHybrid36(100036, 5)).toBe('A0010')
    expect(encodeHybrid36(43770015, 5)).toBe('ZZZZZ')
    expect(encodeHybrid36(43770016, 5)).toBe('a0000')
    expect(encodeHybrid36(87440031, 5)).toBe('zzzzz')
    expect(hybrid36Max(5)).toBe(87440031)
    expect(hybrid36Max(4)).toBe(2436111)
    expect(encodeHybrid36(9999, 4)).toBe('9999')
    expect(encodeHybrid36(10000, 4)).toBe('A000')
    expect(encodeHybrid36(-999, 4)).toBe('-999')
    expect(encodeHybrid36(7, 5)).toBe('    7')
    expect(decodeHybrid36('A0000', 5)).toBe(100000)
    expect(decodeHybrid36('zzzzz', 5)).toBe(87440031)
    expect(decodeHybrid36(' A000', 4)).toBe(10000)
    expect(decodeHybrid36('  42 ', 5)).toBe(42)
    expect(decodeHybrid36('*****', 5)).toBeNaN()
    expect(decodeHybrid36('A0', 5)).toBeNaN()
    expect(decodeHybrid36('     ', 5)).toBeNaN()
    expect(() => encodeHybrid36(87440032, 5)).toThrow(RangeError)
    expect(() => encodeHybrid36(-10000, 4)).toThrow(RangeError)
  })

  it('round-trips every representable value (property)', () => {
    for (const width of [4, 5]) {
      fc.assert(
        fc.property(fc.integer({ min: 0, max: hybrid36Max(width) }), (v) => {
          const s = encodeHybrid36(v, width)
          expect(s).toHaveLength(width)
          expect(decodeHybrid36(s, width)).toBe(v)
        }),
        { numRuns: 300 }
      )
    }
  })
})
