/**
 * The reference's φ/ψ autocorrelation figures computed LIKE WITH LIKE with a generated run
 * (docs/science.md, "Comparing like with like"): the long reference series are cut into segments
 * of the run's length and frame spacing (segmentSeries), the segments are grouped into pseudo-runs
 * of the run's replica count, and each pseudo-run goes through exactly the estimator the run's plot
 * uses — unit-vector ACF with the mean unit vector pooled over the run's replicas
 * (replicaAcf(…, 'angle', 'pooled')), averaged over replicas, τ_int by Sokal's window (c = 5) on
 * that average. So the reference curve carries the same finite-length bias as the run's: a 1.5-ns
 * run cannot show a 400-ps correlation time, and neither can a 1.5-ns slice of GROMACS.
 *
 *   curve(k)  = mean over pseudo-runs g of Ĉ_g(k)          Ĉ_g = replica-mean ACF of pseudo-run g
 *   spread(k) = sample sd over g of Ĉ_g(k)                 what one run of this size scatters by
 *   τ_int     = mean over g of τ(Ĉ_g), with its sd over g  (and τ of the mean curve, for reference)
 *
 * Segments never share a frame; only reference replicas whose frame interval divides the spacing
 * are used (a 5-ps run uses the 1-ps replica; a 10-ps run all three). With fewer segments than the
 * run has replicas, all segments form one pseudo-run (spread then NaN).
 */
import { replicaAcf } from './acf'
import { segmentSeries, type PhiPsiSeriesFile } from './kinetics'
import { tauInt } from './tau-int'

export interface LikeWithLikeCurve {
  /** lag k·spacing (ps), k = 0 … maxLag */
  lagPs: number[]
  /** mean over pseudo-runs of their replica-mean ACF */
  mean: Float64Array
  /** sd over pseudo-runs (NaN with one pseudo-run) */
  spread: Float64Array
  /** mean over pseudo-runs of τ_int (ps) */
  tauIntPs: number
  /** sd over pseudo-runs of τ_int (ps; NaN with one) */
  tauSpreadPs: number
  /** τ_int (ps) of the mean curve */
  tauOfMeanPs: number
  /** fraction of pseudo-runs whose Sokal window converged */
  convergedFraction: number
}

export interface LikeWithLike {
  segmentFrames: number
  spacingPs: number
  /** segments cut from the reference */
  segments: number
  /** pseudo-runs of `replicasPerRun` segments each */
  runs: number
  replicasPerRun: number
  phi: LikeWithLikeCurve
  psi: LikeWithLikeCurve
}

export interface LikeWithLikeOptions {
  /** frames per replica of the run (frame 0 included) */
  segmentFrames: number
  /** ps between the run's saved frames */
  spacingPs: number
  /** replicas of the run (segments per pseudo-run; default 1) */
  replicas?: number
  /** lags to report (default segmentFrames − 1, the whole segment) */
  maxLag?: number
  /** ps discarded at the start of every reference replica (default 1000, as the reference does) */
  discardPs?: number
}

function sdOf(values: number[]): number {
  if (values.length < 2) return NaN
  const m = values.reduce((a, b) => a + b, 0) / values.length
  return Math.sqrt(values.reduce((a, b) => a + (b - m) ** 2, 0) / (values.length - 1))
}

function curveOf(groups: Float64Array[][], maxLag: number, spacingPs: number): LikeWithLikeCurve {
  const perRun = groups.map((g) => replicaAcf(g, maxLag, 'angle', 'pooled').mean)
  const mean = new Float64Array(maxLag + 1)
  const spread = new Float64Array(maxLag + 1)
  for (let k = 0; k <= maxLag; k++) {
    const vals = perRun.map((c) => c[k]!).filter((v) => Number.isFinite(v))
    mean[k] = vals.length ? vals.reduce((a, b) => a + b, 0) / vals.length : NaN
    spread[k] = sdOf(vals)
  }
  const taus = perRun.map((c) => tauInt(c, spacingPs))
  const finite = taus.map((t) => t.tau).filter((v) => Number.isFinite(v))
  return {
    lagPs: Array.from({ length: maxLag + 1 }, (_, k) => k * spacingPs),
    mean,
    spread,
    tauIntPs: finite.length ? finite.reduce((a, b) => a + b, 0) / finite.length : NaN,
    tauSpreadPs: sdOf(finite),
    tauOfMeanPs: tauInt(mean, spacingPs).tau,
    convergedFraction: taus.filter((t) => t.converged).length / Math.max(1, taus.length),
  }
}

/**
 * The reference series (degrees) cut like the run; null when no reference replica can be cut at
 * this spacing and length (spacing not a multiple of any replica's interval, or segments longer
 * than the reference).
 */
export function referenceLikeWithLike(series: PhiPsiSeriesFile, opts: LikeWithLikeOptions): LikeWithLike | null {
  const { segmentFrames, spacingPs } = opts
  if (!(Number.isInteger(segmentFrames) && segmentFrames >= 2)) throw new RangeError(`referenceLikeWithLike: segmentFrames must be a whole number ≥ 2 (got ${segmentFrames})`)
  if (!(spacingPs > 0 && Number.isFinite(spacingPs))) throw new RangeError(`referenceLikeWithLike: spacingPs must be > 0 (got ${spacingPs})`)
  const R = Math.max(1, Math.floor(opts.replicas ?? 1))
  const maxLag = Math.min(opts.maxLag ?? segmentFrames - 1, segmentFrames - 1)
  const discardPs = opts.discardPs ?? 1000
  const deg = Math.PI / 180
  const phi: Float64Array[] = []
  const psi: Float64Array[] = []
  for (const r of series.replicas) {
    const ratio = spacingPs / r.frame_interval_ps
    if (!(ratio >= 1 - 1e-9) || Math.abs(ratio - Math.round(ratio)) > 1e-9 * ratio) continue
    const cut = { segmentFrames, spacingPs, discardPs }
    const a = segmentSeries(r.phi_deg, r.frame_interval_ps, cut)
    const b = segmentSeries(r.psi_deg, r.frame_interval_ps, cut)
    for (let i = 0; i < a.length; i++) {
      phi.push(a[i]!.map((v) => v * deg))
      psi.push(b[i]!.map((v) => v * deg))
    }
  }
  if (phi.length === 0) return null
  const per = Math.min(R, phi.length)
  const runs = Math.floor(phi.length / per)
  const group = (all: Float64Array[]): Float64Array[][] => Array.from({ length: runs }, (_, g) => all.slice(g * per, (g + 1) * per))
  return {
    segmentFrames,
    spacingPs,
    segments: phi.length,
    runs,
    replicasPerRun: per,
    phi: curveOf(group(phi), maxLag, spacingPs),
    psi: curveOf(group(psi), maxLag, spacingPs),
  }
}

/**
 * Whether a τ_int estimate can be trusted: the Sokal window converged and the run covers at least
 * `minMultiple` (default 20) correlation times, judged with the larger of the run's own τ and an
 * independent one (e.g. the reference's long-run τ), because a short run underestimates its own τ.
 */
export function tauReliability(opts: { runPs: number; tauPs: number; converged: boolean; independentTauPs?: number; minMultiple?: number }): { reliable: boolean; reason: string | null; tauCheckPs: number } {
  const m = opts.minMultiple ?? 20
  const tauCheck = Math.max(Number.isFinite(opts.tauPs) ? opts.tauPs : 0, opts.independentTauPs !== undefined && Number.isFinite(opts.independentTauPs) ? opts.independentTauPs : 0)
  if (!opts.converged) return { reliable: false, reason: 'the ACF ended before Sokal’s window closed', tauCheckPs: tauCheck }
  if (opts.runPs < m * tauCheck) return { reliable: false, reason: `run ${fmt(opts.runPs)} ps < ${m} τ ≈ ${fmt(m * tauCheck)} ps`, tauCheckPs: tauCheck }
  return { reliable: true, reason: null, tauCheckPs: tauCheck }
}

function fmt(x: number): string {
  return String(Number(x.toPrecision(3)))
}
