/**
 * Conversions between the time-step parameterisations of one Brownian (overdamped Langevin)
 * step (docs/science.md "Units and conventions"):
 *   η = D·Δt        (Å²)      the variance scale of one Euler–Maruyama step
 *   σ_K = √η        (Å)       the adapter noise level
 *   k = 1/(2η)      (Å⁻²)     the harmonic adapter stiffness, k = 1/(2σ_K²)
 * with D in Å²/ps and Δt in ps.
 */

/** η = D·Δt in Å², from D (Å²/ps) and Δt (ps) */
export function etaOf(D: number, dt: number): number {
  return D * dt
}

/** Δt = η/D in ps, from η (Å²) and D (Å²/ps) */
export function dtOf(eta: number, D: number): number {
  return eta / D
}

/** adapter noise level σ_K = √η in Å, from η (Å²) */
export function sigmaKOf(eta: number): number {
  return Math.sqrt(eta)
}

/** η = σ_K² in Å², from the adapter noise level σ_K (Å) */
export function etaOfSigmaK(sigmaK: number): number {
  return sigmaK * sigmaK
}

/** adapter stiffness k = 1/(2η) = 1/(2σ_K²) in Å⁻², from η (Å²) */
export function kOfEta(eta: number): number {
  return 1 / (2 * eta)
}

/** η = 1/(2k) in Å², from the adapter stiffness k (Å⁻²) */
export function etaOfK(k: number): number {
  return 1 / (2 * k)
}

/**
 * The paper's time step in reduced units (D = 1/β): Δt = β/(2k).
 * k in Å⁻², β in mol/kJ → Δt in (mol/kJ)·Å², the time unit in which D = 1/β.
 */
export function reducedDt(k: number, beta: number): number {
  return beta / (2 * k)
}
