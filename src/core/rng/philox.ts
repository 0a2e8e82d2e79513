/**
 * Philox4x32-10 counter-based generator (Salmon, Moraes, Dror & Shaw, SC'11 "Parallel random
 * numbers: as easy as 1, 2, 3"): a keyed bijection of a 128-bit counter. The same
 * (counter, key) always gives the same four 32-bit words, so any random number of a stream is
 * addressable directly, which makes streams checkpointable and parallel-friendly.
 */

const M0 = 0xd2511f53
const M1 = 0xcd9e8d57
const W0 = 0x9e3779b9
const W1 = 0xbb67ae85
const INV_TWO32 = 1 / 4294967296

/**
 * Philox4x32 with `rounds` rounds (10 is the standard): out[outOffset..+3] = bijection of the
 * counter (c0, c1, c2, c3) under key (k0, k1). All inputs are uint32. Allocation-free.
 */
export function philox4x32(
  c0: number,
  c1: number,
  c2: number,
  c3: number,
  k0: number,
  k1: number,
  out: Uint32Array,
  outOffset = 0,
  rounds = 10
): void {
  let x0 = c0 >>> 0
  let x1 = c1 >>> 0
  let x2 = c2 >>> 0
  let x3 = c3 >>> 0
  let key0 = k0 >>> 0
  let key1 = k1 >>> 0
  for (let r = 0; r < rounds; r++) {
    if (r > 0) {
      key0 = (key0 + W0) >>> 0
      key1 = (key1 + W1) >>> 0
    }
    // the low word of M·x exactly by Math.imul; the high word from the float64 product, whose
    // rounding error (≤ 2¹¹) is far below the 2³¹ that would move it: M·x − lo is a multiple of
    // 2³² to within that error, so rounding (M·x − lo)/2³² gives the exact high word
    const lo0 = Math.imul(M0, x0) >>> 0
    const lo1 = Math.imul(M1, x2) >>> 0
    const hi0 = Math.round((M0 * x0 - lo0) * INV_TWO32)
    const hi1 = Math.round((M1 * x2 - lo1) * INV_TWO32)
    x0 = (hi1 ^ x1 ^ key0) >>> 0
    x1 = lo1
    x2 = (hi0 ^ x3 ^ key1) >>> 0
    x3 = lo0
  }
  out[outOffset] = x0
  out[outOffset + 1] = x1
  out[outOffset + 2] = x2
  out[outOffset + 3] = x3
}

