/**
 * The guard against escapes (docs/science.md "Guard against escapes"): a hard wall around the training data. A frame is
 * inside when it is finite and its whitened distance from the data mean,
 *   √(Σ_i ((x_i − mean_i)/scale_i)²),
 * is at most `radius`; `scale` is the per-coordinate standard deviation of the data (Å), so the
 * distance is dimensionless. A sampler step whose result lies outside is rejected and the replica
 * keeps its frame; since the wall is hard, equilibrium inside is unchanged.
 */
import { UserError } from '../errors'

export interface TrustRegion {
  /** data mean (Å), length d */
  mean: Float32Array
  /** per-coordinate whitening scale (Å, > 0), length d */
  scale: Float32Array
  /** largest allowed whitened distance (e.g. 1.1 × the largest over the training frames) */
  radius: number
}

/** Precomputed check of frames against a trust region; allocation-free per call. */
export class TrustGuard {
  private readonly mean: Float64Array
  private readonly invScale: Float64Array
  private readonly r2: number

  constructor(
    region: TrustRegion,
    readonly dim: number
  ) {
    if (region.mean.length !== dim || region.scale.length !== dim) {
      throw new UserError(`trust region: mean and scale must have length ${dim} (got ${region.mean.length} and ${region.scale.length})`, 'bad-param')
    }
    if (!(region.radius > 0)) throw new UserError(`trust region: radius must be positive (got ${region.radius})`, 'bad-param')
    this.mean = Float64Array.from(region.mean)
    this.invScale = new Float64Array(dim)
    for (let i = 0; i < dim; i++) {
      const s = region.scale[i]!
      if (!(s > 0) || !Number.isFinite(s)) throw new UserError(`trust region: scale[${i}] = ${s}; scales must be positive`, 'bad-param')
      this.invScale[i] = 1 / s
    }
    this.r2 = region.radius * region.radius
  }

  /** whitened distance of x[offset … offset+d) from the mean (NaN if x is not finite) */
  distance(x: Float32Array, offset = 0): number {
    return Math.sqrt(this.distance2(x, offset))
  }

  private distance2(x: Float32Array, offset: number): number {
    let s = 0
    for (let i = 0; i < this.dim; i++) {
      const z = (x[offset + i]! - this.mean[i]!) * this.invScale[i]!
      s += z * z
    }
    return s
  }

  /** true when the frame is finite and inside the region */
  inside(x: Float32Array, offset = 0): boolean {
    const s = this.distance2(x, offset)
    return s <= this.r2 // false for NaN/Infinity
  }
}
