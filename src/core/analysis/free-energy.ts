/**
 * Free energy F = −kT·ln p of a probability histogram (units of kT, e.g. kJ/mol); +Infinity
 * where p = 0. With shiftToZero the minimum finite value is subtracted (the lowest bin reads 0).
 */
export function freeEnergy(p: ArrayLike<number>, kT: number, shiftToZero = false): Float64Array {
  const f = new Float64Array(p.length)
  let min = Infinity
  for (let i = 0; i < p.length; i++) {
    const v = p[i]!
    f[i] = v > 0 ? -kT * Math.log(v) : Infinity
    if (f[i]! < min) min = f[i]!
  }
  if (shiftToZero && Number.isFinite(min)) for (let i = 0; i < f.length; i++) f[i] = f[i]! - min
  return f
}
