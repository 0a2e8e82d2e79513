import { describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { acf, acfDirect, angularAcf, angularAcfDirect, replicaAcf } from '../../../src/core/analysis/acf'
import { tauInt } from '../../../src/core/analysis/tau-int'
import { fillNormals } from '../../../src/core/rng/normals'

/** AR(1) x_{t+1} = ρ x_t + √(1−ρ²) ξ_t started in equilibrium: exact ACF ρ^k */
function ar1(n: number, rho: number, seed: number, stream = 0): Float64Array {
  const xi = new Float32Array(n)
  fillNormals(xi, seed, stream, 0)
  const x = new Float64Array(n)
  const s = Math.sqrt(1 - rho * rho)
  x[0] = xi[0]!
  for (let t = 1; t < n; t++) x[t] = rho * x[t - 1]! + s * xi[t]!
  return x
}

/** Bartlett's large-n variance of the sample ACF at lag k of an AR(1) process */
function bartlettVar(rho: number, k: number, n: number): number {
  const r2 = rho * rho
  return ((1 + r2) * (1 - r2 ** k)) / (1 - r2) / n - (2 * k * r2 ** k) / n
}

describe('acf', () => {
  it('FFT ACF equals the direct sum on random data (1e-9)', () => {
    for (const [n, lag] of [[1000, 200], [777, 776], [3, 5], [1, 0], [64, 63]] as const) {
      const x = Float64Array.from(ar1(n, 0.5, 10 + n), (v) => 3 + 2 * v) // offset and scale: must not matter
      const a = acf(x, lag)
      const b = acfDirect(x, lag)
      expect(a.length).toBe(lag + 1)
      expect(a[0]).toBe(1)
      for (let k = 0; k <= lag; k++) {
        if (k >= n) {
          expect(a[k]).toBeNaN()
          expect(b[k]).toBeNaN()
        } else if (n > 1) expect(Math.abs(a[k]! - b[k]!)).toBeLessThan(1e-9)
      }
    }
  })

  it('a constant series gives C(0) = 1 and NaN afterwards', () => {
    const c = acf(new Float64Array(10).fill(2), 3)
    expect(c[0]).toBe(1)
    expect(Number.isNaN(c[1]!)).toBe(true)
  })

  it('AR(1) with ρ = 0.9: C(k) = ρ^k within 5 Bartlett standard errors', () => {
    const n = 1_000_000
    const rho = 0.9
    const c = acf(ar1(n, rho, 2024), 40)
    for (let k = 1; k <= 40; k++) {
      // Bartlett: Var r(k) = [(1+ρ²)(1−ρ^{2k})/(1−ρ²) − 2kρ^{2k}]/n (≈ 3e-3 SE here); the O(τ/n) ≈ 1e-5
      // mean-removal bias is negligible against it.
      expect(Math.abs(c[k]! - rho ** k)).toBeLessThan(5 * Math.sqrt(bartlettVar(rho, k, n)))
    }
  })
})

describe('angularAcf', () => {
  it('uniform rotation over whole periods: C(k) = cos(ωk) exactly', () => {
    const P = 24
    const n = 50 * P
    const w = (2 * Math.PI) / P
    const th = Float64Array.from({ length: n }, (_, t) => w * t + 0.3)
    const c = angularAcf(th, 30)
    // ⟨u⟩ = 0 over whole periods and u(t)·u(t+k) = cos(ωk) for every t
    for (let k = 0; k <= 30; k++) expect(c[k]).toBeCloseTo(Math.cos(w * k), 10)
  })

  it('equals the direct formula on random angles, and is blind to 2π shifts', () => {
    const th = Float64Array.from(ar1(3000, 0.95, 77), (v) => 1.2 * v + 0.5)
    const a = angularAcf(th, 300)
    const b = angularAcfDirect(th, 300)
    for (let k = 0; k <= 300; k++) expect(Math.abs(a[k]! - b[k]!)).toBeLessThan(1e-9)
    const shifted = Float64Array.from(th, (v, t) => v + 2 * Math.PI * ((t % 5) - 2))
    const s = angularAcf(shifted, 300)
    for (let k = 0; k <= 300; k++) expect(Math.abs(s[k]! - a[k]!)).toBeLessThan(1e-9)
  })

  it('a free rotational random walk decays as exp(−k s²/2)', () => {
    // θ_{t+1} = θ_t + s ξ: Δ_k = θ_{t+k} − θ_t ~ N(0, V = k s²), so E cos Δ_k = exp(−k s²/2).
    // Error of the lag average of f_t = cos Δ_k over n terms: for jointly Gaussian increments that
    // share o = max(0, k − |j|) steps, Cov(f_t, f_{t+j}) = e^{−V}(cosh(o s²) − 1), so
    // Var = (1/n) Σ_{|j|<k} e^{−V}(cosh((k−|j|)s²) − 1) exactly (n ≫ k).
    // The |⟨u⟩|² correction shifts C by ≤ |⟨u⟩|²/(1 − |⟨u⟩|²); E|⟨u⟩|² = (1/n)(1 + 2Σ_j e^{−j s²/2}) ≈ 100/n,
    // and |⟨u⟩|² (≈ exponential) exceeds 10× its mean with probability e^{−10}: allow 10·E|⟨u⟩|².
    const n = 200_000
    const s = 0.2
    const xi = new Float32Array(n)
    fillNormals(xi, 5, 0, 0)
    const th = new Float64Array(n)
    for (let t = 1; t < n; t++) th[t] = th[t - 1]! + s * xi[t]!
    const c = angularAcf(th, 60)
    let mu2 = 1
    for (let j = 1; j < n; j++) mu2 += 2 * Math.exp((-j * s * s) / 2)
    mu2 /= n
    for (const k of [1, 5, 10, 30, 60]) {
      const V = k * s * s
      let v = 0
      for (let j = -(k - 1); j <= k - 1; j++) v += Math.exp(-V) * (Math.cosh((k - Math.abs(j)) * s * s) - 1)
      const se = Math.sqrt(v / n)
      const exact = Math.exp(-V / 2)
      expect(Math.abs(c[k]! - exact)).toBeLessThan(5 * se + 10 * mu2)
    }
  })
})

describe('replicaAcf', () => {
  it('mean ≈ ρ^k and a standard error consistent with Bartlett', () => {
    const R = 16
    const n = 20_000
    const rho = 0.8
    const series = Array.from({ length: R }, (_, r) => ar1(n, rho, 99, r))
    const { mean, stderr, perReplica } = replicaAcf(series, 20, 'scalar')
    expect(perReplica).toHaveLength(R)
    expect(mean[0]).toBe(1)
    expect(stderr[0]).toBe(0)
    for (const k of [1, 5, 10]) {
      const se = Math.sqrt(bartlettVar(rho, k, n) / R) // expected standard error of the replica mean
      expect(Math.abs(mean[k]! - rho ** k)).toBeLessThan(5 * se)
      // the sample sd of 16 values: (R−1)s²/σ² ~ χ²₁₅, whose 3e-7 / 1−3e-7 quantiles are ≈ 1.3 and ≈ 55,
      // so s/σ ∈ [0.29, 1.92] at the 5σ level
      expect(stderr[k]! / se).toBeGreaterThan(0.29)
      expect(stderr[k]! / se).toBeLessThan(1.92)
    }
    const one = replicaAcf([series[0]!], 3, 'angle')
    expect(one.mean[0]).toBe(1)
    expect(Number.isNaN(one.stderr[1]!)).toBe(true)
    for (let k = 0; k <= 3; k++) expect(one.mean[k]).toBe(angularAcf(series[0]!, 3)[k])
  })
})

describe('tauInt', () => {
  it('exact geometric ACF: τ(M) = ½ + ρ(1−ρ^M)/(1−ρ) at the first M ≥ 5τ(M)', () => {
    const rho = 0.9
    const c = Float64Array.from({ length: 200 }, (_, k) => rho ** k)
    const { tau, windowLags, converged } = tauInt(c, 2)
    let M = 1
    while (M < 5 * (0.5 + (rho * (1 - rho ** M)) / (1 - rho))) M++
    expect(windowLags).toBe(M)
    expect(converged).toBe(true)
    expect(tau).toBeCloseTo(2 * (0.5 + (rho * (1 - rho ** M)) / (1 - rho)), 10)
    // too short an ACF: not converged, τ is the full partial sum
    const short = tauInt(c.subarray(0, 10), 1)
    expect(short.converged).toBe(false)
    expect(short.windowLags).toBe(9)
  })

  it('AR(1) with ρ = 0.9 from 10^6 samples: τ = (1+ρ)/(2(1−ρ))·Δt within 5 standard errors', () => {
    const n = 1_000_000
    const rho = 0.9
    const dt = 0.5
    const est = tauInt(acf(ar1(n, rho, 31337), 300), dt)
    // expectation at the chosen window: exact truncated sum Δt(½ + ρ(1−ρ^M)/(1−ρ)) (→ 9.5 Δt)
    const M = est.windowLags
    const expected = dt * (0.5 + (rho * (1 - rho ** M)) / (1 - rho))
    expect(expected).toBeCloseTo((dt * (1 + rho)) / (2 * (1 - rho)), 0)
    // Sokal: Var τ̂ ≈ 2(2M+1)/n · τ²
    const se = Math.sqrt((2 * (2 * M + 1)) / n) * expected
    expect(Math.abs(est.tau - expected)).toBeLessThan(5 * se)
  })

  it('reproduces the GROMACS reference τ_int from its own replica-averaged ACFs', () => {
    const ref = JSON.parse(readFileSync(path.resolve(__dirname, '../../../resources/examples/ala2/gromacs_bd_reference.json'), 'utf8')) as {
      acf: Record<string, number[]>
      tau_int: Record<string, { tau_int_ps: number; window_frames: number }>
    }
    for (const key of ['phi_unitvector', 'psi_unitvector', 'cos_phi', 'sin_psi']) {
      const { tau, windowLags } = tauInt(ref.acf[key]!, 1)
      // the stored ACF is rounded to 6 decimals: ≤ 5e-7 per lag over ≤ 3000 lags → ≤ 1.5e-3 ps
      expect(Math.abs(tau - ref.tau_int[key]!.tau_int_ps)).toBeLessThan(2e-3)
      expect(windowLags).toBe(ref.tau_int[key]!.window_frames)
    }
  })
})
