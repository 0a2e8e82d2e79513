/**
 * Harmonic well U(x) = ½κ|x|² at inverse temperature β (docs/science.md "Systems with exact answers"): p = N(0, v·I) with
 * v = 1/(βκ). The σ-smoothed density is N(0, (v + σ²)·I), so the exact score at every σ is
 *   s_σ(x) = −x/(v + σ²)        (Å⁻¹, x and σ in Å, v in Å²).
 * With this score every sampler mode has closed-form stationary variance and ACF (the OU tests).
 */
import type { ScoreModel } from '../types'
import { UserError } from '../../errors'

export interface HarmonicOptions {
  /** spring constant κ (energy/Å², e.g. kJ/(mol·Å²)) */
  kappa: number
  /** inverse temperature β (1/energy, e.g. mol/kJ) */
  beta: number
  /** number of coordinates d (any d ≥ 1) */
  dim: number
}

export class HarmonicModel implements ScoreModel {
  readonly dim: number
  readonly sigmaRange = [0, Infinity] as const
  readonly smoothed = true
  readonly rigidBody = false
  readonly name: string
  /** equilibrium variance per coordinate v = 1/(βκ) (Å²) */
  readonly variance: number
  readonly kappa: number
  readonly beta: number

  constructor(opts: HarmonicOptions) {
    if (!(opts.kappa > 0) || !Number.isFinite(opts.kappa)) throw new UserError(`harmonic: kappa must be positive (got ${opts.kappa})`, 'bad-flag')
    if (!(opts.beta > 0) || !Number.isFinite(opts.beta)) throw new UserError(`harmonic: beta must be positive (got ${opts.beta})`, 'bad-flag')
    if (!Number.isInteger(opts.dim) || opts.dim < 1) throw new UserError(`harmonic: dim must be a positive integer (got ${opts.dim})`, 'bad-flag')
    this.kappa = opts.kappa
    this.beta = opts.beta
    this.dim = opts.dim
    this.variance = 1 / (opts.beta * opts.kappa)
    this.name = `harmonic(kappa=${opts.kappa}, beta=${opts.beta}, dim=${opts.dim})`
  }

  score(x: Float32Array, sigma: Float32Array, batch: number, out: Float32Array): void {
    const d = this.dim
    const v = this.variance
    for (let b = 0; b < batch; b++) {
      const s = sigma[b]!
      const c = -1 / (v + s * s)
      const o = b * d
      for (let i = 0; i < d; i++) out[o + i] = c * x[o + i]!
    }
  }

  /** E(x, σ) = |x|²/(2(v + σ²)) + (d/2)·ln(v + σ²) = −log p_σ(x) + const (the exact smoothed energy) */
  energy(x: Float32Array, sigma: Float32Array, batch: number, out: Float32Array): void {
    const d = this.dim
    for (let b = 0; b < batch; b++) {
      const s = sigma[b]!
      const w = this.variance + s * s
      let s2 = 0
      for (let i = 0; i < d; i++) s2 += x[b * d + i]! * x[b * d + i]!
      out[b] = s2 / (2 * w) + 0.5 * d * Math.log(w)
    }
  }

  /** log p_σ(x) up to a constant: −|x|²/(2(v + σ²)) − (d/2)·ln(v + σ²) (normalised across σ) */
  logDensity(x: Float32Array, sigma: number): number {
    const w = this.variance + sigma * sigma
    let s2 = 0
    for (let i = 0; i < this.dim; i++) s2 += x[i]! * x[i]!
    return -s2 / (2 * w) - 0.5 * this.dim * Math.log(w)
  }
}
