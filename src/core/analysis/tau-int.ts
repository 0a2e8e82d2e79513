/**
 * Integrated autocorrelation time with Sokal's automatic window (docs/science.md "Observables and autocorrelation"):
 *   τ(M) = Δt·(½ + Σ_{k=1}^{M} C(k)),  M = the first M ≥ 1 with M ≥ c·τ(M)/Δt.
 * Units of τ are those of Δt (e.g. ps per frame → ps).
 */
export function tauInt(
  c: ArrayLike<number>,
  dt: number,
  window = 5
): { tau: number; windowLags: number; converged: boolean } {
  if (!(dt > 0)) throw new RangeError(`tauInt: dt must be > 0, got ${dt}`)
  if (!(window > 0)) throw new RangeError(`tauInt: window must be > 0, got ${window}`)
  let sum = 0.5
  let M = 0
  for (let k = 1; k < c.length; k++) {
    const v = c[k]!
    if (!Number.isFinite(v)) break
    sum += v
    M = k
    if (M >= window * sum) return { tau: dt * sum, windowLags: M, converged: true }
  }
  // the ACF ended (or became undefined) before the window condition was met: τ is a lower bound
  return { tau: dt * sum, windowLags: M, converged: false }
}
