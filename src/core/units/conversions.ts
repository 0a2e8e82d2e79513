/**
 * Conversions between the time-step parameterisations of one Brownian (overdamped Langevin)
 * step (docs/science.md "Units and conventions"):
 *   η = D·Δt              (Å²)   the variance scale of one Euler–Maruyama step
 *   k = 1/(2η)            (Å⁻²)  the harmonic adapter stiffness: the coupling exp(−k|x_K − y|²)
 *                                between a frame y and the adapter's start x_K has variance η
 *   σ_K = √(η + σ_min²)   (Å)    the adapter's noise level: the frame y already carries σ_min
 *                                (it is a sample of p_σmin), the coupling adds η
 * with D in Å²/ps and Δt in ps. The whole step moves y by η·s + √(2η)·ξ to first order, so its
 * time is exactly Δt = η/D (docs/science.md "The adapter step": with σ_K² = η the step would be
 * (η − σ_min²)/D long, and would stop moving as Δt shrinks towards σ_min²/D).
 */

/** η = D·Δt in Å², from D (Å²/ps) and Δt (ps) */
export function etaOf(D: number, dt: number): number {
  return D * dt
}

/** Δt = η/D in ps, from η (Å²) and D (Å²/ps) */
export function dtOf(eta: number, D: number): number {
  return eta / D
}

/** adapter noise level σ_K = √(η + σ_min²) in Å, from η (Å²) and the frames' noise level σ_min (Å) */
export function sigmaKOf(eta: number, sigmaMin: number): number {
  return Math.sqrt(eta + sigmaMin * sigmaMin)
}

/** η = σ_K² − σ_min² in Å², from the adapter noise level σ_K (Å) and σ_min (Å) */
export function etaOfSigmaK(sigmaK: number, sigmaMin: number): number {
  return sigmaK * sigmaK - sigmaMin * sigmaMin
}

/** adapter stiffness k = 1/(2η) in Å⁻², from η (Å²) */
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
