/**
 * Fidelity of learned dynamics on real data, like with like (docs/science.md "Comparing like with
 * like"): alanine dipeptide, D = 0.0498868 Å²/ps, T = 300 K, R replicas × NS ns at every Δt, frames
 * every 5 ps (2 ps at Δt = 2); kinetic figures at 10-ps spacing on the run's own replicas and on the GROMACS BD φ/ψ
 * series cut into segments of the same length and spacing (resources/examples/ala2).
 * Prints one row per (model, sampler, Δt): Ramachandran JSD, α_R, C5→C7eq and C7eq→C5 rates, τ_int
 * φ/ψ, unit-vector ACF φ/ψ at 50/200/500 ps, acceptance (bridge-mh), ns per wall-second, and marks
 * each figure against the targets: JSD ≤ 0.012, α_R within 2×, rates and τ_int within 20 %, ACFs
 * within 0.05; and counts the misses that remain beyond 2 combined standard errors (missBeyondNoise).
 *
 *   npm run bench:fidelity -- [--model FILE.onnx ...] [--dts 0.5,1,2,5] [--modes bridge,bridge-mh]
 *        [--replicas 16] [--ns 10] [--denoise-steps 10] [--seed 7] [--threads T] [--json FILE]
 *        [--sigma-min-frac 0.05] [--scheme em|tweedie] [--mh-kernel em|covariance]
 *        [--time-calibration both|on|off]
 * --time-calibration: bridge rows with the model's self-check calibration (docs/self-check.md
 * "Calibrated time"; the app's and the CLI's default when the card has one), without it (η = D·Δt),
 * or both side by side (default). A model without a fit in its card gets the uncalibrated rows only.
 * --mh-kernel: bridge-mh's down kernel (default em); covariance takes V from the training snapshots
 * (aligned as the model sees them), as `diffmd simulate --mh-kernel covariance` does.
 * Without --model: resources/models/ala2-default.onnx. Several --model flags compare models.
 * --threads T: the replicas run in T worker threads, blocks of them as `diffmd simulate --threads T`
 * runs them (the same frames as one thread, bit for bit; needs `npm run build:cli`), so ns/s is
 * what the CLI makes on T cores. Default 1: one thread, in this process.
 */
import { findRoot } from './root'
import { promises as fs, readFileSync } from 'node:fs'
import { gunzipSync } from 'node:zlib'
import path from 'node:path'
import { openModelFile, trustRegionOf } from '../src/services/models/open'
import { loadTrainingFrames } from '../src/services/models/training-data'
import { runTrajectory, type RunResult } from '../src/core/sampler/runner'
import { findSimulateWorker, runThreaded } from '../src/cli/simulate-threads'
import { DEFAULT_DENOISE_STEPS, MH_KERNELS, type MhKernel, type SamplerMode } from '../src/core/sampler/params'
import { covariancePreconditioner } from '../src/core/sampler/metropolis'
import { fillUniforms } from '../src/core/nn/random'
import { seriesOf } from '../src/core/analysis/observables'
import { ramachandran } from '../src/core/analysis/histogram'
import { jsd } from '../src/core/analysis/jsd'
import { basinPopulations, type DihedralTrajectory } from '../src/core/analysis/basins'
import { kineticFigures, missBeyondNoise, referenceKinetics, subsample, type KineticFigures, type PhiPsiSeriesFile, type ValueWithError } from '../src/core/analysis/kinetics'
import { residuesWithPhiPsi } from '../src/core/selfcheck/self-check'
import { UserError } from '../src/core/errors'
import { timeCalibrationOf } from '../src/api/selfcheck'
import { calibratedStep } from '../src/core/selfcheck/time-calibration'

const root = findRoot()
const argv = process.argv.slice(2)
const arg = (name: string, fallback?: string): string | undefined => {
  const i = argv.indexOf(`--${name}`)
  return i >= 0 ? argv[i + 1] : fallback
}
const args = (name: string): string[] => argv.flatMap((a, i) => (a === `--${name}` && argv[i + 1] ? [argv[i + 1]!] : []))

const D = 0.0498868
const LAGS = [50, 200, 500]
const dataDir = path.join(root, 'resources/examples/ala2')
const snapshots = path.join(dataDir, 'ala2_snapshots_all.pdb.gz')
const refObs = JSON.parse(readFileSync(path.join(dataDir, 'gromacs_bd_reference.json'), 'utf8')) as { ramachandran: { probability: number[][] }; basin_populations_4: Record<string, number> }
const refSeries = JSON.parse(gunzipSync(readFileSync(path.join(dataDir, 'gromacs_bd_phipsi.json.gz'))).toString('utf8')) as PhiPsiSeriesFile
const refRama = Float64Array.from(refObs.ramachandran.probability.flat())

const models = args('model').length > 0 ? args('model') : [path.join(root, 'resources/models/ala2-default.onnx')]
const dts = (arg('dts', '0.5,1,2,5') ?? '').split(',').map(Number)
const modes = (arg('modes', 'bridge,bridge-mh') ?? '').split(',') as SamplerMode[]
const R = Number(arg('replicas', '16'))
const ns = Number(arg('ns', '10'))
const M = Number(arg('denoise-steps', String(DEFAULT_DENOISE_STEPS)))
const seed = Number(arg('seed', '7'))
const threads = Number(arg('threads', '1'))
if (!(Number.isInteger(threads) && threads >= 1)) throw new Error(`--threads must be a whole number ≥ 1 (got ${arg('threads')})`)
/** σ_min as a fraction of the model's σ_data (the app's default is 0.05) */
const sigmaMinFrac = Number(arg('sigma-min-frac', '0.05'))
/** reverse scheme of mode bridge (default: the app's, tweedie) */
const scheme = arg('scheme') as 'em' | 'tweedie' | undefined
const mhKernel = (arg('mh-kernel', 'em') ?? 'em') as MhKernel
const calibrations = { both: [false, true], on: [true], off: [false] }[arg('time-calibration', 'both') ?? 'both']
if (!calibrations) throw new Error(`--time-calibration must be both, on or off (got ${arg('time-calibration')})`)
if (!MH_KERNELS.includes(mhKernel)) throw new Error(`--mh-kernel must be one of ${MH_KERNELS.join(', ')}`)
// kinetics are counted every COUNT_PS = 10 ps on every row; frames are saved every framePs(Δt): the
// largest multiple of Δt that divides 10 ps and is at most 5 ps (5, 5, 2, 5 ps for Δt = 0.5, 1, 2, 5),
// so the equilibrium figures use at least as many frames as 5-ps spacing gives
const COUNT_PS = 10
function framePsOf(dt: number): number {
  let best = NaN
  for (let k = 1; k * dt <= 5 + 1e-9; k++) {
    const f = k * dt
    const r = COUNT_PS / f
    if (Math.abs(r - Math.round(r)) < 1e-9) best = f
  }
  if (!Number.isFinite(best)) throw new Error(`Δt ${dt} ps: no multiple of it up to 5 ps divides the ${COUNT_PS}-ps counting spacing`)
  return best
}
const countFrames = Math.round((ns * 1000) / COUNT_PS)

// the reference like with like: segments of the run's length (ns) at the counting spacing, after the first ns
const ref = referenceKinetics(refSeries, { segmentFrames: countFrames, spacingPs: COUNT_PS, discardPs: 1000, lagsPs: LAGS })
const refAlphaR = refObs.basin_populations_4.alpha_R!

interface Row {
  model: string
  mode: string
  dtPs: number
  jsd: number
  alphaR: number
  c5Share: number
  kin: KineticFigures
  acceptance?: number
  rejections: number
  nsPerSecond: number
  wallSeconds: number
  framePs: number
  stopped?: string
}

const within = (x: number, r: number, tol: number): boolean => Math.abs(x / r - 1) <= tol
function checks(row: Row): Record<string, boolean> {
  const k = row.kin
  const ok: Record<string, boolean> = {
    jsd: row.jsd <= 0.012,
    alphaR: row.alphaR <= 2 * refAlphaR && row.alphaR >= refAlphaR / 2,
    kF: within(k.rateForward.value, ref.rateForward.value, 0.2),
    kB: within(k.rateBackward.value, ref.rateBackward.value, 0.2),
    tauPhi: within(k.tauPhi.value, ref.tauPhi.value, 0.2),
    tauPsi: within(k.tauPsi.value, ref.tauPsi.value, 0.2),
  }
  for (const lag of LAGS) {
    ok[`acfPhi${lag}`] = Math.abs(k.acfPhi[String(lag)]!.value - ref.acfPhi[String(lag)]!.value) <= 0.05
    ok[`acfPsi${lag}`] = Math.abs(k.acfPsi[String(lag)]!.value - ref.acfPsi[String(lag)]!.value) <= 0.05
  }
  return ok
}

/**
 * the kinetic misses that stay misses when each figure moves 2 combined standard errors (its own
 * and the reference's) towards the reference (missBeyondNoise); JSD and α_R have no error bar here
 * and count as they are
 */
function missesBeyondNoise(row: Row): number {
  const k = row.kin
  const ok = checks(row)
  let n = (ok.jsd ? 0 : 1) + (ok.alphaR ? 0 : 1)
  const rel = (x: ValueWithError, r: ValueWithError) => missBeyondNoise(x, r, 0.2 * Math.abs(r.value))
  if (rel(k.rateForward, ref.rateForward)) n++
  if (rel(k.rateBackward, ref.rateBackward)) n++
  if (rel(k.tauPhi, ref.tauPhi)) n++
  if (rel(k.tauPsi, ref.tauPsi)) n++
  for (const lag of LAGS) {
    if (missBeyondNoise(k.acfPhi[String(lag)]!, ref.acfPhi[String(lag)]!, 0.05)) n++
    if (missBeyondNoise(k.acfPsi[String(lag)]!, ref.acfPsi[String(lag)]!, 0.05)) n++
  }
  return n
}

async function runOne(modelFile: string, mode: SamplerMode, dt: number, calibrate: boolean): Promise<Row | string> {
  const opened = await openModelFile(modelFile, { threads: 1 })
  const { model, card } = opened
  try {
    if (!card?.atoms?.records || !card.reference || !card.sigmaData) return `${path.basename(modelFile)}: the card has no atoms/reference/σ_data`
    const top = { atoms: card.atoms.records }
    const res = residuesWithPhiPsi(top)[0]!
    const d = model.dim
    const pool = await loadTrainingFrames(snapshots, { indices: card.atoms.indices, reference: model.rigidBody ? model.reference : undefined, align: model.rigidBody })
    const pick = new Float64Array(R)
    fillUniforms(pick, seed, 0xfffffff0, 0)
    const init = new Float32Array(R * d)
    for (let r = 0; r < R; r++) {
      const f = Math.floor(pick[r]! * pool.nFrames)
      init.set(pool.frames.subarray(f * d, (f + 1) * d), r * d)
    }
    // calibrated time: the step width that relaxes like Δt by the model's own self-check (no reference used)
    const cal = calibrate ? timeCalibrationOf(card, mode) : undefined
    if (calibrate && !cal) return `${path.basename(modelFile)}: the card's self-check has no time-scale fit for ${mode}`
    const step = cal ? calibratedStep(D * dt, cal) : undefined
    if (cal && !step) return `Δt ${dt} ps is beyond the card's calibrated range`
    const eta = step ? step.eta : D * dt
    const FRAME_PS = framePsOf(dt)
    const inner = Math.round(FRAME_PS / dt)
    const framesPerReplica = Math.round((ns * 1000) / FRAME_PS) // frame 0 (the starting snapshot) is dropped
    const t0 = Date.now()
    const cov = mode === 'bridge-mh' && mhKernel === 'covariance'
    const params = { mode, eta, innerSteps: inner, denoiseSteps: M, sigmaMin: sigmaMinFrac * card.sigmaData, ...(scheme && mode === 'bridge' ? { scheme } : {}), ...(cov ? { mhKernel } : {}), replicas: R, frames: framesPerReplica + 1, seed, trustRegion: trustRegionOf(card) }
    const pre = cov ? { mhPreconditioner: covariancePreconditioner(pool.frames, pool.nFrames, d) } : {}
    let run: RunResult
    if (threads > 1) {
      // worker threads with their own sessions, as `diffmd simulate --threads` (src/cli/simulate-threads.ts)
      const worker = findSimulateWorker()
      if (!worker) throw new Error('--threads: the worker bundle out/cli/simulate-worker.mjs is missing; run `npm run build:cli`')
      run = (await runThreaded(worker, { kind: 'model', file: path.resolve(modelFile), intraOp: 1 }, params, init, 0, threads, { signal: new AbortController().signal, onProgress: () => undefined, ...pre })).res
    } else run = await runTrajectory(model, params, init, pre)
    const wall = (Date.now() - t0) / 1000
    const traj = run.trajectory
    const F = traj.frames
    const reps: DihedralTrajectory[] = []
    const allPhi: number[] = []
    const allPsi: number[] = []
    for (let r = 0; r < R; r++) {
      const fr = traj.data.subarray(r * F * d, (r + 1) * F * d)
      const phi = seriesOf(fr, d / 3, F, { kind: 'dihedral', atoms: res.phi }).subarray(1)
      const psi = seriesOf(fr, d / 3, F, { kind: 'dihedral', atoms: res.psi }).subarray(1)
      for (let i = 0; i < phi.length; i++) {
        allPhi.push(phi[i]!)
        allPsi.push(psi[i]!)
      }
      const stride = Math.round(COUNT_PS / FRAME_PS)
      // frames 1 … N (frame 0, the shared start, dropped); counted frames are stride, 2·stride, … so the last frame counts
      reps.push({ phi: subsample(phi.subarray(stride - 1), stride), psi: subsample(psi.subarray(stride - 1), stride) })
    }
    const pops = basinPopulations(allPhi, allPsi)
    const acc = run.acceptance
    return {
      model: path.basename(modelFile),
      mode: mode === 'bridge-mh' ? `bridge-mh ${mhKernel}` : step ? `${mode}, calibrated (η of ${Number((eta / D).toPrecision(3))} ps)` : mode,
      dtPs: dt,
      jsd: jsd(ramachandran(allPhi, allPsi), refRama),
      alphaR: pops.alpha_R ?? 0,
      c5Share: pops.C5_beta! / (pops.C5_beta! + pops.C7eq!),
      kin: kineticFigures(reps, COUNT_PS, LAGS),
      acceptance: acc ? acc.reduce((a, b) => a + b, 0) / acc.length : undefined,
      rejections: run.rejections.reduce((a, b) => a + b, 0),
      nsPerSecond: ((F - 1) * FRAME_PS * R) / 1000 / wall,
      framePs: FRAME_PS,
      wallSeconds: wall,
      stopped: run.stopped?.message,
    }
  } finally {
    await model.dispose()
  }
}

const f2 = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : '—')
const f3 = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : '—')
const f4 = (v: number) => (Number.isFinite(v) ? v.toFixed(4) : '—')
const m = (ok: boolean) => (ok ? ' ' : '✗')
const header = `| model | sampler | Δt ps | JSD | α_R | k C5→C7eq | k C7eq→C5 | τ φ ps | τ ψ ps | ACF φ 50/200/500 | ACF ψ 50/200/500 | acc. | ns/s | misses / beyond 2σ |`
const sep = '|' + header.split('|').slice(1, -1).map(() => '---').join('|') + '|'
function line(r: Row): string {
  const k = r.kin
  const ok = checks(r)
  const misses = Object.entries(ok).filter(([, v]) => !v).length
  const acf = (a: KineticFigures['acfPhi'], pre: 'acfPhi' | 'acfPsi') => LAGS.map((l) => `${f2(a[String(l)]!.value)}${m(ok[`${pre}${l}`]!)}`).join('/')
  return `| ${r.model} | ${r.mode} | ${r.dtPs} | ${f4(r.jsd)}${m(ok.jsd!)} | ${f4(r.alphaR)}${m(ok.alphaR!)} | ${f2(k.rateForward.value)}±${f2(k.rateForward.stderr)}${m(ok.kF!)} | ${f2(k.rateBackward.value)}±${f2(k.rateBackward.stderr)}${m(ok.kB!)} | ${k.tauPhi.value.toFixed(0)}±${k.tauPhi.stderr.toFixed(0)}${m(ok.tauPhi!)} | ${k.tauPsi.value.toFixed(0)}±${k.tauPsi.stderr.toFixed(0)}${m(ok.tauPsi!)} | ${acf(k.acfPhi, 'acfPhi')} | ${acf(k.acfPsi, 'acfPsi')} | ${r.acceptance !== undefined ? f3(r.acceptance) : '—'} | ${r.nsPerSecond.toFixed(1)} | ${misses} / ${missesBeyondNoise(r)}${r.stopped ? ' (stopped)' : ''}${r.rejections ? ` (${r.rejections} TR rej.)` : ''} |`
}
const refLine = `| GROMACS BD, ${ref.segments} segments of ${ns} ns | — | — | — | ${f4(refAlphaR)} | ${f2(ref.rateForward.value)}±${f2(ref.rateForward.stderr)} | ${f2(ref.rateBackward.value)}±${f2(ref.rateBackward.stderr)} | ${ref.tauPhi.value.toFixed(0)}±${ref.tauPhi.stderr.toFixed(0)} | ${ref.tauPsi.value.toFixed(0)}±${ref.tauPsi.stderr.toFixed(0)} | ${LAGS.map((l) => f2(ref.acfPhi[String(l)]!.value)).join('/')} | ${LAGS.map((l) => f2(ref.acfPsi[String(l)]!.value)).join('/')} | — | — | — |`

console.log(`fidelity: ${R} replicas × ${ns} ns per row, frames every 5 ps (2 ps at Δt 2), kinetics counted every ${COUNT_PS} ps (reference: the same on ${ns}-ns segments), M = ${M}, σ_min = 0.05·σ_data, seed ${seed}`)
console.log(`targets: JSD ≤ 0.012, α_R within 2× of ${refAlphaR}, rates and τ_int within 20 %, ACFs within 0.05 (✗ marks a miss); errors: rates Poisson, τ jackknife over replicas, ACFs over replicas; "beyond 2σ": the misses that remain when each kinetic figure moves 2 combined standard errors (its own and the reference's) towards the reference\n`)
console.log(header)
console.log(sep)
console.log(refLine)
const rows: Row[] = []
for (const file of models) {
  for (const mode of modes) {
    for (const calibrate of mode === 'bridge' ? calibrations : [false]) {
    for (const dt of dts) {
      const r = await runOne(file, mode, dt, calibrate).catch((err: unknown) => (err instanceof UserError ? `refused: ${err.message}` : Promise.reject(err)))
      if (typeof r === 'string') {
        console.log(`| ${path.basename(file)} | ${mode}${calibrate ? ', calibrated' : ''} | ${dt} | ${r} |`)
        if (r.startsWith('refused')) break
        continue
      }
      rows.push(r)
      console.log(line(r))
    }
    }
  }
}
const jsonOut = arg('json')
if (jsonOut) await fs.writeFile(jsonOut, JSON.stringify({ reference: ref, rows: rows.map((r) => ({ ...r, pass: checks(r), missesBeyondNoise: missesBeyondNoise(r) })) }, null, 1))
