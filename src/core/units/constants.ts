/**
 * Physical constants and unit conventions (docs/science.md "Units and conventions"): coordinates in Å, time in ps,
 * energy in kJ/mol, temperature in K.
 */

/** Boltzmann constant k_B in kJ/(mol·K) */
export const KB = 0.0083144626

/** thermal energy k_B·T in kJ/mol for a temperature T in K */
export function kTOf(T: number): number {
  return KB * T
}

/** inverse temperature β = 1/(k_B·T) in mol/kJ for a temperature T in K */
export function betaOf(T: number): number {
  return 1 / (KB * T)
}
