/**
 * The self-check (docs/self-check.md): where can a model's dynamics be trusted, without reference MD?
 *  (a) equilibrium: a run at each Δt against i.i.d. samples of the model's full reverse diffusion
 *      (what the model believes the Boltzmann distribution is) and against the training snapshots;
 *  (b) kinetics: each Δt against Δt/2 (ACF at a few lags, τ_int, core-to-core rates), all computed
 *      at one frame spacing on runs of one length, with error bars from the replicas.
 * The model is injected (ONNX or analytic), so the CLI, the services and tests share this code.
 * Units: Å, ps, Å²/ps; angles in radians.
 */
import type { ScoreModel } from '../score/types'
import type { Topology } from '../topology'
import { DEFAULT_DENOISE_STEPS, type SamplerMode, type SamplerParams } from '../sampler/params'
import type { TrustRegion } from '../sampler/trust-region'
import { runTrajectory, type RunResult } from '../sampler/runner'
import { backboneDihedrals, seriesOf } from '../analysis/observables'
import { jackknifeOverReplicas, kineticFigures, logTimescale, subsample, type KineticFigures } from '../analysis/kinetics'
import type { DihedralTrajectory } from '../analysis/basins'
import { fillUniforms } from '../nn/random'
import { UserError } from '../errors'
import { compareEquilibrium, compareKinetics, fitTimescales, timescaleErrorAt, verdictOf, withResolution, withSnapshots, type DtResult, type ResidueSamples, type TimescaleFit, type TimescalePoint, type Verdict } from './compare'
import { DEFAULT_RESOLUTION, IID_CHUNK, resolutionApplies, roundSizes } from './plan'

export interface SelfCheckOptions {
  /** candidate Δt per adapter step (ps); each is also run at Δt/2 */
  dtPs: number[]
  /** D (Å²/ps) */
  diffusion: number
  /** saved-frame spacing (ps): a whole multiple of every Δt and Δt/2 */
  framePs: number
  /** kinetic figures are counted at this spacing (ps; a multiple of framePs) */
  countingPs: number
  nsPerReplica: number
  /** replicas of the first round */
  replicas: number
  /**
   * the check doubles the replicas of every run (new replicas, new noise streams; the earlier ones
   * are kept) while a Δt at or above the recommended one is undecided, up to this many (default:
   * replicas, one round). A check that stops at R replicas equals a one-round check with R.
   */
  maxReplicas?: number
  /** sampler mode and M of the runs */
  mode: SamplerMode
  denoiseSteps: number
  sigmaMin: number
  seed: number
  /** i.i.d. samples of the full reverse diffusion, and its steps from σ_max to σ_min */
  iidSamples: number
  iidSteps: number
  /** σ_max (Å) of the i.i.d. reverse diffusion */
  sigmaMax: number
  /**
   * integrator resolution (mode bridge): when a Δt's equilibrium drifts, the largest such Δt is run
   * again with this many times the reverse steps, to tell the reverse integrator's error from the
   * model's (docs/self-check.md "Integrator resolution"). ≤ 1 or absent: not made.
   */
  resolution?: number
  trustRegion?: TrustRegion
}

export const SELF_CHECK_DEFAULTS = {
  dtPs: [0.5, 1, 2, 5],
  /** frames are saved every commonFramePs(dtPs) ps unless given; kinetics counted every countingPs (or the frame spacing, if larger) */
  countingPs: 10,
  nsPerReplica: 5,
  replicas: 16,
  /** one doubling: the shipped ala2 model's 5-ps kinetics are undecided at 16 (docs/self-check.md "Rounds") */
  maxReplicas: 32,
  denoiseSteps: DEFAULT_DENOISE_STEPS,
  // enough that the i.i.d. side can resolve a 2× change of a 0.3 % basin (±0.04 % binomial against the
  // ±0.1 % needed; docs/self-check.md "Power"): 2,000 could not, so ala2's α_R was never judged
  iidSamples: 20000,
  iidSteps: 200,
  /** docs/sampler-integrators.md: the reverse schemes' bias against M */
  resolution: DEFAULT_RESOLUTION,
} as const

export interface SelfCheckInput {
  model: ScoreModel
  topology: Topology
  /** training snapshots [n, d] in the model's frame (aligned like its data) */
  snapshots: Float32Array
  /** start for the i.i.d. reverse diffusion: the mean structure (length d) */
  mean: Float32Array
}

export interface SelfCheckReport {
  options: Omit<SelfCheckOptions, 'trustRegion'>
  residues: string[]
  /** i.i.d. samples against the snapshots: how well the model learned the data at all */
  iidVersusSnapshots: ReturnType<typeof compareEquilibrium>[]
  perDt: DtResult[]
  /** kinetic figures of every run, keyed by Δt (ps) */
  kinetics: Record<string, KineticFigures[]>
  /** every run's log time scale and the straight line through them (undefined below two usable runs) */
  timescaleFit?: TimescaleFit
  /** replicas per run at the end, and the rounds it took */
  replicasUsed: number
  rounds: number
  /** runs made side by side (the runner's concurrency) */
  concurrency: number
  verdict: Verdict
  /** the integrator-resolution run, when one was made */
  resolution?: ResolutionResult
  /** wall seconds and adapter steps made */
  wallSeconds: number
}

/** the run at the largest drifting Δt with more reverse steps (docs/self-check.md "Integrator resolution") */
export interface ResolutionResult {
  dtPs: number
  /** M of the check's runs */
  baseDenoiseSteps: number
  /** M of this run */
  denoiseSteps: number
  replicas: number
  /** this run against the i.i.d. samples */
  equilibrium: ReturnType<typeof compareEquilibrium>[]
  /** the check's own run at this Δt (M = baseDenoiseSteps) against the i.i.d. samples, for reference */
  base: ReturnType<typeof compareEquilibrium>[]
}

/**
 * Makes the check's sampler runs (docs/self-check.md "Cores"). The default makes them one after
 * another on this thread with runTrajectory; a pool of worker threads (src/services/models/run-pool.ts)
 * makes `concurrency` at once. Either way a run's frames are runTrajectory's for the same params.
 */
export interface RunExecutor {
  concurrency: number
  run(params: SamplerParams, init: Float32Array, replicaBase: number, hooks: { signal?: AbortSignal; onProgress?(done: number, total: number): void }): Promise<Pick<RunResult, 'trajectory' | 'stopped' | 'acceptance'>>
}

export interface SelfCheckHooks {
  onProgress?(stage: string, done: number, total: number): void
  signal?: AbortSignal
  now?: () => number
  /** who makes the runs at every Δt (default: in-process, one at a time) */
  runner?: RunExecutor
}

interface ResidueDef {
  name: string
  phi: [number, number, number, number]
  psi: [number, number, number, number]
}

/** residues with both φ and ψ, paired by their shared N–CA–C atoms */
export function residuesWithPhiPsi(top: Topology): ResidueDef[] {
  const bb = backboneDihedrals(top)
  const out: ResidueDef[] = []
  for (const p of bb.phi) {
    const s = bb.psi.find((q) => q.atoms[0] === p.atoms[1] && q.atoms[1] === p.atoms[2] && q.atoms[2] === p.atoms[3])
    if (!s) continue
    const a = top.atoms[p.atoms[2]]!
    out.push({ name: `${a.resName}${a.resSeq}`, phi: p.atoms, psi: s.atoms })
  }
  return out
}

function checkOptions(o: SelfCheckOptions): void {
  const bad = (m: string): never => {
    throw new UserError(m, 'bad-param')
  }
  if (o.dtPs.length === 0 || !o.dtPs.every((t) => t > 0 && Number.isFinite(t))) bad('--dt must list positive time steps in ps, e.g. 0.5,1,2,5')
  for (const dt of o.dtPs) {
    for (const t of [dt, dt / 2]) {
      const k = o.framePs / t
      if (Math.abs(k - Math.round(k)) > 1e-9 || k < 1) bad(`--frame-ps ${o.framePs} must be a whole multiple of every Δt and Δt/2 (${t} ps is not a divisor)`)
    }
  }
  const c = o.countingPs / o.framePs
  if (Math.abs(c - Math.round(c)) > 1e-9 || c < 1) bad(`--counting-ps ${o.countingPs} must be a whole multiple of --frame-ps ${o.framePs}`)
  if (!(o.nsPerReplica > 0)) bad('--ns must be a positive number of ns per replica')
  if (!(Number.isInteger(o.replicas) && o.replicas >= 4)) bad('--replicas must be a whole number ≥ 4 (error bars come from the spread between replicas)')
  if (o.maxReplicas !== undefined && !(Number.isInteger(o.maxReplicas) && o.maxReplicas >= o.replicas)) bad(`--max-replicas must be a whole number ≥ --replicas (${o.replicas})`)
  if (!(Number.isInteger(o.iidSamples) && o.iidSamples >= 100)) bad('--iid must be a whole number ≥ 100')
}

/**
 * The smallest frame spacing (ps) that is a whole multiple of every Δt and Δt/2 (their least
 * common multiple on a 1-fs grid), so every run saves frames at the same times.
 */
export function commonFramePs(dtPs: readonly number[]): number {
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b))
  let l = 1
  for (const t of dtPs.flatMap((x) => [x, x / 2])) {
    const fs = Math.round(t * 1000)
    if (fs < 1 || Math.abs(fs - t * 1000) > 1e-6) throw new UserError(`Δt = ${t} ps is not a whole number of fs`, 'bad-param')
    l = (l / gcd(l, fs)) * fs
    if (l > 1e9) throw new UserError(`the time steps ${dtPs.join(', ')} ps have no common frame spacing below 10⁶ ps; choose rounder values`, 'bad-param')
  }
  return l / 1000
}

/**
 * The saved-frame spacing of the run at Δt: the largest multiple of Δt that is at most 5 ps (and at
 * most the counting spacing) and divides the counting spacing; else the common `framePs`.
 */
export function runFramePs(dt: number, opts: Pick<SelfCheckOptions, 'framePs' | 'countingPs'>): number {
  let best = NaN
  for (let k = 1; k * dt <= Math.min(5, opts.countingPs) + 1e-9; k++) {
    const r = opts.countingPs / (k * dt)
    if (Math.abs(r - Math.round(r)) < 1e-9) best = k * dt
  }
  return Number.isFinite(best) ? best : opts.framePs
}

/** streams far from the replicas' (0 … R−1) for the i.i.d. and initial-frame draws */
const IID_SEED_OFFSET = 0x5e1fc
const INIT_STREAM = 0xfffffff1

export async function runSelfCheck(input: SelfCheckInput, opts: SelfCheckOptions, hooks: SelfCheckHooks = {}): Promise<SelfCheckReport> {
  checkOptions(opts)
  const now = hooks.now ?? (() => Date.now())
  const t0 = now()
  const { model, topology } = input
  const d = model.dim
  const residues = residuesWithPhiPsi(topology)
  if (residues.length === 0) throw new UserError(`self-check: ${model.name} has no residue with both φ and ψ (needs a peptide backbone: C–N–CA–C–N named as in the PDB)`, 'bad-model')
  const nAtoms = d / 3
  const nSnap = Math.floor(input.snapshots.length / d)
  if (nSnap < 2) throw new UserError('self-check: the model’s training snapshots could not be found (pass --data FILE)', 'bad-input')

  const angles = (frames: Float32Array, n: number, r: ResidueDef): { phi: Float64Array; psi: Float64Array } => ({
    phi: seriesOf(frames, nAtoms, n, { kind: 'dihedral', atoms: r.phi }),
    psi: seriesOf(frames, nAtoms, n, { kind: 'dihedral', atoms: r.psi }),
  })
  /** φ/ψ of every residue (index i) of each of the first n replicas of a run's trajectory */
  const eachReplicaAngles = (t: RunResult['trajectory'], n: number, visit: (i: number, a: { phi: Float64Array; psi: Float64Array }) => void): void => {
    const F = t.frames
    for (let rep = 0; rep < n; rep++) {
      const fr = t.data.subarray(rep * F * d, (rep + 1) * F * d)
      residues.forEach((r, i) => visit(i, angles(fr, F, r)))
    }
  }
  /** frame 0 is the (shared) starting snapshot: it is left out of the equilibrium sample */
  const equilibriumPart = (a: { phi: Float64Array; psi: Float64Array }): { phi: Float64Array; psi: Float64Array } => ({ phi: a.phi.subarray(1), psi: a.psi.subarray(1) })
  /** the sampler settings of a check run at Δt with n replicas and M reverse steps: opts.nsPerReplica long, frames every runFramePs */
  const runParams = (dt: number, n: number, M: number): SamplerParams => {
    const framePs = runFramePs(dt, opts)
    return { mode: opts.mode, eta: opts.diffusion * dt, innerSteps: Math.round(framePs / dt), denoiseSteps: M, sigmaMin: opts.sigmaMin, replicas: n, frames: Math.round((opts.nsPerReplica * 1000) / framePs) + 1, seed: opts.seed, trustRegion: opts.trustRegion }
  }
  /**
   * starting frames of replicas from..from+n−1: replica r starts from snapshot pick r of the INIT
   * stream, so rounds (and the resolution run over all of them) start where one run would
   */
  const startFrames = (from: number, n: number): Float32Array => {
    const pick = new Float64Array(n)
    fillUniforms(pick, opts.seed, INIT_STREAM, from)
    const init = new Float32Array(n * d)
    for (let r = 0; r < n; r++) {
      const f = Math.floor(pick[r]! * nSnap)
      init.set(input.snapshots.subarray(f * d, (f + 1) * d), r * d)
    }
    return init
  }

  // (1) i.i.d. samples: one adapter step from the mean structure with σ_K = σ_max and many reverse steps
  const iid = new Float32Array(opts.iidSamples * d)
  const chunk = IID_CHUNK
  const totalStages = 1 + roundSizes(opts.replicas, opts.maxReplicas ?? opts.replicas).length * new Set(opts.dtPs.flatMap((t) => [t, t / 2])).size
  let stage = 0
  const runner: RunExecutor = hooks.runner ?? { concurrency: 1, run: (p, x, base, h) => runTrajectory(model, p, x, { signal: h.signal, onProgress: h.onProgress, replicaBase: base }) }
  // chunks side by side when the runner allows: each is its own seeded run, so where it is made does not matter
  const starts: number[] = []
  for (let s0 = 0; s0 < opts.iidSamples; s0 += chunk) starts.push(s0)
  let iidDone = 0
  await inLanes(starts, runner.concurrency, async (s0) => {
    const n = Math.min(chunk, opts.iidSamples - s0)
    const init = new Float32Array(n * d)
    for (let r = 0; r < n; r++) init.set(input.mean, r * d)
    const res = await runner.run(
      { mode: 'bridge', eta: opts.sigmaMax * opts.sigmaMax - opts.sigmaMin * opts.sigmaMin, innerSteps: 1, denoiseSteps: opts.iidSteps, sigmaMin: opts.sigmaMin, replicas: n, frames: 2, seed: opts.seed + IID_SEED_OFFSET + s0 },
      init,
      0,
      { signal: hooks.signal }
    )
    if (res.stopped) throw new UserError(`self-check: the i.i.d. draw stopped early (${res.stopped.message})`, res.stopped.reason === 'aborted' ? 'aborted' : 'unstable')
    const F = res.trajectory.frames
    for (let r = 0; r < n; r++) iid.set(res.trajectory.data.subarray((r * F + F - 1) * d, (r * F + F) * d), (s0 + r) * d)
    iidDone += n
    hooks.onProgress?.('i.i.d. samples of the reverse diffusion', iidDone, opts.iidSamples)
  })
  stage++
  const iidAngles = residues.map((r) => angles(iid, opts.iidSamples, r))
  const snapAngles = residues.map((r) => angles(input.snapshots, nSnap, r))
  const iidVersusSnapshots = residues.map((r, i) => compareEquilibrium({ residue: r.name, groups: [iidAngles[i]!] }, snapAngles[i]!))

  // (2) runs at every Δt and Δt/2, from random snapshots, in rounds of new replicas (replica r of
  // any round draws noise stream r and starts from snapshot pick r, so rounds add up to one run)
  const dts = [...new Set(opts.dtPs.flatMap((t) => [t, t / 2]))].sort((a, b) => b - a)
  interface RunData {
    samples: ResidueSamples[]
    reps: DihedralTrajectory[][]
    acceptSum: number
    acceptCount: number
  }
  const runs = new Map<number, RunData>()
  for (const dt of dts) runs.set(dt, { samples: residues.map((r) => ({ residue: r.name, groups: [] })), reps: residues.map(() => []), acceptSum: 0, acceptCount: 0 })
  const sizes = roundSizes(opts.replicas, opts.maxReplicas ?? opts.replicas)
  let done = 0
  let rounds = 0
  let analysis: ReturnType<typeof analyse> | undefined
  for (const n of sizes) {
    rounds++
    const init = startFrames(done, n)
    const made = new Map<number, Awaited<ReturnType<RunExecutor['run']>>>()
    // side by side, the longest runs (smallest Δt) first; the results are taken in the order of dts
    const order = runner.concurrency > 1 ? [...dts].sort((a, b) => a - b) : dts
    await inLanes(order, runner.concurrency, async (dt) => {
      const params = runParams(dt, n, opts.denoiseSteps)
      const frames = params.frames
      const label = rounds === 1 ? `run at Δt = ${dt} ps (${n} × ${opts.nsPerReplica} ns)` : `run at Δt = ${dt} ps (+${n} replicas × ${opts.nsPerReplica} ns, round ${rounds})`
      const res = await runner.run(
        params,
        init,
        done,
        { signal: hooks.signal, onProgress: (k, total) => hooks.onProgress?.(label, k, total) }
      )
      if (res.stopped) throw new UserError(`self-check: the run at Δt = ${dt} ps stopped early (${res.stopped.message}); the model is not usable at this Δt`, 'unstable')
      hooks.onProgress?.(label, frames, frames)
      made.set(dt, res)
    })
    for (const dt of dts) {
      const res = made.get(dt)!
      const stride = Math.round(opts.countingPs / runFramePs(dt, opts))
      const run = runs.get(dt)!
      eachReplicaAngles(res.trajectory, n, (i, a) => {
        run.samples[i]!.groups.push(equilibriumPart(a))
        run.reps[i]!.push({ phi: subsample(a.phi, stride), psi: subsample(a.psi, stride) })
      })
      const acc = res.acceptance
      if (acc) {
        run.acceptSum += acc.reduce((a, b) => a + b, 0)
        run.acceptCount += acc.length
      }
      stage++
      hooks.onProgress?.('runs', stage, totalStages)
    }
    done += n
    analysis = analyse()
    if (!undecided(analysis.perDt, analysis.verdict)) break
  }

  function analyse(): { perDt: DtResult[]; verdict: Verdict; fit?: TimescaleFit; kinetics: Record<string, KineticFigures[]> } {
    const eq = new Map<number, ReturnType<typeof compareEquilibrium>[]>()
    for (const dt of dts) eq.set(dt, runs.get(dt)!.samples.map((s, i) => compareEquilibrium(s, iidAngles[i]!)))
    const figs = new Map<number, KineticFigures[]>()
    for (const dt of dts) figs.set(dt, runs.get(dt)!.reps.map((reps) => kineticFigures(reps, opts.countingPs)))
    // the log time scale of every run whose equilibrium does not drift, jackknifed over replicas
    const points: TimescalePoint[] = []
    for (const dt of dts) {
      if (eq.get(dt)!.some((e) => e.differs)) continue
      const reps = runs.get(dt)!.reps
      const idx = Array.from({ length: reps[0]!.length }, (_, i) => i)
      const stat = (sub: readonly number[]): number => {
        const v = reps.map((rr) => logTimescale(kineticFigures(sub.map((i) => rr[i]!), opts.countingPs)))
        return v.reduce((a, b) => a + b, 0) / v.length
      }
      const j = jackknifeOverReplicas(idx, stat)
      points.push({ dtPs: dt, value: j.value, stderr: j.stderr })
    }
    const fit = fitTimescales(points)
    const perDt: DtResult[] = opts.dtPs.map((dt) => {
      const run = runs.get(dt)!
      const at = figs.get(dt)!
      const half = figs.get(dt / 2)!
      const kin = at.map((k, i) => compareKinetics(k, half[i]!))
      // one comparison per Δt: the residues' kinetics together
      const kinetics = {
        items: kin.flatMap((k, i) => k.items.map((it) => ({ ...it, name: residues.length > 1 ? `${residues[i]!.name} ${it.name}` : it.name }))),
        differs: kin.some((k) => k.differs),
        conclusive: kin.every((k) => k.conclusive),
        reasons: kin.flatMap((k, i) => k.reasons.map((r) => (residues.length > 1 ? `${residues[i]!.name} ${r}` : r))),
      }
      return {
        dtPs: dt,
        equilibrium: eq.get(dt)!,
        versusSnapshots: run.samples.map((s, i) => compareEquilibrium(s, snapAngles[i]!)),
        kinetics,
        ...(fit ? { timescale: timescaleErrorAt(fit, dt) } : {}),
        lengthOverTau: Math.min(...at.map((k) => k.lengthOverTau)),
        acceptance: run.acceptCount > 0 ? run.acceptSum / run.acceptCount : undefined,
      }
    })
    const halfOk = (dt: number): boolean => !eq.get(dt / 2)!.some((e) => e.differs)
    const kinetics: Record<string, KineticFigures[]> = {}
    for (const [dt, f] of figs) kinetics[String(dt)] = f
    return { perDt, verdict: verdictOf(perDt, halfOk), fit, kinetics }
  }

  const a = analysis!
  // (3) integrator resolution: the largest drifting Δt again with resolution·M reverse steps, every
  // replica of the rounds in one run (same noise streams and starting snapshots as the rounds)
  let resolution: ResolutionResult | undefined
  const drifting = a.perDt.filter((r) => r.equilibrium.some((e) => e.differs)).map((r) => r.dtPs)
  if (resolutionApplies(opts) && drifting.length > 0) {
    const dt = Math.max(...drifting)
    const M = Math.round(opts.denoiseSteps * opts.resolution!)
    const init = startFrames(0, done)
    const label = `integrator resolution: Δt = ${dt} ps with M = ${M} (${done} × ${opts.nsPerReplica} ns)`
    const res = await runner.run(
      runParams(dt, done, M),
      init,
      0,
      { signal: hooks.signal, onProgress: (k, total) => hooks.onProgress?.(label, k, total) }
    )
    if (res.stopped) throw new UserError(`self-check: the integrator-resolution run at Δt = ${dt} ps stopped early (${res.stopped.message})`, res.stopped.reason === 'aborted' ? 'aborted' : 'unstable')
    const samples: ResidueSamples[] = residues.map((r) => ({ residue: r.name, groups: [] }))
    eachReplicaAngles(res.trajectory, done, (i, a) => samples[i]!.groups.push(equilibriumPart(a)))
    resolution = {
      dtPs: dt,
      baseDenoiseSteps: opts.denoiseSteps,
      denoiseSteps: M,
      replicas: done,
      equilibrium: samples.map((sm, i) => compareEquilibrium(sm, iidAngles[i]!)),
      base: a.perDt.find((r) => r.dtPs === dt)!.equilibrium,
    }
  }
  const verdict = withSnapshots(resolution ? withResolution(a.verdict, resolution) : a.verdict, iidVersusSnapshots)
  const { trustRegion: _tr, ...rest } = opts
  return { options: rest, residues: residues.map((r) => r.name), iidVersusSnapshots, perDt: a.perDt, kinetics: a.kinetics, timescaleFit: a.fit, replicasUsed: done, rounds, concurrency: runner.concurrency, verdict, ...(resolution ? { resolution } : {}), wallSeconds: (now() - t0) / 1000 }
}

/** work(item) for every item, at most `lanes` at a time, the items started in their order */
async function inLanes<T>(items: readonly T[], lanes: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  const lane = async (): Promise<void> => {
    while (next < items.length) await work(items[next++]!)
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(lanes, items.length)) }, lane))
}

/**
 * Whether another round of replicas could change the verdict: a Δt at or above the recommended one
 * (any Δt when none is recommended) whose equilibrium does not drift is undecided — its equilibrium
 * unresolved, or its kinetics neither shown converged nor shown not to be.
 */
export function undecided(perDt: readonly DtResult[], verdict: Verdict): boolean {
  return perDt.some((r) => {
    if (r.equilibrium.some((e) => e.differs)) return false
    if (verdict.recommendedDtPs !== undefined && r.dtPs < verdict.recommendedDtPs) return false
    const eqOpen = r.equilibrium.some((e) => e.conclusive === false)
    const kinOpen = r.timescale ? !r.timescale.ok && !r.timescale.changes && !r.kinetics?.differs : !r.kinetics?.conclusive && !r.kinetics?.differs
    return eqOpen || kinOpen
  })
}
