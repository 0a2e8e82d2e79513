/**
 * Normalised autocorrelation functions (docs/science.md "Observables and autocorrelation").
 *
 * Scalar series A(t), t = 0 … n−1, δA = A − mean(A):
 *   C(k) = [Σ_{t<n−k} δA(t)·δA(t+k) / (n−k)] / [Σ_t δA(t)² / n]
 * (the unbiased 1/(n−k) lag average, as in the GROMACS reference of data/ala2), C(0) = 1.
 * Angle series θ(t), u = (cos θ, sin θ):
 *   C(k) = (⟨u(t)·u(t+k)⟩_k − |⟨u⟩|²) / (1 − |⟨u⟩|²),  ⟨·⟩_k the same 1/(n−k) lag average.
 * Lags k ≥ n cannot be estimated and are NaN; a constant series gives C(0) = 1 and NaN elsewhere.
 * The FFT versions zero-pad to a power of two ≥ n + maxLag (no wrap-around), O(n log n).
 */
import { FFT, RealFFT, nextPow2 } from './fft'

interface RealWork {
  plan: RealFFT
  x: Float64Array
  re: Float64Array
  im: Float64Array
}
interface ComplexWork {
  plan: FFT
  re: Float64Array
  im: Float64Array
}

// one cached workspace per kind: repeated calls of the same size (replicas) allocate nothing
let realWork: RealWork | undefined
let complexWork: ComplexWork | undefined

function getRealWork(m: number): RealWork {
  if (!realWork || realWork.plan.n !== m) {
    realWork = { plan: new RealFFT(m), x: new Float64Array(m), re: new Float64Array(m / 2 + 1), im: new Float64Array(m / 2 + 1) }
  }
  return realWork
}

function getComplexWork(m: number): ComplexWork {
  if (!complexWork || complexWork.plan.n !== m) {
    complexWork = { plan: new FFT(m), re: new Float64Array(m), im: new Float64Array(m) }
  }
  return complexWork
}

function checkLag(maxLag: number): void {
  if (!Number.isInteger(maxLag) || maxLag < 0) throw new RangeError(`maxLag must be a whole number ≥ 0, got ${maxLag}`)
}

/** normalised ACF C(0 … maxLag) of a scalar series by zero-padded real FFT, O(n log n) */
export function acf(series: ArrayLike<number>, maxLag: number): Float64Array {
  checkLag(maxLag)
  const n = series.length
  const out = new Float64Array(maxLag + 1).fill(NaN)
  if (n === 0) return out
  const L = Math.min(maxLag, n - 1)
  let mean = 0
  for (let t = 0; t < n; t++) mean += series[t]!
  mean /= n
  const m = Math.max(2, nextPow2(n + L + 1))
  const w = getRealWork(m)
  const x = w.x
  for (let t = 0; t < n; t++) x[t] = series[t]! - mean
  x.fill(0, n)
  w.plan.forward(x, w.re, w.im)
  for (let k = 0; k <= m / 2; k++) {
    w.re[k] = w.re[k]! * w.re[k]! + w.im[k]! * w.im[k]!
    w.im[k] = 0
  }
  w.plan.inverse(w.re, w.im, x)
  const var0 = x[0]! / n
  out[0] = 1
  if (!(var0 > 0)) return out
  for (let k = 1; k <= L; k++) out[k] = x[k]! / (n - k) / var0
  return out
}

/** the same ACF by the direct O(n·maxLag) sum (reference implementation) */
export function acfDirect(series: ArrayLike<number>, maxLag: number): Float64Array {
  checkLag(maxLag)
  const n = series.length
  const out = new Float64Array(maxLag + 1).fill(NaN)
  if (n === 0) return out
  let mean = 0
  for (let t = 0; t < n; t++) mean += series[t]!
  mean /= n
  let v = 0
  for (let t = 0; t < n; t++) v += (series[t]! - mean) ** 2
  v /= n
  out[0] = 1
  if (!(v > 0)) return out
  for (let k = 1; k <= Math.min(maxLag, n - 1); k++) {
    let s = 0
    for (let t = 0; t + k < n; t++) s += (series[t]! - mean) * (series[t + k]! - mean)
    out[k] = s / (n - k) / v
  }
  return out
}

/**
 * angular ACF C(0 … maxLag) of an angle series (radians) through its unit vector
 * u = (cos θ, sin θ): one complex FFT of z = e^{iθ}, since Re Σ z(t)·conj z(t+k) = Σ u(t)·u(t+k).
 * `mean`: the mean unit vector to subtract (default: this series' own mean).
 */
export function angularAcf(angles: ArrayLike<number>, maxLag: number, mean?: readonly [number, number]): Float64Array {
  checkLag(maxLag)
  const n = angles.length
  const out = new Float64Array(maxLag + 1).fill(NaN)
  if (n === 0) return out
  const L = Math.min(maxLag, n - 1)
  const m = nextPow2(n + L + 1)
  const w = getComplexWork(m)
  const re = w.re
  const im = w.im
  let mc = 0
  let ms = 0
  for (let t = 0; t < n; t++) {
    const c = Math.cos(angles[t]!)
    const s = Math.sin(angles[t]!)
    re[t] = c
    im[t] = s
    mc += c
    ms += s
  }
  re.fill(0, n)
  im.fill(0, n)
  mc = mean ? mean[0] : mc / n
  ms = mean ? mean[1] : ms / n
  const m2 = mc * mc + ms * ms
  w.plan.forward(re, im)
  for (let k = 0; k < m; k++) {
    re[k] = re[k]! * re[k]! + im[k]! * im[k]!
    im[k] = 0
  }
  w.plan.inverse(re, im)
  const denom = 1 - m2
  out[0] = 1
  // a frozen angle (|⟨u⟩| = 1 up to rounding) has no fluctuation to correlate
  if (!(denom > 1e-12)) return out
  for (let k = 1; k <= L; k++) out[k] = (re[k]! / (n - k) - m2) / denom
  return out
}

/** the angular ACF by the direct O(n·maxLag) sum (reference implementation) */
export function angularAcfDirect(angles: ArrayLike<number>, maxLag: number, mean?: readonly [number, number]): Float64Array {
  checkLag(maxLag)
  const n = angles.length
  const out = new Float64Array(maxLag + 1).fill(NaN)
  if (n === 0) return out
  let mc = 0
  let ms = 0
  for (let t = 0; t < n; t++) {
    mc += Math.cos(angles[t]!)
    ms += Math.sin(angles[t]!)
  }
  mc = mean ? mean[0] : mc / n
  ms = mean ? mean[1] : ms / n
  const m2 = mc * mc + ms * ms
  out[0] = 1
  if (!(1 - m2 > 1e-12)) return out
  for (let k = 1; k <= Math.min(maxLag, n - 1); k++) {
    let s = 0
    for (let t = 0; t + k < n; t++) s += Math.cos(angles[t]! - angles[t + k]!)
    out[k] = (s / (n - k) - m2) / (1 - m2)
  }
  return out
}

/** mean unit vector (⟨cos θ⟩, ⟨sin θ⟩) over all values of all series */
export function pooledUnitMean(series: ArrayLike<number>[]): [number, number] {
  let c = 0
  let s = 0
  let n = 0
  for (const a of series) {
    for (let t = 0; t < a.length; t++) {
      c += Math.cos(a[t]!)
      s += Math.sin(a[t]!)
    }
    n += a.length
  }
  return n > 0 ? [c / n, s / n] : [NaN, NaN]
}

/**
 * ACF per replica (scalar or angle), their mean and the standard error of the mean across
 * replicas, stderr(k) = sd_k/√R_k (sample sd, R_k replicas with a finite C(k)); NaN when R_k < 2
 * (no spread can be estimated from one replica) and mean NaN when R_k = 0.
 */
export function replicaAcf(
  series: ArrayLike<number>[],
  maxLag: number,
  kind: 'scalar' | 'angle',
  /** 'pooled' (angles only): subtract the unit-vector mean of all replicas together, not each replica's own */
  meanOf: 'replica' | 'pooled' = 'replica'
): { mean: Float64Array; stderr: Float64Array; perReplica: Float64Array[] } {
  checkLag(maxLag)
  const pooled = kind === 'angle' && meanOf === 'pooled' ? pooledUnitMean(series) : undefined
  const perReplica = series.map((s) => (kind === 'angle' ? angularAcf(s, maxLag, pooled) : acf(s, maxLag)))
  const mean = new Float64Array(maxLag + 1)
  const stderr = new Float64Array(maxLag + 1)
  for (let k = 0; k <= maxLag; k++) {
    let cnt = 0
    let s = 0
    for (const c of perReplica) {
      const v = c[k]!
      if (Number.isFinite(v)) {
        s += v
        cnt++
      }
    }
    const mu = cnt > 0 ? s / cnt : NaN
    let ss = 0
    for (const c of perReplica) {
      const v = c[k]!
      if (Number.isFinite(v)) ss += (v - mu) ** 2
    }
    mean[k] = mu
    stderr[k] = cnt > 1 ? Math.sqrt(ss / (cnt - 1) / cnt) : NaN
  }
  return { mean, stderr, perReplica }
}
