/**
 * The bridge's reverse integrators and the Metropolis-corrected step on the exact stiff + soft
 * Gaussian of docs/sampler-integrators.md (d = 66: 21 modes of variance 0.02² Å², 45 of 0.25 Å²;
 * σ_K = 0.158 Å, σ_min = 0.025 Å). Run: node scripts/run-ts.mjs bench/integrators.bench.ts
 * Prints markdown tables:
 *  - stationary variance bias per scheme and M, from the exact recurrence (src/core/sampler/reverse-grid.ts)
 *  - bridge-mh acceptance (mean of min(1, α) over 1000 draws from π, with its standard error)
 *  - wall time per adapter step of 64 replicas for em, tweedie and bridge-mh (analytic score, so
 *    this is the sampler's own arithmetic, not a network's cost)
 */
import { AdapterStep, bridgeGrid, noisePerStep } from '../src/core/sampler/adapter-step'
import { stationaryVarianceBias } from '../src/core/sampler/reverse-grid'
import { GaussianMixtureModel } from '../src/core/score/analytic/gmm'
import { fillNormals } from '../src/core/rng/normals'
import type { SamplerMode, ReverseScheme } from '../src/core/sampler/params'

const SK = 0.158
const SMIN = 0.025
const D = 66
const V_STIFF = 0.0004
const V_SOFT = 0.25

function gaussian(nStiff: number): GaussianMixtureModel {
  return new GaussianMixtureModel([{ weight: 1, mean: new Float64Array(D), variance: Array.from({ length: D }, (_, i) => (i < nStiff ? V_STIFF : V_SOFT)) }], 'stiff-soft')
}

function frames(N: number, nStiff: number, seed: number): Float32Array {
  const y = new Float32Array(N * D)
  fillNormals(y, seed, 0, 0)
  for (let b = 0; b < N; b++) for (let i = 0; i < D; i++) y[b * D + i] = y[b * D + i]! * Math.sqrt((i < nStiff ? V_STIFF : V_SOFT) + SMIN ** 2)
  return y
}

function noiseFor(mode: SamplerMode, M: number, N: number, seed: number): Float32Array {
  const P = noisePerStep(mode, D, M)
  const noise = new Float32Array(N * P)
  for (let b = 0; b < N; b++) fillNormals(noise, seed, b, 0, b * P, P)
  return noise
}

async function acceptance(nStiff: number, M: number, N = 1000): Promise<[number, number]> {
  const st = new AdapterStep(gaussian(nStiff), { mode: 'bridge-mh', eta: SK * SK - SMIN * SMIN, denoiseSteps: M, sigmaMin: SMIN }, N)
  await st.step(frames(N, nStiff, 7), noiseFor('bridge-mh', M, N, 1000 + M), N, new Float32Array(N * D))
  let s = 0
  let s2 = 0
  for (let b = 0; b < N; b++) {
    const a = Math.min(1, Math.exp(st.logAlpha[b]!))
    s += a
    s2 += a * a
  }
  const m = s / N
  return [m, Math.sqrt((s2 / N - m * m) / N)]
}

async function msPerStep(mode: SamplerMode, scheme: ReverseScheme | undefined, M: number, R = 64, reps = 20): Promise<number> {
  const st = new AdapterStep(gaussian(21), { mode, scheme, eta: SK * SK - SMIN * SMIN, denoiseSteps: M, sigmaMin: SMIN }, R)
  const y = frames(R, 21, 3)
  const out = new Float32Array(R * D)
  const noise = noiseFor(mode, M, R, 4)
  await st.step(y, noise, R, out)
  const t0 = performance.now()
  for (let k = 0; k < reps; k++) await st.step(y, noise, R, out)
  return (performance.now() - t0) / reps
}

async function main(): Promise<void> {
  const vs = Array.from({ length: 61 }, (_, i) => Math.pow(10, -5 + (5 * i) / 60))
  console.log('## Stationary variance bias of the uncorrected bridge (exact recurrence)\n')
  console.log('| M | scheme | evaluations / step | calls / step | stiff bias | soft bias | worst |bias|, v ∈ [1e-5, 1] Å² |')
  console.log('|---|---|---|---|---|---|---|')
  for (const M of [5, 10, 20, 40, 80]) {
    const tau = bridgeGrid(SK, SMIN, M)
    for (const scheme of ['em', 'tweedie'] as const) {
      const worst = Math.max(...vs.map((v) => Math.abs(stationaryVarianceBias(scheme, tau, v))))
      const pct = (x: number, dg: number): string => `${(100 * x).toFixed(dg)} %`
      console.log(`| ${M} | ${scheme} | ${scheme === 'em' ? M : 2 * M} | ${M} | ${pct(stationaryVarianceBias(scheme, tau, V_STIFF), 2)} | ${pct(stationaryVarianceBias(scheme, tau, V_SOFT), 3)} | ${pct(worst, 2)} |`)
    }
  }
  console.log('\n## bridge-mh acceptance, exact score\n')
  console.log('| M | evaluations / step | 21 stiff + 45 soft | all soft |')
  console.log('|---|---|---|---|')
  for (const M of [10, 20, 40, 80, 160]) {
    const [a, ea] = await acceptance(21, M)
    const [b, eb] = await acceptance(0, M)
    console.log(`| ${M} | ${2 * M + 2} | ${a.toFixed(3)} ± ${ea.toFixed(3)} | ${b.toFixed(3)} ± ${eb.toFixed(3)} |`)
  }
  console.log('\n## Wall time per adapter step, 64 replicas, M = 20 (analytic score)\n')
  console.log('| step | ms |')
  console.log('|---|---|')
  for (const [label, mode, scheme] of [['bridge em', 'bridge', 'em'], ['bridge tweedie', 'bridge', 'tweedie'], ['bridge-mh', 'bridge-mh', undefined]] as const) {
    console.log(`| ${label} | ${(await msPerStep(mode, scheme, 20)).toFixed(2)} |`)
  }
}

void main()
