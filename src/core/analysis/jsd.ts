/**
 * Jensen–Shannon divergence of two discrete distributions (natural log, so 0 ≤ JSD ≤ ln 2):
 *   JSD(p, q) = ½ Σ p ln(p/m) + ½ Σ q ln(q/m),  m = (p + q)/2,
 * after normalising p and q to sum 1 (0·ln 0 = 0). Inputs: non-negative weights, same length.
 */
export function jsd(p: ArrayLike<number>, q: ArrayLike<number>): number {
  if (p.length !== q.length) throw new RangeError(`jsd: distributions of different lengths ${p.length} and ${q.length}`)
  let sp = 0
  let sq = 0
  for (let i = 0; i < p.length; i++) {
    const a = p[i]!
    const b = q[i]!
    if (!(a >= 0) || !(b >= 0)) throw new RangeError(`jsd: negative or non-finite weight at bin ${i}`)
    sp += a
    sq += b
  }
  if (!(sp > 0) || !(sq > 0) || !Number.isFinite(sp) || !Number.isFinite(sq)) throw new RangeError('jsd: each distribution needs a positive, finite total')
  let d = 0
  for (let i = 0; i < p.length; i++) {
    const a = p[i]! / sp
    const b = q[i]! / sq
    const m = 0.5 * (a + b)
    if (a > 0) d += 0.5 * a * Math.log(a / m)
    if (b > 0) d += 0.5 * b * Math.log(b / m)
  }
  return Math.max(0, d)
}
