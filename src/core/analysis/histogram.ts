/**
 * Histograms as probabilities over half-open bins [lo + i·w, lo + (i+1)·w), w = (hi − lo)/bins.
 * Values outside [lo, hi) and non-finite values are left out, and the probabilities are
 * normalised over the values inside (all zero when none is). With `periodic`, values are
 * first wrapped into [lo, hi) (angles), so nothing is left out and +π lands in the bin of −π.
 */

function checkRange(lo: number, hi: number, bins: number): void {
  if (!(hi > lo) || !Number.isFinite(lo) || !Number.isFinite(hi)) throw new RangeError(`histogram: need lo < hi, got [${lo}, ${hi})`)
  if (!Number.isInteger(bins) || bins < 1) throw new RangeError(`histogram: bins must be a whole number ≥ 1, got ${bins}`)
}

/** bin index of v in [lo, hi) with `bins` bins, or −1 outside (after wrapping when periodic) */
export function binIndex(v: number, lo: number, hi: number, bins: number, periodic = false): number {
  if (!Number.isFinite(v)) return -1
  const width = hi - lo
  let u = (v - lo) / width
  if (periodic) {
    u -= Math.floor(u)
    if (u >= 1) u = 0 // a tiny negative u wraps to 1 − ε, which rounds to 1
  }
  if (u < 0 || u >= 1) return -1
  const b = Math.floor(u * bins)
  return b < bins ? b : bins - 1 // u < 1 but u·bins may round up to bins
}

/** bin edges lo + i·(hi − lo)/bins, i = 0 … bins */
export function binEdges(lo: number, hi: number, bins: number): Float64Array {
  checkRange(lo, hi, bins)
  const e = new Float64Array(bins + 1)
  for (let i = 0; i <= bins; i++) e[i] = lo + ((hi - lo) * i) / bins
  e[bins] = hi
  return e
}

/** counts per bin and the number of values left out */
export function histogramCounts1d(
  values: ArrayLike<number>,
  lo: number,
  hi: number,
  bins: number,
  periodic = false
): { counts: Float64Array; outside: number } {
  checkRange(lo, hi, bins)
  const counts = new Float64Array(bins)
  let outside = 0
  for (let t = 0; t < values.length; t++) {
    const b = binIndex(values[t]!, lo, hi, bins, periodic)
    if (b < 0) outside++
    else counts[b]!++
  }
  return { counts, outside }
}

function normalise(counts: Float64Array): Float64Array {
  let total = 0
  for (let i = 0; i < counts.length; i++) total += counts[i]!
  if (total > 0) for (let i = 0; i < counts.length; i++) counts[i] = counts[i]! / total
  return counts
}

/** 1-D histogram as probabilities (sum 1 over the values inside [lo, hi)) */
export function histogram1d(values: ArrayLike<number>, lo: number, hi: number, bins: number, periodic = false): Float64Array {
  return normalise(histogramCounts1d(values, lo, hi, bins, periodic).counts)
}

export type Range2d = readonly [readonly [number, number], readonly [number, number]]

/**
 * 2-D histogram as probabilities, row-major: p[i·binsY + j], i = x bin, j = y bin.
 * range = [[xlo, xhi], [ylo, yhi]]; bins a number (both axes) or [binsX, binsY].
 * A pair is counted only when both values fall inside.
 */
export function histogram2d(
  xs: ArrayLike<number>,
  ys: ArrayLike<number>,
  range: Range2d,
  bins: number | readonly [number, number],
  periodic = false
): Float64Array {
  if (xs.length !== ys.length) throw new RangeError(`histogram2d: ${xs.length} x values but ${ys.length} y values`)
  const [nx, ny] = typeof bins === 'number' ? [bins, bins] : bins
  const [[xlo, xhi], [ylo, yhi]] = range
  checkRange(xlo, xhi, nx)
  checkRange(ylo, yhi, ny)
  const counts = new Float64Array(nx * ny)
  for (let t = 0; t < xs.length; t++) {
    const i = binIndex(xs[t]!, xlo, xhi, nx, periodic)
    const j = binIndex(ys[t]!, ylo, yhi, ny, periodic)
    if (i >= 0 && j >= 0) counts[i * ny + j]!++
  }
  return normalise(counts)
}

/** number of bins per axis of a Ramachandran histogram (docs/science.md "Observables and autocorrelation") */
export const RAMACHANDRAN_BINS = 60

/**
 * Ramachandran histogram: 60×60 periodic bins over [−π, π)², probabilities as Float64Array
 * row-major, p[i·60 + j] with i the φ bin and j the ψ bin (angles in radians).
 */
export function ramachandran(phi: ArrayLike<number>, psi: ArrayLike<number>): Float64Array {
  return histogram2d(phi, psi, [[-Math.PI, Math.PI], [-Math.PI, Math.PI]], RAMACHANDRAN_BINS, true)
}
