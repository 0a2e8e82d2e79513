import { describe, expect, it } from 'vitest'
import { binEdges, binIndex, histogram1d, histogram2d, histogramCounts1d, ramachandran } from '../../../src/core/analysis/histogram'
import { jsd } from '../../../src/core/analysis/jsd'
import { freeEnergy } from '../../../src/core/analysis/free-energy'

describe('histograms', () => {
  it('half-open bins: lo is in, hi is out, edges go up, NaN is dropped', () => {
    const { counts, outside } = histogramCounts1d([0, 0.25, 0.2499, 0.5, 0.75, 0.999, 1, -0.001, NaN, Infinity], 0, 1, 4)
    expect(Array.from(counts)).toEqual([2, 1, 1, 2])
    expect(outside).toBe(4)
    const p = histogram1d([0, 0.25, 0.2499, 0.5, 0.75, 0.999, 1, -0.001, NaN], 0, 1, 4)
    expect(Array.from(p)).toEqual([2 / 6, 1 / 6, 1 / 6, 2 / 6])
    expect(Array.from(histogram1d([5], 0, 1, 3))).toEqual([0, 0, 0])
    expect(Array.from(binEdges(-1, 1, 4))).toEqual([-1, -0.5, 0, 0.5, 1])
  })

  it('periodic bins wrap angles into [lo, hi)', () => {
    const P = Math.PI
    expect(binIndex(P, -P, P, 60, true)).toBe(0) // +π is −π
    expect(binIndex(-P, -P, P, 60, true)).toBe(0)
    expect(binIndex(P, -P, P, 60, false)).toBe(-1)
    expect(binIndex(3 * P - 0.01, -P, P, 60, true)).toBe(59)
    expect(binIndex(-1e-17 - P, -P, P, 60, true)).toBe(0) // rounds to exactly −π after wrapping
    expect(binIndex(-P - 0.01, -P, P, 60, true)).toBe(59)
    expect(binIndex(0.5 + 2 * P, -P, P, 60, true)).toBe(binIndex(0.5, -P, P, 60, true))
  })

  it('2-D histogram: row-major p[i·ny + j], pairs counted only when both are inside', () => {
    const p = histogram2d([0.1, 0.1, 0.9, 0.6, 2], [0.1, 0.1, 0.2, 0.9, 0.5], [[0, 1], [0, 1]], [2, 3])
    // x bins [0,.5),[.5,1); y bins thirds
    expect(Array.from(p)).toEqual([2 / 4, 0, 0, 1 / 4, 0, 1 / 4])
  })

  it('ramachandran: 60×60 over [−π, π)², i = φ bin, j = ψ bin', () => {
    const d = Math.PI / 180
    const p = ramachandran([-147 * d, -147 * d, 63 * d, Math.PI], [165 * d, 165 * d, -27 * d, Math.PI])
    expect(p.length).toBe(3600)
    expect(p.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 14)
    // φ −147° → bin ⌊33/6⌋ = 5, ψ 165° → ⌊345/6⌋ = 57; (63°, −27°) → (40, 25); (π, π) → (0, 0)
    expect(p[5 * 60 + 57]).toBe(0.5)
    expect(p[40 * 60 + 25]).toBe(0.25)
    expect(p[0]).toBe(0.25)
  })
})

describe('jsd', () => {
  it('identical → 0, disjoint → ln 2, normalises its inputs, symmetric', () => {
    expect(jsd([1, 2, 3], [1, 2, 3])).toBe(0)
    expect(jsd([1, 2, 3], [10, 20, 30])).toBeCloseTo(0, 15)
    expect(jsd([1, 0, 0, 0], [0, 0, 3, 1])).toBeCloseTo(Math.LN2, 15)
    // p = (1, 0), q = (½, ½), m = (¾, ¼): ½ ln(4/3) + ¼ ln(2/3) + ¼ ln 2
    const exact = 0.5 * Math.log(4 / 3) + 0.25 * Math.log(2 / 3) + 0.25 * Math.log(2)
    expect(jsd([1, 0], [1, 1])).toBeCloseTo(exact, 15)
    expect(jsd([1, 1], [1, 0])).toBeCloseTo(exact, 15)
    expect(() => jsd([1], [1, 2])).toThrow(RangeError)
    expect(() => jsd([0, 0], [1, 2])).toThrow(RangeError)
  })
})

describe('freeEnergy', () => {
  it('−kT ln p, Infinity where p = 0, optional shift to a zero minimum', () => {
    const f = freeEnergy([0.5, 0.25, 0], 2)
    expect(f[0]).toBeCloseTo(2 * Math.LN2, 15)
    expect(f[1]).toBeCloseTo(4 * Math.LN2, 15)
    expect(f[2]).toBe(Infinity)
    const g = freeEnergy([0.5, 0.25, 0], 2, true)
    expect(g[0]).toBe(0)
    expect(g[1]).toBeCloseTo(2 * Math.LN2, 15)
    expect(g[2]).toBe(Infinity)
  })
})
