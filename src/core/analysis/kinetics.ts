/**
 * Kinetic figures of φ/ψ replica series, computed the same way on a generated run and on a
 * reference (docs/science.md "Comparing like with like"):
 *  - the unit-vector ACF of φ and ψ at chosen lags (ps), replica mean ± standard error, with the
 *    mean unit vector taken over ALL replicas together (a short replica's own mean would bias the
 *    ACF low by about 2τ/T; the pooled mean of R replicas is R times less biased);
 *  - τ_int (Sokal window, c = 5) of the replica-mean ACF, and the spread of per-replica τ_int;
 *  - core-to-core C5 ⇄ C7eq rates counted at the series' frame spacing (Poisson error).
 * `segmentSeries` cuts a long reference series into segments of a run's length and spacing, so the
 * reference's figures carry the same finite-length bias as the run's.
 * Angles in radians, times in ps.
 */
import { replicaAcf } from './acf'
import { tauInt } from './tau-int'
import { transitionRates, type DihedralTrajectory } from './basins'

export interface ValueWithError {
  value: number
  /** standard error (NaN when it cannot be estimated) */
  stderr: number
}

/**
 * Whether a figure misses a target |x − ref| ≤ tol even after moving it z combined standard errors
 * towards the reference: |x − ref| − z·√(se_x² + se_ref²) > tol. A figure that misses the target
 * but not this test is within the noise of the run and the reference (bench:fidelity's "beyond
 * 2σ" count, docs/science.md "Measured against GROMACS"). A standard error that is NaN counts as 0 (no allowance).
 */
export function missBeyondNoise(x: ValueWithError, ref: ValueWithError, tol: number, z = 2): boolean {
  const se = (v: number) => (Number.isFinite(v) ? v : 0)
  return Math.abs(x.value - ref.value) - z * Math.hypot(se(x.stderr), se(ref.stderr)) > tol
}

export interface KineticFigures {
  /** frame spacing the figures were computed at (ps) */
  spacingPs: number
  /** frames per replica series */
  framesPerReplica: number
  replicas: number
  /** lag (ps) → ACF of the φ / ψ unit vectors, replica mean ± stderr */
  acfPhi: Record<string, ValueWithError>
  acfPsi: Record<string, ValueWithError>
  /** τ_int (ps) of the replica-mean ACF; stderr by the jackknife over replicas */
  tauPhi: ValueWithError & { converged: boolean }
  tauPsi: ValueWithError & { converged: boolean }
  /** C5 → C7eq and C7eq → C5 rates (per ns), counted at spacingPs; stderr = rate/√count */
  rateForward: ValueWithError & { count: number }
  rateBackward: ValueWithError & { count: number }
  /** run length per replica over the larger τ_int: below ~20 the τ_int estimate is unreliable */
  lengthOverTau: number
}

export const DEFAULT_LAGS_PS = [50, 200, 500] as const

/**
 * Cuts one series (frames every `intervalPs`) into segments of `segmentFrames` frames spaced
 * `spacingPs` apart, after discarding `discardPs` from its start. spacingPs must be a whole
 * multiple of intervalPs. Returns as many whole segments as fit.
 */
export function segmentSeries(
  series: ArrayLike<number>,
  intervalPs: number,
  opts: { segmentFrames: number; spacingPs: number; discardPs?: number }
): Float64Array[] {
  const stride = Math.round(opts.spacingPs / intervalPs)
  if (!(stride >= 1) || Math.abs(stride * intervalPs - opts.spacingPs) > 1e-9 * opts.spacingPs) {
    throw new RangeError(`segmentSeries: spacing ${opts.spacingPs} ps is not a whole multiple of the series interval ${intervalPs} ps`)
  }
  if (!(Number.isInteger(opts.segmentFrames) && opts.segmentFrames >= 2)) throw new RangeError(`segmentSeries: segmentFrames must be a whole number ≥ 2 (got ${opts.segmentFrames})`)
  const start = Math.round((opts.discardPs ?? 0) / intervalPs)
  const out: Float64Array[] = []
  const span = (opts.segmentFrames - 1) * stride
  // consecutive segments share no frame: the next starts one stride after the previous one's last frame
  for (let s = start; s + span < series.length; s += span + stride) {
    const seg = new Float64Array(opts.segmentFrames)
    for (let f = 0; f < opts.segmentFrames; f++) seg[f] = series[s + f * stride]!
    out.push(seg)
  }
  return out
}

/** every `stride`-th frame of a series (stride 1 returns a copy) */
export function subsample(series: ArrayLike<number>, stride: number): Float64Array {
  if (!(Number.isInteger(stride) && stride >= 1)) throw new RangeError(`subsample: stride must be a whole number ≥ 1 (got ${stride})`)
  const n = Math.floor((series.length - 1) / stride) + 1
  const out = new Float64Array(n)
  for (let i = 0; i < n; i++) out[i] = series[i * stride]!
  return out
}

function acfAt(acf: { mean: Float64Array; stderr: Float64Array }, lagsPs: readonly number[], spacingPs: number): Record<string, ValueWithError> {
  const out: Record<string, ValueWithError> = {}
  for (const lag of lagsPs) {
    const k = Math.round(lag / spacingPs)
    out[String(lag)] = k < acf.mean.length && Math.abs(k * spacingPs - lag) < 1e-9 * Math.max(1, lag) ? { value: acf.mean[k]!, stderr: acf.stderr[k]! } : { value: NaN, stderr: NaN }
  }
  return out
}

/**
 * τ_int of the replica-mean ACF, with a jackknife standard error over replicas: τ₍ᵢ₎ from the mean
 * of the other R − 1 replicas' ACFs, se² = (R − 1)/R·Σ(τ₍ᵢ₎ − τ̄)². (Per-replica τ_int would be a
 * poor error estimate: one short replica's ACF about the pooled mean need not decay to zero.)
 */
function tauWithSpread(acf: { mean: Float64Array; perReplica: Float64Array[] }, spacingPs: number): ValueWithError & { converged: boolean } {
  const t = tauInt(acf.mean, spacingPs)
  const R = acf.perReplica.length
  let se = NaN
  if (R > 2) {
    const L = acf.mean.length
    const sum = new Float64Array(L)
    const cnt = new Float64Array(L)
    for (const c of acf.perReplica) {
      for (let k = 0; k < L; k++) {
        if (Number.isFinite(c[k]!)) {
          sum[k] = sum[k]! + c[k]!
          cnt[k] = cnt[k]! + 1
        }
      }
    }
    const loo = new Float64Array(L)
    const taus: number[] = []
    for (const c of acf.perReplica) {
      for (let k = 0; k < L; k++) {
        const own = Number.isFinite(c[k]!)
        const n = cnt[k]! - (own ? 1 : 0)
        loo[k] = n > 0 ? (sum[k]! - (own ? c[k]! : 0)) / n : NaN
      }
      taus.push(tauInt(loo, spacingPs).tau)
    }
    const m = taus.reduce((a, b) => a + b, 0) / R
    se = Math.sqrt(((R - 1) / R) * taus.reduce((a, b) => a + (b - m) ** 2, 0))
  }
  return { value: t.tau, stderr: se, converged: t.converged }
}

/** kinetic figures of R replica φ/ψ series (radians) with frames `spacingPs` apart */
export function kineticFigures(replicas: readonly DihedralTrajectory[], spacingPs: number, lagsPs: readonly number[] = DEFAULT_LAGS_PS): KineticFigures {
  if (replicas.length === 0) throw new RangeError('kineticFigures: no replicas')
  const n = Math.min(...replicas.map((r) => r.phi.length))
  if (n < 2) throw new RangeError('kineticFigures: each replica needs at least 2 frames')
  // the ACF must reach far enough for Sokal's window: use the whole series
  const acfPhi = replicaAcf(replicas.map((r) => r.phi), n - 1, 'angle', 'pooled')
  const acfPsi = replicaAcf(replicas.map((r) => r.psi), n - 1, 'angle', 'pooled')
  const rates = transitionRates(replicas, spacingPs)
  const rate = (key: string): ValueWithError & { count: number } => {
    const p = rates.pairs[key]!
    const v = p.ratePerNs ?? NaN
    return { value: v, stderr: p.count > 0 ? v / Math.sqrt(p.count) : NaN, count: p.count }
  }
  const tauPhi = tauWithSpread(acfPhi, spacingPs)
  const tauPsi = tauWithSpread(acfPsi, spacingPs)
  return {
    spacingPs,
    framesPerReplica: n,
    replicas: replicas.length,
    acfPhi: acfAt(acfPhi, lagsPs, spacingPs),
    acfPsi: acfAt(acfPsi, lagsPs, spacingPs),
    tauPhi,
    tauPsi,
    rateForward: rate('C5_beta->C7eq'),
    rateBackward: rate('C7eq->C5_beta'),
    lengthOverTau: ((n - 1) * spacingPs) / Math.max(tauPhi.value, tauPsi.value),
  }
}

/** GROMACS-style φ/ψ series file (degrees): { replicas: [{ frame_interval_ps, phi_deg, psi_deg }] } */
export interface PhiPsiSeriesFile {
  replicas: { frame_interval_ps: number; phi_deg: number[]; psi_deg: number[] }[]
}

/**
 * The reference's kinetic figures like with like: every reference replica is cut into segments of
 * `segmentFrames` frames at `spacingPs` (after discarding `discardPs`), and the figures are computed
 * on the segments as if they were the replicas of a run.
 */
export function referenceKinetics(
  file: PhiPsiSeriesFile,
  opts: { segmentFrames: number; spacingPs: number; discardPs?: number; lagsPs?: readonly number[] }
): KineticFigures & { segments: number } {
  const deg = Math.PI / 180
  const segs: DihedralTrajectory[] = []
  for (const r of file.replicas) {
    if (opts.spacingPs < r.frame_interval_ps || Math.abs(opts.spacingPs / r.frame_interval_ps - Math.round(opts.spacingPs / r.frame_interval_ps)) > 1e-9) continue
    const phi = segmentSeries(r.phi_deg, r.frame_interval_ps, opts)
    const psi = segmentSeries(r.psi_deg, r.frame_interval_ps, opts)
    for (let i = 0; i < phi.length; i++) segs.push({ phi: phi[i]!.map((v) => v * deg), psi: psi[i]!.map((v) => v * deg) })
  }
  if (segs.length === 0) throw new RangeError(`referenceKinetics: no reference replica can be cut into ${opts.segmentFrames}-frame segments at ${opts.spacingPs} ps`)
  return { ...kineticFigures(segs, opts.spacingPs, opts.lagsPs), segments: segs.length }
}

/**
 * The run's kinetic time scale on a log scale: the mean of ln τ_int φ, ln τ_int ψ (ps) and
 * −ln k(C5→C7eq), −ln k(C7eq→C5) (ns). Its change between two runs is the mean log-ratio of their
 * relaxation times, so one number carries what the four figures share (docs/self-check.md
 * "Kinetic time scale"); NaN when a figure is missing (no transitions, no τ_int).
 */
export function logTimescale(f: KineticFigures): number {
  const parts = [Math.log(f.tauPhi.value), Math.log(f.tauPsi.value), -Math.log(f.rateForward.value), -Math.log(f.rateBackward.value)]
  return parts.every((v) => Number.isFinite(v)) ? parts.reduce((a, b) => a + b, 0) / parts.length : NaN
}

/**
 * The delete-one-group jackknife of a statistic of replica sets: the replicas are cut into
 * `groups` contiguous groups (as even as possible), θ₍g₎ is the statistic without group g, and
 * se² = (G − 1)/G·Σ(θ₍g₎ − θ̄)². Returns the full-set value with that error (NaN error below 2 groups
 * or when any θ₍g₎ is not finite).
 */
export function jackknifeOverReplicas<T>(replicas: readonly T[], statistic: (subset: readonly T[]) => number, groups = 8): ValueWithError {
  const value = statistic(replicas)
  const G = Math.min(groups, replicas.length)
  if (G < 2) return { value, stderr: NaN }
  const loo: number[] = []
  for (let g = 0; g < G; g++) {
    const a = Math.floor((g * replicas.length) / G)
    const b = Math.floor(((g + 1) * replicas.length) / G)
    loo.push(statistic([...replicas.slice(0, a), ...replicas.slice(b)]))
  }
  if (!loo.every((v) => Number.isFinite(v))) return { value, stderr: NaN }
  const m = loo.reduce((x, y) => x + y, 0) / G
  return { value, stderr: Math.sqrt(((G - 1) / G) * loo.reduce((x, y) => x + (y - m) ** 2, 0)) }
}
