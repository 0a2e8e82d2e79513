/**
 * Hybrid-36 numbers (PDB serial and residue-number columns beyond their decimal width).
 * For a field of width w: 0 … 10^w − 1 are decimal; the next 26·36^(w−1) values are base-36 with
 * upper-case digits starting at "A000…"; the next 26·36^(w−1) use lower-case digits from "a000…".
 * (Grosse-Kunstleve, Adams et al., the cctbx hybrid-36 convention read by MDTraj, OpenMM, VMD.)
 */

const DIGITS_UPPER = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ'
const DIGITS_LOWER = '0123456789abcdefghijklmnopqrstuvwxyz'

/** the largest number a field of `width` characters can hold in hybrid-36 */
export function hybrid36Max(width: number): number {
  return 10 ** width + 2 * 26 * 36 ** (width - 1) - 1
}

function toBase36(value: number, width: number, digits: string): string {
  let s = ''
  let v = value
  for (let i = 0; i < width; i++) {
    s = digits[v % 36]! + s
    v = Math.floor(v / 36)
  }
  return s
}

/**
 * Encodes `value` right-justified in `width` characters. Negative numbers are plain decimal
 * (they must fit). Throws RangeError when the value cannot be represented.
 */
export function encodeHybrid36(value: number, width: number): string {
  if (!Number.isInteger(value)) throw new RangeError(`hybrid-36: ${value} is not an integer`)
  const dec = 10 ** width
  if (value < dec) {
    const s = String(value)
    if (s.length > width) throw new RangeError(`hybrid-36: ${value} does not fit in ${width} columns`)
    return s.padStart(width, ' ')
  }
  const block = 26 * 36 ** (width - 1)
  const shift = 10 * 36 ** (width - 1)
  let v = value - dec
  if (v < block) return toBase36(v + shift, width, DIGITS_UPPER)
  v -= block
  if (v < block) return toBase36(v + shift, width, DIGITS_LOWER)
  throw new RangeError(`hybrid-36: ${value} is larger than ${hybrid36Max(width)}, the limit of ${width} columns`)
}

/**
 * Decodes a hybrid-36 field (surrounding blanks allowed). Returns NaN for anything that is neither
 * a decimal integer nor a valid hybrid-36 string of exactly `width` characters (after trimming).
 * A blank field gives NaN too; callers decide what that means.
 */
export function decodeHybrid36(field: string, width: number): number {
  const s = field.trim()
  if (s.length === 0) return NaN
  if (/^[-+]?\d+$/.test(s)) return parseInt(s, 10)
  if (s.length !== width) return NaN
  const first = s.charCodeAt(0)
  let digits: string
  let base: number
  if (first >= 65 && first <= 90) {
    digits = DIGITS_UPPER
    base = 10 ** width
  } else if (first >= 97 && first <= 122) {
    digits = DIGITS_LOWER
    base = 10 ** width + 26 * 36 ** (width - 1)
  } else {
    return NaN
  }
  let v = 0
  for (let i = 0; i < s.length; i++) {
    const d = digits.indexOf(s[i]!)
    if (d < 0) return NaN
    v = v * 36 + d
  }
  return v - 10 * 36 ** (width - 1) + base
}
