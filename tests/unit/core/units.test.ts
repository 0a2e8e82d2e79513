import { describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { KB, betaOf, kTOf } from '../../../src/core/units/constants'
import { dtOf, etaOf, etaOfK, etaOfSigmaK, kOfEta, reducedDt, sigmaKOf } from '../../../src/core/units/conversions'

const ref = JSON.parse(readFileSync(path.resolve(__dirname, '../../../resources/examples/ala2/gromacs_bd_reference.json'), 'utf8')) as {
  kB_kJ_per_mol_K: number
  kT_kJ_per_mol: number
  temperature_K: number
  params: { D_A2_per_ps: number; dt_ps: number; eta_A2_per_step: number; adapter_k_per_A2_for_one_step: number; D_nm2_per_ps: number }
}

describe('units', () => {
  it('k_B and β match the GROMACS reference file', () => {
    expect(KB).toBe(ref.kB_kJ_per_mol_K)
    expect(kTOf(ref.temperature_K)).toBeCloseTo(ref.kT_kJ_per_mol, 12)
    expect(betaOf(300) * kTOf(300)).toBeCloseTo(1, 14)
    // β at 300 K: 1/(0.0083144626·300) = 1/2.49433878 = 0.4009078510 (computed in Python)
    expect(betaOf(300)).toBeCloseTo(0.400907851, 9)
  })

  it('reproduces the ala2 BD step: D = 0.0498867756 Å²/ps, Δt = 2 fs', () => {
    const p = ref.params
    // D in Å²/ps = D in nm²/ps · 100
    expect(p.D_A2_per_ps).toBeCloseTo(p.D_nm2_per_ps * 100, 14)
    const eta = etaOf(p.D_A2_per_ps, p.dt_ps)
    expect(eta).toBeCloseTo(9.97735512e-5, 15)
    expect(eta).toBeCloseTo(p.eta_A2_per_step, 15)
    const k = kOfEta(eta)
    // the file's k was computed in float64 by Python from the same D and Δt: equal up to rounding of a few
    // operations (each ≤ 2⁻⁵³ ≈ 1.1e-16 relative); 1e-12 leaves room for the file's decimal repr. Both signs.
    expect(Math.abs(k / p.adapter_k_per_A2_for_one_step - 1)).toBeLessThan(1e-12)
    expect(k).toBeCloseTo(5011.348137721693, 8)
    expect(sigmaKOf(eta, 0)).toBeCloseTo(Math.sqrt(9.97735512e-5), 15)
    // frames at σ_min = 0.025 Å: the adapter starts at √(η + σ_min²)
    expect(sigmaKOf(eta, 0.025)).toBeCloseTo(Math.sqrt(9.97735512e-5 + 0.025 ** 2), 15)
    expect(dtOf(eta, p.D_A2_per_ps)).toBeCloseTo(0.002, 15)
  })

  it('round trips k ↔ η ↔ σ_K ↔ Δt', () => {
    // each round trip is two or three float64 operations, each within 2⁻⁵³ ≈ 1.1e-16 relative: 1e-14 is
    // ~100 ulps, and the error is bounded in both directions (|…| < tol)
    for (const eta of [1e-6, 9.97735512e-5, 0.01, 0.37, 4]) {
      expect(Math.abs(etaOfK(kOfEta(eta)) / eta - 1)).toBeLessThan(1e-14)
      // σ_min well below √η, so σ_K² − σ_min² loses no digits to cancellation
      const sigmaMin = 0.1 * Math.sqrt(eta)
      expect(Math.abs(etaOfSigmaK(sigmaKOf(eta, sigmaMin), sigmaMin) / eta - 1)).toBeLessThan(1e-14)
      // k = 1/(2η) = 1/(2(σ_K² − σ_min²)): the coupling's variance is η whatever σ_min is
      expect(kOfEta(eta) * 2 * (sigmaKOf(eta, sigmaMin) ** 2 - sigmaMin ** 2)).toBeCloseTo(1, 13)
      for (const D of [0.05, 1, 3.2]) {
        expect(Math.abs(etaOf(D, dtOf(eta, D)) / eta - 1)).toBeLessThan(1e-14)
      }
    }
  })

  it('reduced Δt = β/(2k) equals η/D when D = 1/β', () => {
    for (const beta of [0.4, 1, 3]) {
      for (const k of [0.5, 5011.348, 20]) {
        const D = 1 / beta
        expect(reducedDt(k, beta)).toBeCloseTo(dtOf(etaOfK(k), D), 12)
      }
    }
  })
})
