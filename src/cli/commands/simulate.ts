/**
 * `diffmd simulate`: R replicas × F frames of adapter-coupled (bridge) or Langevin (tied/clean)
 * dynamics of an analytic system or a learned model (docs/science.md "The adapter step" to "Time-parallel generation"), written to .json / .pdb /
 * .dcd / .xyz. Frame 0 is the initial state; frame f is after f·innerSteps adapter steps.
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import type { Command } from '../main'
import type { ScoreModel } from '../../core/score/types'
import type { Topology } from '../../core/topology'
import type { MhKernel, ReverseScheme, SamplerMode, SamplerParams } from '../../core/sampler/params'
import type { TrustRegion } from '../../core/sampler/trust-region'
import type { Trajectory } from '../../core/trajectory'
import type { ParsedArgs } from '../args'
import { parseArgs, positiveFlag, choiceFlag } from '../args'
import { UserError } from '../../core/errors'
import { VERSION } from '../../core/version'
import { betaOf } from '../../core/units/constants'
import { etaOf, kOfEta } from '../../core/units/conversions'
import { runTrajectory, samplerMeta, type RunResult } from '../../core/sampler/runner'
import { SAMPLER_MODES, REVERSE_SCHEMES, DEFAULT_DENOISE_STEPS, MH_KERNELS, isBridgeMode, schemeOf } from '../../core/sampler/params'
import type { MhPreconditioner } from '../../core/sampler/metropolis'
import { NormalStream, NOISE_KINDS, type NoiseKind } from '../../core/rng/normals'
import { trajectoryFromJson, trajectoryToJson } from '../../core/trajectory'
import { HarmonicModel } from '../../core/score/analytic/harmonic'
import { DoubleWellModel } from '../../core/score/analytic/double-well'
import { MUELLER_BROWN_MINIMA, MuellerBrownModel } from '../../core/score/analytic/mueller-brown'
import { GaussianMixtureModel, normalCdf, threeWellMixture } from '../../core/score/analytic/gmm'
import { writeFileAtomic } from '../../services/fs/atomic'
import { writeTrajectory } from '../../services/exports/write-trajectory'
import { mhPreconditionerFromF32, openModelForCli } from '../model-source'
import { checkpointFolderBlocks, checkpointFolderNoise, openCheckpointDir } from '../checkpoint-dir'
import { availableParallelism } from 'node:os'
import { openModelFile, trustRegionOf } from '../../services/models/open'
import { cardSummary } from '../model-source'
import { dtAdviceOf, recommendedDtOf, selfCheckOf, timeCalibrationOf } from '../../api/selfcheck'
import { maxCalibratedDtPs } from '../../api/run-params'
import { calibratedStep, calibratedTimeBandPct, type TimeCalibration } from '../../core/selfcheck/time-calibration'
import { findSimulateWorker, replicaQuantum, runThreaded, splitReplicas, type WorkerShardInput } from '../simulate-threads'
import { describeEstimate, estimateSampling } from '../../core/limits'

const SYSTEMS = ['harmonic', 'double-well', 'mueller-brown', 'gmm'] as const
type System = (typeof SYSTEMS)[number]
const OUT_EXTENSIONS = ['.json', '.pdb', '.dcd', '.xyz']
/** normals for the default initial states come from this stream (replicas use streams 0 … R−1) */
const INIT_STREAM = 0xffffffff

const usage = `diffmd simulate — generate a trajectory (frame 0 = the initial state)

  diffmd simulate --system harmonic|double-well|mueller-brown|gmm [--kappa K] [--beta B] [--dim N]
                  (--eta ETA | --dt PS --diffusion D [--temperature T]) [--mode bridge|bridge-mh|tied|clean]
                  [--scheme tweedie|em] [--inner-steps N] [--denoise-steps M] [--sigma-min S] --replicas R --frames F --seed S
                  [--parallel picard [--window W] [--tol TOL]] [--init FILE] --out FILE [--json]
  diffmd simulate --model FILE [--topology ref.pdb] [--init FILE] [--no-align] [--eta … | --dt …] … --out FILE

  --system          analytic system: harmonic U = ½κ|x|²; double-well U = Σ(x²−1)²; mueller-brown
                    U = U_MB/20 (2-D); gmm: three-well Gaussian mixture (weights .5/.3/.2, variance 0.1 Å²)
  --kappa K         harmonic spring constant (default 1)
  --beta B          inverse temperature (default 1, or 1/(k_B T) with --temperature; not for gmm)
  --dim N           coordinates (harmonic, double-well, gmm; default 1, gmm 2)
  --eta ETA         η = DΔt of one adapter step (Å²); bridge: σ_K² = η + σ_min², stiffness k = 1/(2η)
  --dt PS           time step of one adapter step (ps), with --diffusion D (Å²/ps): η = D·Δt.
                    A model whose card holds a self-check (diffmd check) defaults to its recommended
                    Δt at the check's D (--diffusion D overrides D), and a --dt the check does not
                    vouch for gets a note on stderr
  --time-calibration auto|on|off   calibrated time (default auto: on when the model's self-check
                    resolved the slope of its kinetic time scale and Δt lies in its range): each adapter step takes
                    the width η that relaxes like Δt of Brownian dynamics instead of η = D·Δt
                    (docs/self-check.md "Calibrated time"); off: η = D·Δt
  --temperature T   K; sets β = 1/(k_B T) (kJ/mol units) for analytic systems, recorded in the metadata
  --mode            bridge (adapter step; default for smoothed models), bridge-mh (the adapter step
                    with a Metropolis test: exact for exp(−E(·, σ_min)) at any Δt; energy models only,
                    no re-alignment; prints the acceptance per replica; with --mh-kernel em its
                    acceptance grows with M: ~0 at 10 on the shipped ala2 model, 21–36 % at 0.5 ps
                    with 80–160; --mh-kernel covariance reaches that at M = 10–20 —
                    docs/sampler-integrators.md), tied, clean (default for
                    double-well and mueller-brown, whose score is known at σ = 0 only)
  --scheme          bridge's reverse step: tweedie (default; 2 network evaluations per level in one
                    batched call, stiff modes accurate) or em (plain Euler–Maruyama, the pre-0.x
                    behaviour); bridge-mh always uses em (docs/sampler-integrators.md)
  --inner-steps N   adapter steps per saved frame (default 1)
  --denoise-steps M reverse-diffusion steps per adapter step (bridge modes; default 10 — docs/sampler-integrators.md)
  --sigma-min S     σ_min (Å) (default 0.05·σ_data for harmonic and gmm, from the card for models, 0 otherwise)
  --replicas R --frames F --seed S   replicas, frames per replica (incl. frame 0), random seed
  --mh-kernel K     bridge-mh's down kernel: em (default) or covariance — per-mode variances from the
                    covariance of the model's training data (needs --model and those frames); on the
                    shipped ala2 model it accepts 25 % of steps at M = 10, 0.5 ps, where em accepts
                    none (docs/sampler-integrators.md "Preconditioned down kernel")
  --mh-frames-f32 FILE  with --mh-kernel covariance: take the covariance from these frames instead
                    of the training data (raw little-endian float32 [n, d], n ≥ 2; the app's
                    cluster jobs write the run's dataset frames so); aligned like the model's frames
  --noise KIND      how the seeded Philox words become normals: ziggurat (default) or box-muller (runs
                    made before ziggurat normals; give it to remake such a run bit for bit). A
                    --checkpoint folder keeps the kind it was started with (docs/random-numbers.md)
  --parallel picard time-parallel windows: --window W adapter steps (default 16), --tol TOL Å (default 1e-5)
  --init FILE       start from a JSON trajectory (last frame of each replica) or a JSON array of
                    d or R·d numbers; default: equilibrium draws (harmonic, gmm), ±1 (double-well),
                    the deepest minimum (mueller-brown), random frames of the model's pool (--model)
  --model FILE      a learned model (ONNX + card); --topology ref.pdb, --no-align as for training
  --out FILE        .json (JSON trajectory), .pdb, .dcd (+ topology NAME.top.pdb) or .xyz
  --json            print the run's metadata as JSON on stdout
  --checkpoint DIR  keep every frame on disk in DIR as it is made (fsync'd batches) with a sampler
                    checkpoint every --checkpoint-every N frames (default 100); after a crash or kill,
                    the same command continues from the last stored frame, bit-identical to an
                    uninterrupted run; DIR's files are removed once --out is written
  --threads N       worker threads, each running a block of the replicas with its own onnxruntime
                    session (default: all cores; 1 with --checkpoint or --parallel). The frames are the
                    same bit for bit whatever N (docs/cluster.md); with --checkpoint, resume with
                    the same N (each block keeps its own folder DIR/replicas-A-B)
  --intra-op-threads N  onnxruntime threads inside each session (default 1)
  --replica-range A:N   run replicas A … A+N−1 of the R only (a shard of a sweep; docs/cluster.md)
  --init-f32 FILE   the R initial states as raw little-endian float32 [R, d] (written by diffmd sweep)
Ctrl-C stops cleanly and writes the frames made so far.`

const spec = {
  system: 'string',
  kappa: 'number',
  beta: 'number',
  dim: 'int',
  eta: 'number',
  dt: 'number',
  diffusion: 'number',
  'time-calibration': 'string',
  temperature: 'number',
  mode: 'string',
  scheme: 'string',
  'inner-steps': 'int',
  'denoise-steps': 'int',
  'sigma-min': 'number',
  replicas: 'int',
  frames: 'int',
  seed: 'int',
  noise: 'string',
  'mh-kernel': 'string',
  parallel: 'string',
  window: 'int',
  tol: 'number',
  init: 'string',
  out: 'string',
  json: 'boolean',
  model: 'string',
  topology: 'string',
  align: 'boolean',
  checkpoint: 'string',
  'checkpoint-every': 'int',
  threads: 'int',
  'intra-op-threads': 'int',
  'replica-range': 'string',
  'init-f32': 'string',
  'mh-frames-f32': 'string',
} as const

type Flags = ParsedArgs['flags']

function fail(message: string): never {
  throw new UserError(`simulate: ${message}`, 'bad-flag')
}

function cardNumber(card: Record<string, unknown>, keys: string[]): number | undefined {
  for (const k of keys) {
    const v = card[k]
    if (typeof v === 'number' && Number.isFinite(v)) return v
  }
  return undefined
}

/** the analytic model of --system with these flags (rebuilt in each worker thread) */
export function analyticModel(system: string, flags: Flags, beta: number): ScoreModel {
  return analyticSystem(choiceFlag('simulate', { system }, 'system', SYSTEMS), flags, beta).model
}

/** --init-f32: exactly R·d little-endian float32 values */
async function readInitF32(file: string, R: number, d: number): Promise<Float32Array> {
  let b: Buffer
  try {
    b = await fs.readFile(file)
  } catch (err) {
    fail(`--init-f32 ${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`)
  }
  if (b.length !== R * d * 4) fail(`--init-f32 ${file}: holds ${b.length} bytes, expected R·d·4 = ${R}·${d}·4 = ${R * d * 4}`)
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength)
  const x = new Float32Array(R * d)
  for (let i = 0; i < x.length; i++) x[i] = dv.getFloat32(4 * i, true)
  return x
}

/** the analytic model for --system, with its natural σ_data (Å) and default initial states */
function analyticSystem(system: System, flags: Flags, beta: number): { model: ScoreModel; sigmaData: number; params: Record<string, unknown>; initial: (R: number, seed: number) => Float32Array } {
  const only = (flag: string, systems: System[]): void => {
    if (flags[flag] !== undefined && !systems.includes(system)) fail(`--${flag} applies to --system ${systems.join(' or ')} only`)
  }
  only('kappa', ['harmonic'])
  only('dim', ['harmonic', 'double-well', 'gmm'])
  if (system === 'gmm' && (flags.beta !== undefined || flags.temperature !== undefined)) fail('--beta/--temperature do not apply to --system gmm (its density is given directly)')
  const dim = flags.dim === undefined ? (system === 'gmm' ? 2 : 1) : positiveFlag('simulate', flags, 'dim')
  switch (system) {
    case 'harmonic': {
      const kappa = positiveFlag('simulate', flags, 'kappa', 1)
      const m = new HarmonicModel({ kappa, beta, dim })
      return {
        model: m,
        sigmaData: Math.sqrt(m.variance),
        params: { kappa, beta, dim, v: m.variance },
        initial: (R, seed) => {
          const x = new Float32Array(R * dim)
          new NormalStream(seed, INIT_STREAM).fill(x)
          for (let i = 0; i < x.length; i++) x[i] = x[i]! * Math.sqrt(m.variance)
          return x
        },
      }
    }
    case 'double-well': {
      const m = new DoubleWellModel({ beta, dim })
      return {
        model: m,
        sigmaData: 1,
        params: { beta, dim, potential: 'U = Σ(x_i² − 1)²' },
        initial: (R, seed) => {
          const x = new Float32Array(R * dim)
          new NormalStream(seed, INIT_STREAM).fill(x)
          for (let i = 0; i < x.length; i++) x[i] = x[i]! < 0 ? -1 : 1
          return x
        },
      }
    }
    case 'mueller-brown': {
      const m = new MuellerBrownModel({ beta })
      return {
        model: m,
        sigmaData: 0.5,
        params: { beta, dim: 2, scale: m.scale, potential: `U = U_MB·${m.scale}` },
        initial: (R) => {
          const x = new Float32Array(R * 2)
          const [mx, my] = MUELLER_BROWN_MINIMA[0]
          for (let r = 0; r < R; r++) {
            x[2 * r] = mx
            x[2 * r + 1] = my
          }
          return x
        },
      }
    }
    case 'gmm': {
      const m: GaussianMixtureModel = threeWellMixture(dim)
      return {
        model: m,
        sigmaData: m.dataStd(),
        params: { dim, mixture: 'three-well: weights 0.5/0.3/0.2, variance 0.1 Å²' },
        initial: (R, seed) => m.sample(R, new NormalStream(seed, INIT_STREAM)),
      }
    }
  }
}

/** --init for analytic systems: a JSON trajectory (last frame of each replica) or an array of d or R·d numbers */
async function readInit(file: string, R: number, d: number): Promise<Float32Array> {
  let text: string
  try {
    text = await fs.readFile(file, 'utf8')
  } catch (err) {
    fail(`--init ${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`)
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    fail(`--init ${file}: not JSON (expected a JSON trajectory or an array of numbers)`)
  }
  let pool: Float32Array
  if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
    const t = trajectoryFromJson(text, file)
    if (t.dim !== d) fail(`--init ${file}: frames have ${t.dim} coordinates, the system has ${d}`)
    pool = new Float32Array(t.replicas * d)
    for (let r = 0; r < t.replicas; r++) pool.set(t.data.subarray((r * t.frames + t.frames - 1) * d, (r * t.frames + t.frames) * d), r * d)
  } else if (Array.isArray(parsed)) {
    const flat = (parsed as unknown[]).flat(2)
    if (!flat.every((v) => typeof v === 'number' && Number.isFinite(v))) fail(`--init ${file}: the array must hold finite numbers only`)
    if (flat.length === 0 || flat.length % d !== 0) fail(`--init ${file}: ${flat.length} numbers are not a whole number of frames of ${d} coordinates`)
    pool = Float32Array.from(flat as number[])
  } else {
    fail(`--init ${file}: expected a JSON trajectory or an array of numbers`)
  }
  const n = pool.length / d
  if (n !== 1 && n < R) fail(`--init ${file}: holds ${n} frames for ${R} replicas (give 1 frame, or at least one per replica)`)
  const init = new Float32Array(R * d)
  for (let r = 0; r < R; r++) init.set(pool.subarray((n === 1 ? 0 : r) * d, ((n === 1 ? 0 : r) + 1) * d), r * d)
  return init
}

/** replica starts drawn at random (seeded) from a pool of n frames */
function drawFromPool(pool: Float32Array, d: number, R: number, seed: number): Float32Array {
  const n = pool.length / d
  if (!Number.isInteger(n) || n < 1) fail(`the model's pool of starting frames is empty or not a whole number of frames of ${d} coordinates`)
  const z = new Float32Array(R)
  new NormalStream(seed, INIT_STREAM).fill(z)
  const init = new Float32Array(R * d)
  for (let r = 0; r < R; r++) {
    const k = Math.min(n - 1, Math.floor(normalCdf(z[r]!) * n))
    init.set(pool.subarray(k * d, (k + 1) * d), r * d)
  }
  return init
}

/** a one-line progress bar on a TTY stderr; nothing otherwise */
function progressBar(): { update(done: number, total: number): void; end(): void } {
  const tty = process.stderr.isTTY === true
  let last = 0
  let shown = false
  const start = Date.now()
  return {
    update(done, total) {
      if (!tty) return
      const now = Date.now()
      if (now - last < 100 && done < total) return
      last = now
      const width = 30
      const filled = Math.round((width * done) / total)
      const secs = (now - start) / 1000
      const rate = secs > 0 ? ` ${(done / secs).toFixed(1)} frames/s` : ''
      process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${Math.floor((100 * done) / total)}% frame ${done}/${total}${rate}\x1b[K`)
      shown = true
    },
    end() {
      if (shown) process.stderr.write('\n')
    },
  }
}

async function writeOut(file: string, traj: Trajectory, topology: Topology | undefined): Promise<void> {
  if (file.toLowerCase().endsWith('.json')) {
    await writeFileAtomic(file, trajectoryToJson(traj) + '\n')
  } else {
    await writeTrajectory(file, traj, { topology, provenance: { command: 'diffmd simulate', version: VERSION } })
  }
}

/** --out, and --system or --model */
function parseTarget(flags: Flags): { out: string; modelFile?: string; system?: System } {
  const out = flags.out as string | undefined
  if (out === undefined) fail('--out is required (a .json, .pdb, .dcd or .xyz file)')
  const ext = path.extname(out).toLowerCase()
  if (!OUT_EXTENSIONS.includes(ext)) fail(`--out ${out}: unknown extension '${ext || '(none)'}' (use ${OUT_EXTENSIONS.join(', ')})`)
  const modelFile = flags.model as string | undefined
  if (modelFile === undefined && flags.system === undefined) fail(`give --system (${SYSTEMS.join(', ')}) or --model FILE`)
  if (modelFile !== undefined && flags.system !== undefined) fail('give either --system or --model, not both')
  if (modelFile === undefined && (flags.topology !== undefined || flags.align !== undefined)) fail('--topology and --no-align apply to --model only')
  const system = modelFile === undefined ? choiceFlag('simulate', flags, 'system', SYSTEMS) : undefined
  return { out, modelFile, system }
}

interface TimeStep {
  eta: number
  dt?: number
  D?: number
  T?: number
  beta: number
}

/** --eta, or --dt with --diffusion; --temperature / --beta */
function parseTimeStep(flags: Flags): TimeStep {
  let eta: number
  let dt: number | undefined
  let D: number | undefined
  if (flags.eta !== undefined) {
    if (flags.dt !== undefined || flags.diffusion !== undefined) fail('give either --eta or --dt with --diffusion, not both')
    eta = positiveFlag('simulate', flags, 'eta')
  } else if (flags.dt !== undefined || (flags.diffusion !== undefined && flags.model === undefined)) {
    dt = positiveFlag('simulate', flags, 'dt')
    D = positiveFlag('simulate', flags, 'diffusion')
    eta = etaOf(D, dt)
  } else if (flags.model !== undefined) {
    // a model whose card holds a self-check runs at its recommended Δt (timeStepFromCard)
    eta = NaN
  } else {
    fail('give the time step: --eta ETA (Å²) or --dt PS --diffusion D (Å²/ps)')
  }
  const T = flags.temperature === undefined ? undefined : positiveFlag('simulate', flags, 'temperature')
  if (flags.beta !== undefined) positiveFlag('simulate', flags, 'beta')
  if (T !== undefined && flags.beta !== undefined && Math.abs((flags.beta as number) * T * 0.0083144626 - 1) > 1e-9) {
    fail(`--beta ${String(flags.beta)} and --temperature ${T} disagree (β = 1/(k_B T) = ${betaOf(T)} mol/kJ); give one of them`)
  }
  const beta = flags.beta !== undefined ? (flags.beta as number) : T !== undefined ? betaOf(T) : 1
  return { eta, dt, D, T, beta }
}

/**
 * A model run without --eta/--dt takes Δt from its card's self-check (the recommended Δt, at the
 * check's D unless --diffusion gives another), and says so; a run with --dt hears, on stderr, when
 * the check does not vouch for that Δt (dtAdviceOf; docs/self-check.md "Using the verdict").
 * When the check fitted the kinetic time scale, the step is calibrated (--time-calibration auto|on|off,
 * docs/self-check.md "Calibrated time"): its width η is the one that relaxes like Δt of Brownian
 * dynamics, not D·Δt. Returns the time step and what the check says of it, for the run's metadata.
 */
function timeStepFromCard(flags: Flags, ts: TimeStep, sys: OpenedSystem, modelFile: string | undefined): { ts: TimeStep; advice?: Record<string, unknown> } {
  const calFlag = choiceFlag('simulate', flags, 'time-calibration', ['auto', 'on', 'off'] as const, 'auto')
  if (modelFile === undefined) {
    if (calFlag === 'on') fail('--time-calibration on needs --model: the calibration is a model\'s self-check')
    return { ts }
  }
  const name = path.basename(modelFile)
  const mode = typeof flags.mode === 'string' ? flags.mode : sys.model.smoothed ? 'bridge' : 'clean'
  let dtFrom: 'flag' | 'self-check' = 'flag'
  let step = ts
  if (Number.isNaN(ts.eta)) {
    const rec = recommendedDtOf(sys.card)
    const sc = selfCheckOf(sys.card)
    if (rec === undefined || !sc) {
      fail(`give the time step: --eta ETA (Å²) or --dt PS --diffusion D (Å²/ps); ${name}'s card holds no self-check recommendation to default to (diffmd check --model ${name} stores one)`)
    }
    const D = flags.diffusion !== undefined ? positiveFlag('simulate', flags, 'diffusion') : sc.diffusion
    process.stderr.write(`diffmd: Δt = ${rec} ps per adapter step, the self-check's recommendation in ${name}'s card (${sc.createdAt.slice(0, 10)}), at D = ${D} Å²/ps\n`)
    step = { ...ts, dt: rec, D, eta: etaOf(D, rec) }
    dtFrom = 'self-check'
  }
  const cal = calFlag === 'off' ? undefined : timeCalibrationOf(sys.card, mode)
  let calibrated: { cal: TimeCalibration; nominalDtPs: number; lnTimeSe: number } | undefined
  if (calFlag === 'on' && !cal) fail(`--time-calibration on: ${name}'s card holds no resolved self-check time-scale slope for mode ${mode} (run diffmd check --model ${name}, longer if its slope is not resolved, or use --time-calibration off)`)
  if (cal && step.dt !== undefined && step.D !== undefined) {
    const c = calibratedStep(etaOf(step.D, step.dt), cal)
    const top = Number(maxCalibratedDtPs(cal, step.D).toPrecision(3))
    if (!c && calFlag === 'on') fail(`--dt ${step.dt}: beyond the self-check's calibrated range (up to ${top} ps at D = ${step.D} Å²/ps); give a smaller --dt or --time-calibration off`)
    if (c) {
      calibrated = { cal, nominalDtPs: c.eta / step.D, lnTimeSe: c.lnTimeSe }
      process.stderr.write(
        `diffmd: calibrated time (self-check of ${cal.checkedOn}): each ${step.dt}-ps step is as wide as an uncalibrated ${Number(calibrated.nominalDtPs.toPrecision(3))}-ps one, time ± ${calibratedTimeBandPct(c.lnTimeSe)} % (2 σ); --time-calibration off for η = D·Δt\n`
      )
      step = { ...step, eta: c.eta }
    } else process.stderr.write(`diffmd: note: time not calibrated: ${step.dt} ps is beyond the self-check's calibrated range (up to ${top} ps)\n`)
  } else if (calFlag === 'on') fail('--time-calibration on needs the step as --dt PS (with --diffusion D), not --eta')
  const advice = step.dt !== undefined ? dtAdviceOf(sys.card, step.dt, step.D, calibrated?.cal) : undefined
  if (advice?.line) process.stderr.write(`diffmd: note: ${advice.line}\n`)
  const timeCalibration = calibrated ? { ...calibrated.cal, nominalDtPs: calibrated.nominalDtPs, lnTimeSe: calibrated.lnTimeSe } : null
  return { ts: step, advice: advice ? { recommendedDtPs: advice.recommendedDtPs ?? null, checkedOn: advice.checkedOn, outside: advice.outside, dtFrom, timeCalibration } : undefined }
}

interface Sizes {
  replicas: number
  frames: number
  seed: number
  innerSteps: number
  denoiseSteps: number
  parallel: SamplerParams['parallel']
}

/** replicas, frames, seed, inner/denoise steps, Picard windows */
function parseSizes(flags: Flags): Sizes {
  const replicas = positiveFlag('simulate', flags, 'replicas')
  const frames = positiveFlag('simulate', flags, 'frames')
  const seed = flags.seed
  if (seed === undefined) fail('--seed is required (a whole number ≥ 0)')
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed) || seed < 0) fail(`--seed must be a whole number from 0 to 2^53−1 (got ${String(seed)})`)
  const innerSteps = positiveFlag('simulate', flags, 'inner-steps', 1)
  const denoiseSteps = positiveFlag('simulate', flags, 'denoise-steps', DEFAULT_DENOISE_STEPS)
  let parallel: SamplerParams['parallel']
  if (flags.parallel !== undefined) {
    choiceFlag('simulate', flags, 'parallel', ['picard'] as const)
    const window = positiveFlag('simulate', flags, 'window', 16)
    const tol = flags.tol === undefined ? 1e-5 : (flags.tol as number)
    if (!(tol >= 0)) fail(`--tol must be ≥ 0 Å (got ${tol})`)
    parallel = { kind: 'picard', window, tol }
  } else if (flags.window !== undefined || flags.tol !== undefined) {
    fail('--window and --tol need --parallel picard')
  }
  if (flags['sigma-min'] !== undefined && !((flags['sigma-min'] as number) >= 0)) fail(`--sigma-min must be ≥ 0 Å (got ${String(flags['sigma-min'])})`)
  return { replicas, frames, seed, innerSteps, denoiseSteps, parallel }
}

interface OpenedSystem {
  model: ScoreModel
  init: Float32Array
  sigmaMinDefault: number
  topology?: Topology
  trustRegion?: TrustRegion
  /** temperature from the model card when not given */
  T?: number
  dispose?: () => Promise<void>
  meta: Record<string, unknown>
  /** --mh-kernel covariance: the training frames' covariance, eigen-decomposed */
  mhPreconditioner?: MhPreconditioner
  /** a learned model's card (its self-check gives the default Δt) */
  card?: unknown
}

/** the analytic system or the learned model, its initial states and defaults */
async function openSystem(flags: Flags, target: { modelFile?: string; system?: System }, ts: TimeStep, sizes: Sizes): Promise<OpenedSystem> {
  const { replicas, seed } = sizes
  if (target.system !== undefined) {
    const sys = analyticSystem(target.system, flags, ts.beta)
    const model = sys.model
    const init =
      flags['init-f32'] !== undefined
        ? await readInitF32(flags['init-f32'] as string, replicas, model.dim)
        : flags.init !== undefined
          ? await readInit(flags.init as string, replicas, model.dim)
          : sys.initial(replicas, seed)
    return {
      model,
      init,
      sigmaMinDefault: model.smoothed ? 0.05 * sys.sigmaData : 0,
      meta: {
        system: target.system,
        systemParams: sys.params,
        init: flags.init !== undefined ? `from ${path.basename(flags.init as string)}` : 'default (equilibrium draws for harmonic/gmm, ±1 for double-well, the deepest minimum for mueller-brown)',
      },
    }
  }
  const modelFile = target.modelFile!
  const intraOp = positiveFlag('simulate', flags, 'intra-op-threads', 1)
  if (flags['init-f32'] !== undefined) {
    if (flags.init !== undefined) fail('give --init or --init-f32, not both')
    const o = await openModelFile(modelFile, { threads: intraOp })
    const card = o.card
    const cardNum = (keys: string[]): number | undefined => (card ? cardNumber(card as unknown as Record<string, unknown>, keys) : undefined)
    const sm = cardNum(['sigmaMin', 'sigma_min'])
    const sd = cardNum(['sigmaData', 'sigma_data'])
    const recs = card?.atoms?.records
    return {
      model: o.model,
      init: await readInitF32(flags['init-f32'] as string, replicas, o.model.dim),
      sigmaMinDefault: sm ?? (sd !== undefined ? 0.05 * sd : NaN),
      topology: recs && recs.length * 3 === o.model.dim ? { atoms: recs } : undefined,
      trustRegion: card ? trustRegionOf(card) : undefined,
      T: cardNum(['temperature', 'T']),
      dispose: () => o.model.dispose(),
      card,
      meta: { system: 'model', modelFile: path.basename(modelFile), card: cardSummary(card), init: `from ${path.basename(flags['init-f32'] as string)}` },
      ...(flags['mh-frames-f32'] !== undefined && flags['mh-kernel'] === 'covariance' ? { mhPreconditioner: await mhPreconditionerFromF32(flags['mh-frames-f32'] as string, o.model, flags.align !== false) } : {}),
    }
  }
  const fromF32 = flags['mh-frames-f32'] !== undefined && flags['mh-kernel'] === 'covariance'
  const opened = await openModelForCli({ threads: intraOp, model: modelFile, topology: flags.topology as string | undefined, init: flags.init as string | undefined, align: flags.align !== false, mhCovariance: flags['mh-kernel'] === 'covariance' && !fromF32 })
  const mhPreconditioner = fromF32 ? await mhPreconditionerFromF32(flags['mh-frames-f32'] as string, opened.model, flags.align !== false).catch(async (err: unknown) => {
    await opened.dispose()
    throw err
  }) : opened.mhPreconditioner
  const card = opened.card
  const sm = cardNumber(card, ['sigmaMin', 'sigma_min'])
  const sd = cardNumber(card, ['sigmaData', 'sigma_data'])
  return {
    model: opened.model,
    init: drawFromPool(opened.initPool, opened.model.dim, replicas, seed),
    sigmaMinDefault: sm ?? (sd !== undefined ? 0.05 * sd : NaN),
    topology: opened.topology,
    trustRegion: opened.trustRegion,
    T: cardNumber(card, ['temperature', 'T']),
    dispose: () => opened.dispose(),
    card,
    meta: { system: 'model', modelFile: path.basename(modelFile), card, init: 'random frames of the model pool' },
    ...(mhPreconditioner ? { mhPreconditioner } : {}),
  }
}

/** mode, scheme and σ_min against the model, as sampler parameters */
function samplerParams(flags: Flags, sys: OpenedSystem, ts: TimeStep, sizes: Sizes): SamplerParams {
  const mode = choiceFlag<SamplerMode>('simulate', flags, 'mode', SAMPLER_MODES, sys.model.smoothed ? 'bridge' : 'clean')
  let scheme: ReverseScheme | undefined
  if (flags.scheme !== undefined) {
    scheme = choiceFlag<ReverseScheme>('simulate', flags, 'scheme', REVERSE_SCHEMES)
    if (!isBridgeMode(mode)) fail(`--scheme applies to --mode bridge and bridge-mh only (this run is ${mode})`)
    if (mode === 'bridge-mh' && scheme !== 'em') fail(`--mode bridge-mh needs reverse steps with a tractable density: use --scheme em (its default), not ${scheme}`)
  }
  const sigmaMin = flags['sigma-min'] !== undefined ? (flags['sigma-min'] as number) : sys.sigmaMinDefault
  if (!Number.isFinite(sigmaMin)) fail('--sigma-min is required: the model card gives neither sigmaMin nor sigmaData')
  const { replicas, frames, seed, innerSteps, denoiseSteps, parallel } = sizes
  const noise = flags.noise !== undefined ? choiceFlag<NoiseKind>('simulate', flags, 'noise', NOISE_KINDS) : undefined
  const mhKernel = flags['mh-kernel'] !== undefined ? choiceFlag<MhKernel>('simulate', flags, 'mh-kernel', MH_KERNELS) : undefined
  if (mhKernel === 'covariance' && mode !== 'bridge-mh') fail('--mh-kernel covariance is the Metropolis-corrected step\'s down kernel: use it with --mode bridge-mh')
  if (flags['mh-frames-f32'] !== undefined && mhKernel !== 'covariance') fail('--mh-frames-f32 gives the covariance down kernel its frames: use it with --mh-kernel covariance')
  if (mhKernel === 'covariance' && !sys.mhPreconditioner) fail('--mh-kernel covariance needs --model with the training data its card names, or --mh-frames-f32 FILE (their covariance); analytic systems use --mh-kernel em')
  return { mode, scheme, eta: ts.eta, innerSteps, denoiseSteps, sigmaMin, replicas, frames, seed, trustRegion: sys.trustRegion, parallel, ...(noise ? { noise } : {}), ...(mhKernel ? { mhKernel } : {}) }
}

/** which replicas this process runs and on how many threads (docs/cluster.md) */
interface Block {
  /** first replica (of the whole run) */
  base: number
  threads: number
  /** the replica blocks of a --checkpoint folder being resumed (checkpointFolderBlocks) */
  blocks?: [number, number][]
  /** how a worker thread rebuilds the model */
  worker: WorkerShardInput['system']
}

/** the replica-block quantum of the run: a learned model's (its d decides), 1 for an analytic system */
function quantumOf(target: { modelFile?: string }, sys: OpenedSystem): number {
  return replicaQuantum(target.modelFile !== undefined ? 'model' : 'analytic', sys.model.dim)
}

/** --replica-range A:N against R replicas */
function replicaRange(flags: Flags, R: number, quantum: number): { base: number; n: number } | undefined {
  const v = flags['replica-range']
  if (v === undefined) return undefined
  const m = /^(\d+):(\d+)$/.exec(String(v))
  if (!m) fail(`--replica-range must be START:COUNT, e.g. 0:32 (got ${String(v)})`)
  const base = Number(m[1])
  const n = Number(m[2])
  if (!(n >= 1) || base + n > R) fail(`--replica-range ${String(v)}: replicas ${base} … ${base + n - 1} are not within the ${R} of --replicas`)
  if (base % quantum !== 0) fail(`--replica-range ${String(v)}: a learned model's blocks start at multiples of ${quantum} replicas (so the frames equal the whole run's bit for bit; docs/cluster.md)`)
  return { base, n }
}

/** --threads (default: every core; Picard windows default to one thread), as many as there are blocks of replicas */
function threadCount(flags: Flags, params: SamplerParams, quantum: number): number {
  // a --checkpoint folder resumes only with the split it was made with, so the default there is
  // one thread (not this machine's core count): a folder moved to another machine still resumes
  const asked = flags.threads !== undefined ? positiveFlag('simulate', flags, 'threads') : params.parallel || flags.checkpoint !== undefined ? 1 : availableParallelism()
  const threads = splitReplicas(0, params.replicas, asked, quantum).length
  if (threads > 1 && !findSimulateWorker()) {
    if (flags.threads !== undefined) fail('--threads: the worker bundle (out/cli/simulate-worker.mjs) is missing; run `npm run build:cli`, or use --threads 1')
    return 1
  }
  return threads
}

/** the run, with a progress bar, Ctrl-C and the --checkpoint folder; frames on disk win over memory */
async function runWithProgress(flags: Flags, sys: OpenedSystem, params: SamplerParams, block: Block): Promise<{ res: RunResult; seconds: number; cleanup?: () => Promise<void> }> {
  if (flags['checkpoint-every'] !== undefined && flags.checkpoint === undefined) fail('--checkpoint-every needs --checkpoint DIR')
  const every = positiveFlag('simulate', flags, 'checkpoint-every', 100)
  const threaded = block.threads > 1
  const ckpt = flags.checkpoint !== undefined && !threaded ? await openCheckpointDir(flags.checkpoint as string, params, sys.model.dim, sys.model.name, sys.init, every) : undefined
  if (ckpt && ckpt.framesOnDisk > 0) process.stderr.write(`diffmd: resuming from frame ${ckpt.framesOnDisk - 1} stored in ${ckpt.dir}\n`)
  const ac = new AbortController()
  const onSigint = (): void => ac.abort()
  process.once('SIGINT', onSigint)
  const bar = progressBar()
  const started = Date.now()
  let res: RunResult
  let cleanup: (() => Promise<void>) | undefined
  try {
    if (threaded) {
      const dir = flags.checkpoint as string | undefined
      // the blocks' folders keep the noise kind they were made with: adopt it here too, so this
      // run's metadata names it (and the workers get it explicitly)
      if (dir !== undefined && params.noise === undefined) {
        const kind = await checkpointFolderNoise(dir)
        if (kind) params.noise = kind
      }
      const t = await runThreaded(findSimulateWorker()!, block.worker, params, sys.init, block.base, block.threads, {
        signal: ac.signal,
        onProgress: (done, total) => bar.update(done, total),
        checkpoint: dir !== undefined ? { dir, every } : undefined,
        ...(sys.mhPreconditioner ? { mhPreconditioner: sys.mhPreconditioner } : {}),
        ...(block.blocks ? { blocks: block.blocks } : {}),
      })
      res = t.res
      if (t.framesOnDisk > 0) process.stderr.write(`diffmd: resumed from frames stored in ${dir}\n`)
      if (dir !== undefined) {
        cleanup = async () => {
          for (const c of t.checkpointDirs) await (await openCheckpointDir(c.dir, c.params, sys.model.dim, sys.model.name, c.init, every)).remove()
          await fs.rmdir(dir).catch(() => undefined)
        }
      }
    } else {
      res = await runTrajectory(sys.model, params, sys.init, {
        signal: ac.signal,
        onProgress: (done, total) => bar.update(done, total),
        replicaBase: block.base,
        ...(sys.mhPreconditioner ? { mhPreconditioner: sys.mhPreconditioner } : {}),
        ...(ckpt ? { ...ckpt.hooks, resumeFrom: ckpt.resumeFrom } : {}),
      })
    }
  } finally {
    process.off('SIGINT', onSigint)
    bar.end()
  }
  const seconds = (Date.now() - started) / 1000
  // with --checkpoint the frames are on disk (including those of earlier, interrupted attempts)
  if (ckpt) {
    res.trajectory = { ...res.trajectory, ...(await ckpt.trajectory()) }
    cleanup = () => ckpt.remove()
  }
  return { res, seconds, cleanup }
}

/** the trajectory metadata written with the frames and printed by --json */
function runMeta(sys: OpenedSystem, params: SamplerParams, ts: TimeStep, system: System | undefined, res: RunResult, seconds: number): Record<string, unknown> {
  const { eta, dt, D, beta } = ts
  const T = ts.T ?? sys.T
  const steps = (res.trajectory.frames - 1) * params.innerSteps
  const totalRej = res.rejections.reduce((a, b) => a + b, 0)
  return {
    ...sys.meta,
    ...samplerMeta(sys.model, params),
    dt: dt ?? null,
    D: D ?? null,
    T: T ?? null,
    beta: system === 'gmm' ? null : beta,
    frameIntervalPs: dt !== undefined ? dt * params.innerSteps : null,
    frameEta: eta * params.innerSteps,
    frames: res.trajectory.frames,
    framesRequested: params.frames,
    seed: params.seed,
    rejections: res.rejections,
    rejectionRate: steps > 0 ? totalRej / (steps * params.replicas) : 0,
    scheme: schemeOf(params) ?? null,
    acceptance: res.acceptance ?? null,
    acceptanceMean: res.acceptance ? res.acceptance.reduce((a, b) => a + b, 0) / res.acceptance.length : null,
    modelCalls: res.modelCalls,
    sweeps: res.sweeps ?? null,
    stopped: res.stopped ?? null,
    seconds,
    // wall ms per phase (network, normals, alignment, trustRegion, other; docs/speed.md)
    timing: res.timing ?? null,
    version: VERSION,
    createdAt: new Date().toISOString(),
  }
}

/** the one-line summary (or --json), the trust-region warning, and the exit code */
function report(flags: Flags, out: string, sys: OpenedSystem, params: SamplerParams, res: RunResult, meta: Record<string, unknown>, seconds: number): number {
  const rate = meta.rejectionRate as number
  if (rate > 1e-3) {
    process.stderr.write(`diffmd: warning: ${(100 * rate).toFixed(2)}% of steps were rejected at the trust region (above 0.1%: the model is weak at the edge of its data)\n`)
  }
  const schemeText = schemeOf(params) ? ` ${schemeOf(params)}` : ''
  const accText = res.acceptance ? `; Metropolis acceptance ${(100 * (meta.acceptanceMean as number)).toFixed(1)}% (per replica ${res.acceptance.map((a) => a.toFixed(3)).join(' ')})` : ''
  const { eta } = params
  const summary = `wrote ${out}: ${params.replicas} replicas × ${res.trajectory.frames} frames × ${sys.model.dim} coordinates (${params.mode}${schemeText}, η = ${Number(eta.toPrecision(6))} Å², k = ${kOfEta(eta).toPrecision(4)} Å⁻², ${res.modelCalls} model calls${res.sweeps !== undefined ? `, ${res.sweeps} Picard sweeps` : ''}, ${seconds.toFixed(2)} s)${accText}`
  if (flags.json) process.stdout.write(JSON.stringify({ out, ...meta }) + '\n')
  else process.stdout.write(summary + '\n')
  if (res.stopped?.reason === 'aborted') {
    process.stderr.write(`diffmd: interrupted; wrote the ${res.trajectory.frames} frames made so far to ${out}\n`)
    return 130
  }
  if (res.stopped?.reason === 'unstable') throw new UserError(`simulate: ${res.stopped.message} (frames so far written to ${out})`, 'unstable')
  return 0
}

/**
 * The estimated time of a model run, said before it starts when it is over an hour; refused above
 * MAX_ATOMS (src/core/limits, docs/peptides.md "Larger molecules").
 */
function sayCost(sys: OpenedSystem, params: SamplerParams): void {
  if (sys.model.dim % 3 !== 0) return
  const atoms = sys.model.dim / 3
  const arch = (sys.meta.card as { architecture?: { arch?: string; width?: number; depth?: number; embDim?: number } } | undefined)?.architecture
  const est = estimateSampling({
    atoms,
    arch: arch?.arch === 'score-mlp' ? 'score-mlp' : 'energy-mlp',
    width: arch?.width,
    depth: arch?.depth,
    embDim: arch?.embDim,
    replicas: params.replicas,
    frames: params.frames,
    innerSteps: params.innerSteps,
    denoiseSteps: params.denoiseSteps,
  })
  const said = describeEstimate('sampling', atoms, est.seconds)
  if (said.verdict === 'unsupported') fail(said.line)
  if (said.verdict !== 'ok') process.stderr.write(`diffmd: warning: ${said.line}\n`)
}

/**
 * A simulate command line checked and its R initial states drawn, without running it: what
 * `diffmd sweep` stores in a job folder so every shard starts from the whole run's states
 */
export async function prepareRun(argv: string[]): Promise<{ init: Float32Array; dim: number; replicas: number; frames: number; modelFile?: string; quantum: number }> {
  const { flags } = parseArgs('simulate', argv, spec)
  const target = parseTarget(flags)
  const sizes = parseSizes(flags)
  const given = parseTimeStep(flags)
  const sys = await openSystem(flags, target, given, sizes)
  try {
    const { ts } = timeStepFromCard(flags, given, sys, target.modelFile)
    samplerParams(flags, sys, ts, sizes)
    return { init: sys.init, dim: sys.model.dim, replicas: sizes.replicas, frames: sizes.frames, modelFile: target.modelFile, quantum: quantumOf(target, sys) }
  } finally {
    if (sys.dispose) await sys.dispose()
  }
}

const cmd: Command = {
  summary: 'generate a trajectory (analytic system or learned model)',
  usage,
  async run(argv) {
    const { flags } = parseArgs('simulate', argv, spec)
    const target = parseTarget(flags)
    const sizes = parseSizes(flags)
    const given = parseTimeStep(flags)
    const sys = await openSystem(flags, target, given, sizes)
    try {
      const { ts, advice } = timeStepFromCard(flags, given, sys, target.modelFile)
      // a shard of a sweep runs replicas [base, base + n) of the R (docs/cluster.md)
      const quantum = quantumOf(target, sys)
      const range = replicaRange(flags, sizes.replicas, quantum)
      const base = range?.base ?? 0
      if (range) sys.init = sys.init.slice(base * sys.model.dim, (base + range.n) * sys.model.dim)
      const params = samplerParams(flags, sys, ts, range ? { ...sizes, replicas: range.n } : sizes)
      if (target.modelFile !== undefined) sayCost(sys, params)
      const worker: Block['worker'] =
        target.system !== undefined ? { kind: 'analytic', system: target.system, flags, beta: ts.beta } : { kind: 'model', file: path.resolve(target.modelFile!), intraOp: positiveFlag('simulate', flags, 'intra-op-threads', 1) }
      let threads = threadCount(flags, params, quantum)
      // a folder made with --threads resumes with its own blocks (it may predate this version's block size)
      const stored = flags.checkpoint !== undefined && findSimulateWorker() ? await checkpointFolderBlocks(flags.checkpoint as string, base, params.replicas) : undefined
      if (stored) {
        if (stored.length !== threads) process.stderr.write(`diffmd: ${String(flags.checkpoint)} holds ${stored.length} replica blocks; resuming them on ${stored.length} threads\n`)
        threads = stored.length
      }
      const { res, seconds, cleanup } = await runWithProgress(flags, sys, params, { base, threads, worker, ...(stored ? { blocks: stored } : {}) })
      const meta = { ...runMeta(sys, params, ts, target.system, res, seconds), threads, ...(advice ? { selfCheck: advice } : {}), ...(range ? { replicaStart: base, replicasTotal: sizes.replicas } : {}) }
      await writeOut(target.out, { ...res.trajectory, meta }, sys.topology)
      if (cleanup && !res.stopped) await cleanup()
      return report(flags, target.out, sys, params, res, meta, seconds)
    } finally {
      if (sys.dispose) await sys.dispose()
    }
  },
}
export default cmd
