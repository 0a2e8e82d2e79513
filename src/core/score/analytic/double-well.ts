/**
 * Double well U(x) = Σ_i (x_i² − 1)² (one independent well per coordinate; minima at ±1, barrier
 * height 1 at 0, energy in units of 1/β) at inverse temperature β (docs/science.md "Systems with exact answers").
 * Only the σ = 0 score is known: s(x) = −β∇U = −4β·x_i(x_i² − 1). The σ argument is ignored, so
 * the model is not `smoothed` (Langevin modes `clean`/`tied` only; `tied` then equals `clean`).
 */
import type { ScoreModel } from '../types'
import { UserError } from '../../errors'

export interface DoubleWellOptions {
  /** inverse temperature β (1/energy); the barrier is β k_BT units high */
  beta: number
  /** number of independent coordinates (default 1) */
  dim?: number
}

export class DoubleWellModel implements ScoreModel {
  readonly dim: number
  readonly sigmaRange = [0, 0] as const
  readonly smoothed = false
  readonly rigidBody = false
  readonly name: string
  readonly beta: number

  constructor(opts: DoubleWellOptions) {
    const dim = opts.dim ?? 1
    if (!(opts.beta > 0) || !Number.isFinite(opts.beta)) throw new UserError(`double-well: beta must be positive (got ${opts.beta})`, 'bad-flag')
    if (!Number.isInteger(dim) || dim < 1) throw new UserError(`double-well: dim must be a positive integer (got ${dim})`, 'bad-flag')
    this.beta = opts.beta
    this.dim = dim
    this.name = `double-well(beta=${opts.beta}, dim=${dim})`
  }

  /** U(x) for one coordinate */
  static potential(x: number): number {
    const a = x * x - 1
    return a * a
  }

  score(x: Float32Array, _sigma: Float32Array, batch: number, out: Float32Array): void {
    const n = batch * this.dim
    const c = -4 * this.beta
    for (let j = 0; j < n; j++) {
      const xj = x[j]!
      out[j] = c * xj * (xj * xj - 1)
    }
  }

  /** −βU(x) (σ = 0 only; σ is ignored) */
  logDensity(x: Float32Array, _sigma: number): number {
    let u = 0
    for (let i = 0; i < this.dim; i++) u += DoubleWellModel.potential(x[i]!)
    return -this.beta * u
  }
}
