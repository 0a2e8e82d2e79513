/**
 * Core sampler throughput (npm run bench:core). Prints markdown tables to stdout:
 *  - analytic double well (d = 1), tied and clean, R = 1 and 1024
 *  - 66-dimensional Gaussian mixture (8 diagonal components), bridge, M = 20, R = 1, 64, 1024,
 *    sequential and Picard (W = 16, tol = 1e-5 Å)
 *  - a 10⁶-sample FFT ACF (maxLag 1000)
 *  - OU exactness at scale: stationary variance vs the exact answers with ~10⁶ samples
 *  - the JavaScript kernels around the network (normals, projection, alignment, trust region), before/after
 * "steps/s" counts replica-steps (one adapter step of one replica) per wall-clock second.
 */
import { runTrajectory } from '../src/core/sampler/runner'
import type { SamplerParams } from '../src/core/sampler/params'
import type { ScoreModel } from '../src/core/score/types'
import { DoubleWellModel } from '../src/core/score/analytic/double-well'
import { GaussianMixtureModel } from '../src/core/score/analytic/gmm'
import { HarmonicModel } from '../src/core/score/analytic/harmonic'
import { bridgeGrid } from '../src/core/sampler/adapter-step'
import { fillNormals, NormalStream } from '../src/core/rng/normals'
import { acf } from '../src/core/analysis/acf'
import { measureKernels } from './kernels.bench'

interface Row {
  cells: string[]
}

function table(head: string[], rows: Row[]): string {
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`]
  for (const r of rows) lines.push(`| ${r.cells.join(' | ')} |`)
  return lines.join('\n')
}

const fmt = (x: number, digits = 3): string => (x >= 1000 ? Math.round(x).toLocaleString('en-US') : x.toPrecision(digits))

/** runs with `steps` adapter steps (innerSteps = steps, 2 frames) and returns wall time, calls, sweeps */
async function timed(model: ScoreModel, p: Omit<SamplerParams, 'frames' | 'innerSteps'>, steps: number, init: Float32Array) {
  const t0 = performance.now()
  const res = await runTrajectory(model, { ...p, innerSteps: steps, frames: 2 }, init)
  const secs = (performance.now() - t0) / 1000
  return { secs, modelCalls: res.modelCalls, sweeps: res.sweeps }
}

function gmm66(): GaussianMixtureModel {
  const d = 66
  const K = 8
  const mean = new Float32Array(d)
  const comps = []
  for (let k = 0; k < K; k++) {
    fillNormals(mean, 2024, k, 0)
    const variance = new Float64Array(d)
    for (let i = 0; i < d; i++) variance[i] = 0.05 + 0.1 * ((i * 7 + k * 3) % 10) / 10
    comps.push({ weight: 1 + (k % 3), mean: Float64Array.from(mean, (v) => 1.5 * v), variance })
  }
  return new GaussianMixtureModel(comps, 'gmm-66')
}

async function main(): Promise<void> {
  console.log(`# DiffMD core benchmark\n\nnode ${process.version}, ${new Date().toISOString()}\n`)

  // ---- double well ----
  {
    const rows: Row[] = []
    const model = new DoubleWellModel({ beta: 3, dim: 1 })
    for (const mode of ['tied', 'clean'] as const) {
      for (const R of [1, 1024]) {
        const init = new Float32Array(R).fill(1)
        const steps = Math.max(200, Math.round(1_000_000 / R))
        const p = { mode, eta: 1e-3, denoiseSteps: 1, sigmaMin: 0, replicas: R, seed: 1 }
        await timed(model, p, Math.min(steps, 2000), init) // warm-up
        const { secs, modelCalls } = await timed(model, p, steps, init)
        rows.push({ cells: [mode, String(R), fmt(steps), fmt((R * steps) / secs), fmt(steps / secs), fmt(modelCalls), fmt(secs, 3)] })
      }
    }
    console.log('## Double well (d = 1, β = 3, η = 1e-3)\n')
    console.log(table(['mode', 'R', 'adapter steps', 'replica-steps/s', 'adapter steps/s', 'model calls', 'wall s'], rows) + '\n')
  }

  // ---- 66-D Gaussian mixture, bridge M = 20 ----
  {
    const rows: Row[] = []
    const model = gmm66()
    const d = model.dim
    const M = 20
    for (const R of [1, 64, 1024]) {
      const init = model.sample(R, new NormalStream(7, 0))
      const p = { mode: 'bridge' as const, eta: 0.05, denoiseSteps: M, sigmaMin: 0.02, replicas: R, seed: 3 }
      const steps = R === 1 ? 512 : R === 64 ? 64 : 16
      await timed(model, p, 4, init)
      const seq = await timed(model, p, steps, init)
      rows.push({ cells: ['sequential', String(R), fmt(steps), fmt((R * steps) / seq.secs), fmt(steps / seq.secs), fmt(seq.modelCalls), '—', fmt(seq.secs)] })
      const W = 16
      const par = await timed(model, { ...p, parallel: { kind: 'picard', window: W, tol: 1e-5 } }, steps, init)
      rows.push({ cells: [`Picard W=${W}`, String(R), fmt(steps), fmt((R * steps) / par.secs), fmt(steps / par.secs), fmt(par.modelCalls), `${par.sweeps} (${((par.sweeps ?? 0) / steps).toFixed(2)}/step)`, fmt(par.secs)] })
    }
    console.log(`## Gaussian mixture, d = ${d}, 8 diagonal components, bridge M = ${M}, η = 0.05 Å², σ_min = 0.02 Å\n`)
    console.log(table(['engine', 'R', 'adapter steps', 'replica-steps/s', 'adapter steps/s', 'model calls', 'sweeps', 'wall s'], rows) + '\n')
    console.log('Picard evaluates R·W frames per model call; on a CPU a call of W frames costs about W single calls, so wall time drops only where one batched call costs about one call (GPU): the gain there is ≈ steps/sweeps.\n')
  }

  // ---- the JavaScript kernels around the network (bench/kernels.bench.ts), before/after in one run ----
  {
    const k = measureKernels()
    console.log('## Kernels around the network (N = 22 atoms, d = 66; before = the code before issue 12, same run)\n')
    console.log(
      table(['kernel', 'now', 'before', 'speed-up'], [
        { cells: ['normals (Philox4x32-10 → Box–Muller), ns/normal', k.nsPerNormal.toFixed(1), k.nsPerNormalBefore.toFixed(1), `×${(k.nsPerNormalBefore / k.nsPerNormal).toFixed(2)}`] },
        { cells: ['normals (Philox4x32-10 → ziggurat, the sampler\'s default; WebAssembly), ns/normal', k.nsPerNormalZiggurat.toFixed(1), `${k.nsPerNormal.toFixed(1)} (Box–Muller)`, `×${(k.nsPerNormal / k.nsPerNormalZiggurat).toFixed(2)}`] },
        { cells: ['rigid-body projection, µs/frame', k.usPerProject.toFixed(2), k.usPerProjectBefore.toFixed(2), `×${(k.usPerProjectBefore / k.usPerProject).toFixed(1)}`] },
        { cells: ['Kabsch re-alignment (Horn, 4×4 Jacobi), µs/frame', k.usPerAlign.toFixed(2), '—', '—'] },
        { cells: ['trust-region test, ns/frame', k.nsPerTrust.toFixed(0), '—', '—'] },
      ]) + '\n'
    )
    console.log('Phases of a run on the shipped model (JavaScript share of wall time per phase): `npm run bench:phases`; against PyTorch: `npm run bench:nn`.\n')
  }

  // ---- ACF of 10⁶ samples ----
  {
    const n = 1_000_000
    const z = new Float32Array(n)
    fillNormals(z, 5, 0, 0)
    const x = new Float64Array(n)
    let v = 0
    for (let t = 0; t < n; t++) x[t] = v = 0.95 * v + z[t]!
    acf(x, 1000)
    const reps = 5
    const t0 = performance.now()
    let c1 = 0
    for (let k = 0; k < reps; k++) c1 = acf(x, 1000)[1]!
    const ms = (performance.now() - t0) / reps
    console.log('## ACF\n')
    console.log(table(['samples', 'maxLag', 'ms per ACF', 'C(1) (AR(1) 0.95)'], [{ cells: ['1,000,000', '1000', fmt(ms), c1.toFixed(4)] }]) + '\n')
  }

  // ---- OU exactness at scale ----
  {
    const rows: Row[] = []
    const v = 1
    const eta = 0.5
    const sigmaMin = 0.1
    const R = 10_000
    const F = 51
    const model = new HarmonicModel({ kappa: 1, beta: 1, dim: 1 })
    // exact AR(1) slope A and stationary variance of each mode (clean uses s(y, σ_min) = −y/(v + σ_min²))
    const exact: Record<string, { A: number; vst: number; mode: 'clean' | 'tied' | 'bridge'; M: number }> = {}
    {
      const A = 1 - eta / (v + sigmaMin ** 2)
      exact.clean = { A, vst: (2 * eta) / (1 - A * A), mode: 'clean', M: 1 }
      const At = 1 - eta / (v + 2 * eta)
      exact.tied = { A: At, vst: (4 * (v + 2 * eta) ** 2) / (4 * v + 3 * 2 * eta), mode: 'tied', M: 1 }
    }
    for (const M of [20, 200]) {
      const tau = bridgeGrid(Math.sqrt(eta + sigmaMin * sigmaMin), sigmaMin, M) // σ_K² = η + σ_min²
      let A = 1
      let Q = eta
      for (let i = 0; i < M; i++) {
        const h = tau[i]! ** 2 - tau[i + 1]! ** 2
        const a = 1 - h / (v + Math.fround(tau[i]!) ** 2)
        A *= a
        Q = a * a * Q + h
      }
      exact[`bridge M=${M}`] = { A, vst: Q / (1 - A * A), mode: 'bridge', M }
    }
    for (const [key, { A, vst, mode, M }] of Object.entries(exact)) {
      const init = new Float32Array(R)
      fillNormals(init, 77, 0, 0)
      for (let i = 0; i < R; i++) init[i] = init[i]! * Math.sqrt(vst)
      const t0 = performance.now()
      const res = await runTrajectory(model, { mode, eta, innerSteps: 1, denoiseSteps: M, sigmaMin, replicas: R, frames: F, seed: 9 }, init)
      const secs = (performance.now() - t0) / 1000
      let s2 = 0
      for (const x of res.trajectory.data) s2 += x * x
      const n = res.trajectory.data.length
      const est = s2 / n
      // relative standard error of mean(x²): Var(x²) = 2·vst², 2τ_int(x²) = (1 + A²)/(1 − A²)
      const se = Math.sqrt((2 * (1 + A * A)) / (1 - A * A) / n)
      rows.push({ cells: [key, vst.toFixed(5), est.toFixed(5), ((est / vst - 1) * 100).toFixed(2) + '%', (se * 100).toFixed(2) + '%', fmt(n), fmt(secs)] })
    }
    console.log(`## OU exactness at scale (v = 1, η = 0.5, σ_min = 0.1; continuum bridge answer v + σ_min² = ${(v + sigmaMin ** 2).toFixed(5)})\n`)
    console.log(table(['mode', 'exact variance', 'measured', 'rel. error', 'rel. std. error', 'samples', 'wall s'], rows) + '\n')
  }
}

main().catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})
