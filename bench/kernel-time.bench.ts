/**
 * How long is one adapter step, with the EXACT score? (docs/sampler-integrators.md "The step's own
 * kinetics"). On the 1-D three-well Gaussian mixture (wells at −1.5, 0, 1.5, variance 0.1, weights
 * 0.5/0.3/0.2; exact smoothed score at every σ) it measures the integrated autocorrelation time of x
 * for Brownian dynamics (D = 1, time in units of η):
 *  - the reference: plain Euler–Maruyama (`clean`) at η = 2·10⁻⁴ on the σ_min-smoothed density
 *    (its own time-step error is O(η·κ) ≈ 0.2 %),
 *  - the bridge adapter step (tweedie, M = 40, σ_min = 0.02) at η = 0.0025 … 0.1 (σ_K up to one
 *    well width), every run saving a frame every 0.1 time units.
 * With an exact score the only differences left are the step's: its time calibration (σ_K² = η + σ_min²)
 * and what a finite noise level does to barrier crossings. Then the same step in calibrated time
 * (docs/self-check.md "Calibrated time"): ln τ fitted on η through the bridge rows, as the self-check
 * fits its runs, and steps of the width that relaxes like η = 0.04 and 0.1. Run:
 *   node scripts/run-ts.mjs bench/kernel-time.bench.ts [--replicas 64] [--time 400]
 */
import { runTrajectory } from '../src/core/sampler/runner'
import { threeWellMixture } from '../src/core/score/analytic/gmm'
import { NormalStream } from '../src/core/rng/normals'
import { replicaAcf } from '../src/core/analysis/acf'
import { tauInt } from '../src/core/analysis/tau-int'
import type { SamplerMode } from '../src/core/sampler/params'
import { fitTimescales, type TimescalePoint } from '../src/core/selfcheck/compare'
import { calibratedStep } from '../src/core/selfcheck/time-calibration'

const argv = process.argv.slice(2)
const flag = (name: string, def: number): number => {
  const i = argv.indexOf(`--${name}`)
  return i >= 0 ? Number(argv[i + 1]) : def
}
const R = flag('replicas', 64)
const T = flag('time', 400)
const FRAME = 0.1
const SMIN = 0.02
const model = threeWellMixture(1)

/** τ_int of x for steps of width η, each `timePerStep` long (η itself unless calibrated) */
async function tauOf(mode: SamplerMode, eta: number, M: number, timePerStep = eta): Promise<{ tau: number; se: number; mean: number; variance: number; seconds: number }> {
  const inner = Math.max(1, Math.round(FRAME / timePerStep))
  const frames = Math.round(T / FRAME) + 1
  const init = model.sample(R, new NormalStream(11, 0xfffffff0))
  const t0 = performance.now()
  const res = await runTrajectory(model, { mode, scheme: mode === 'bridge' ? 'tweedie' : undefined, eta, innerSteps: inner, denoiseSteps: M, sigmaMin: SMIN, replicas: R, frames, seed: 3 }, init)
  const seconds = (performance.now() - t0) / 1000
  const F = res.trajectory.frames
  const series: Float64Array[] = []
  let s = 0
  let s2 = 0
  for (let r = 0; r < R; r++) {
    const x = new Float64Array(F - 10)
    for (let f = 10; f < F; f++) {
      x[f - 10] = res.trajectory.data[r * F + f]!
      s += x[f - 10]!
      s2 += x[f - 10]! ** 2
    }
    series.push(x)
  }
  const n = R * (F - 10)
  const mean = s / n
  const dt = timePerStep * inner
  const maxLag = Math.min(F - 20, Math.ceil(40 / dt))
  const { mean: c } = replicaAcf(series, maxLag, 'scalar')
  const all = tauInt(c, dt)
  // jackknife over replicas for the error of τ
  const taus: number[] = []
  const G = 8
  for (let g = 0; g < G; g++) {
    const keep = series.filter((_, r) => r % G !== g)
    taus.push(tauInt(replicaAcf(keep, maxLag, 'scalar').mean, dt).tau)
  }
  const tm = taus.reduce((a, b) => a + b, 0) / G
  const se = Math.sqrt(((G - 1) / G) * taus.reduce((a, b) => a + (b - tm) ** 2, 0))
  return { tau: all.tau, se, mean, variance: s2 / n - mean * mean, seconds }
}

const ref = await tauOf('clean', 2e-4, 1)
console.log(`1-D three-well GMM, exact score, D = 1; ${R} replicas × ${T} time units, frames every ${FRAME}; σ_min = ${SMIN}`)
console.log('exact: mean −0.45, variance 1.4725 + σ_min² = 1.4729\n')
console.log('| dynamics | η | σ_K = √(η + σ_min²) | σ_K / well sd | τ_int x | τ / τ_ref | mean | variance | s |')
console.log('|---|---|---|---|---|---|---|---|---|')
const row = (name: string, eta: number, r: typeof ref, sk: string, ratio: string): void =>
  console.log(`| ${name} | ${eta} | ${sk} | ${ratio} | ${r.tau.toFixed(3)} ± ${r.se.toFixed(3)} | ${(r.tau / ref.tau).toFixed(3)} | ${r.mean.toFixed(3)} | ${r.variance.toFixed(3)} | ${r.seconds.toFixed(0)} |`)
row('EM (clean), reference', 2e-4, ref, '—', '—')
const points: TimescalePoint[] = []
for (const eta of [0.0025, 0.01, 0.04, 0.1]) {
  const sk = Math.sqrt(eta + SMIN * SMIN)
  const r = await tauOf('bridge', eta, 40)
  row('bridge tweedie M = 40', eta, r, sk.toFixed(3), (sk / Math.sqrt(0.1)).toFixed(2))
  points.push({ dtPs: eta, value: Math.log(r.tau), stderr: r.se / r.tau })
}

// calibrated time (docs/self-check.md "Calibrated time"): the self-check's own regression of ln τ on η
// through the bridge rows above (no reference used), then steps of the width that relaxes like η
const fit = fitTimescales(points)!
const cal = { slopePerEta: fit.slope, slopePerEtaSe: fit.slopeSe, maxEta: 0.1, checkedOn: 'this run' }
console.log(`\ncalibration from the bridge rows: ln τ = ${fit.intercept.toFixed(3)} + (${fit.slope.toFixed(2)} ± ${fit.slopeSe.toFixed(2)})·η (χ²/dof ${(fit.chi2 / Math.max(1, fit.dof)).toFixed(2)})\n`)
console.log('| dynamics | time per step | width η | σ_K | τ_int x | τ / τ_ref | mean | variance | s |')
console.log('|---|---|---|---|---|---|---|---|---|')
for (const t of [0.04, 0.1]) {
  const step = calibratedStep(t, cal)!
  const r = await tauOf('bridge', step.eta, 40, t)
  console.log(`| bridge, calibrated | ${t} | ${step.eta.toFixed(4)} | ${Math.sqrt(step.eta + SMIN * SMIN).toFixed(3)} | ${r.tau.toFixed(3)} ± ${r.se.toFixed(3)} | ${(r.tau / ref.tau).toFixed(3)} | ${r.mean.toFixed(3)} | ${r.variance.toFixed(3)} | ${r.seconds.toFixed(0)} |`)
}
