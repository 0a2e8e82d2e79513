/**
 * Müller–Brown potential (Müller & Brown, Theor. Chim. Acta 53, 75 (1979)), 2-D:
 *   U_MB(x, y) = Σ_{k=1..4} A_k exp(a_k(x − x⁰_k)² + b_k(x − x⁰_k)(y − y⁰_k) + c_k(y − y⁰_k)²)
 * with A = (−200, −100, −170, 15), a = (−1, −1, −6.5, 0.7), b = (0, 0, 11, 0.6),
 * c = (−10, −10, −6.5, 0.7), x⁰ = (1, 0, −0.5, −1), y⁰ = (0, 0.5, 1.5, 1).
 * The model uses U = scale·U_MB (default scale = 1/20) at inverse temperature β (default 1), so
 * in k_BT units the minima are A (−0.558, 1.442) −7.33, B (0.623, 0.028) −5.41,
 * C (−0.050, 0.467) −4.04, and the saddles A–C (−0.822, 0.624) −2.03 and C–B (0.212, 0.293) −3.61:
 * barriers of 5.3 k_BT (A→C) and 1.8 k_BT (B→C) at the defaults.
 * Only the σ = 0 score s = −β·scale·∇U_MB is known (σ is ignored): `smoothed` is false.
 */
import type { ScoreModel } from '../types'
import { UserError } from '../../errors'

const A = [-200, -100, -170, 15] as const
const a = [-1, -1, -6.5, 0.7] as const
const b = [0, 0, 11, 0.6] as const
const c = [-10, -10, -6.5, 0.7] as const
const X0 = [1, 0, -0.5, -1] as const
const Y0 = [0, 0.5, 1.5, 1] as const

/** default energy scale applied to U_MB */
export const MUELLER_BROWN_SCALE = 1 / 20

/** the three minima of U_MB (x, y), deepest first */
export const MUELLER_BROWN_MINIMA = [
  [-0.558224, 1.441726],
  [0.623499, 0.028038],
  [-0.050011, 0.46669],
] as const

/** unscaled U_MB(x, y) */
export function muellerBrownPotential(x: number, y: number): number {
  let u = 0
  for (let k = 0; k < 4; k++) {
    const dx = x - X0[k]!
    const dy = y - Y0[k]!
    u += A[k]! * Math.exp(a[k]! * dx * dx + b[k]! * dx * dy + c[k]! * dy * dy)
  }
  return u
}

export interface MuellerBrownOptions {
  /** inverse temperature β (default 1) */
  beta?: number
  /** energy scale applied to U_MB (default 1/20) */
  scale?: number
}

export class MuellerBrownModel implements ScoreModel {
  readonly dim = 2
  readonly sigmaRange = [0, 0] as const
  readonly smoothed = false
  readonly rigidBody = false
  readonly name: string
  readonly beta: number
  readonly scale: number

  constructor(opts: MuellerBrownOptions = {}) {
    const beta = opts.beta ?? 1
    const scale = opts.scale ?? MUELLER_BROWN_SCALE
    if (!(beta > 0) || !Number.isFinite(beta)) throw new UserError(`mueller-brown: beta must be positive (got ${beta})`, 'bad-flag')
    if (!(scale > 0) || !Number.isFinite(scale)) throw new UserError(`mueller-brown: scale must be positive (got ${scale})`, 'bad-flag')
    this.beta = beta
    this.scale = scale
    this.name = `mueller-brown(U=U_MB*${scale}, beta=${beta})`
  }

  /** the model's potential scale·U_MB(x, y) */
  potential(x: number, y: number): number {
    return this.scale * muellerBrownPotential(x, y)
  }

  score(x: Float32Array, _sigma: Float32Array, batch: number, out: Float32Array): void {
    const f = -this.beta * this.scale
    for (let j = 0; j < batch; j++) {
      const px = x[2 * j]!
      const py = x[2 * j + 1]!
      let gx = 0
      let gy = 0
      for (let k = 0; k < 4; k++) {
        const dx = px - X0[k]!
        const dy = py - Y0[k]!
        const e = A[k]! * Math.exp(a[k]! * dx * dx + b[k]! * dx * dy + c[k]! * dy * dy)
        gx += e * (2 * a[k]! * dx + b[k]! * dy)
        gy += e * (b[k]! * dx + 2 * c[k]! * dy)
      }
      out[2 * j] = f * gx
      out[2 * j + 1] = f * gy
    }
  }

  /** −β·scale·U_MB(x) (σ = 0 only; σ is ignored) */
  logDensity(x: Float32Array, _sigma: number): number {
    return -this.beta * this.potential(x[0]!, x[1]!)
  }
}
