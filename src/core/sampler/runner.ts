/**
 * runTrajectory: R replicas × F frames of adapter-coupled (or Langevin) dynamics from a ScoreModel
 * (docs/science.md "The adapter step" to "Time-parallel generation"). Frame 0 is the initial state; frame f is the state after f·innerSteps adapter
 * steps. Replica r, adapter step t (0-based, all inner steps counted) uses normals [t·P, (t+1)·P)
 * of `fillNormals(seed, stream r)`, P = d·(1+M) (bridge), 2dM + 1 (bridge-mh) or d (tied/clean); rejected steps consume
 * their noise too. So sequential, Picard and checkpoint-resumed runs give the same frames.
 * Units: coordinates and σ in Å, η in Å².
 */
import type { ScoreModel } from '../score/types'
import type { Trajectory } from '../trajectory'
import type { SamplerParams } from './params'
import type { RunHooks, StopInfo } from './run-state'
import { validateParams, schemeOf, isBridgeMode, noiseOf } from './params'
import { AdapterStep, evaluationsPerStep } from './adapter-step'
import { assertCompatible, resumeNoise } from './checkpoint'
import { RunState } from './run-state'
import { runSequential } from './sequential'
import { runPicard } from './picard'
import { UserError } from '../errors'
import { sigmaKOf } from '../units/conversions'
import { PhaseTimer, timedModel, type PhaseTimes } from './timing'

export type { RunHooks, StopInfo } from './run-state'

export interface RunResult {
  /**
   * frames [R, F', d]. Fresh run: F' = frames made (F unless stopped), frame 0 = init.
   * Resumed run: frame 0 is the checkpoint's frame (absolute index meta.firstFrame).
   * With hooks.keepFrames = false: only the last frame (absolute index meta.firstFrame).
   */
  trajectory: Trajectory
  /** rejected steps per replica (trust region), including those before a resumed checkpoint */
  rejections: number[]
  /** model calls (each one batched over replicas, and over the window in Picard mode) */
  modelCalls: number
  /** Picard sweeps (parallel runs only) */
  sweeps?: number
  /** bridge-mh: accepted Metropolis steps per replica (including those before a resumed checkpoint) */
  accepted?: number[]
  /** bridge-mh: accepted / adapter steps made, per replica (steps since the start of the whole run) */
  acceptance?: number[]
  /** set when the run ended early: aborted by the signal, or unstable (frames before it are kept) */
  stopped?: StopInfo
  /** wall time of this call split by phase (ms; timing.ts) */
  timing?: PhaseTimes
}

/** sampler parameters as trajectory metadata (k = 1/(2η) in Å⁻², σ_K = √(η + σ_min²) in Å) */
export function samplerMeta(model: ScoreModel, p: SamplerParams): Record<string, unknown> {
  return {
    model: model.name,
    mode: p.mode,
    eta: p.eta,
    k: 1 / (2 * p.eta),
    sigma_K: sigmaKOf(p.eta, p.sigmaMin),
    innerSteps: p.innerSteps,
    M: isBridgeMode(p.mode) ? p.denoiseSteps : undefined,
    scheme: schemeOf(p),
    evaluationsPerStep: evaluationsPerStep(p.mode, p.denoiseSteps, schemeOf(p)),
    metropolis: p.mode === 'bridge-mh' ? 'path-probability test; target exp(−E(·, σ_min)); no re-alignment' : undefined,
    mhKernel: p.mode === 'bridge-mh' ? (p.mhKernel ?? 'em') : undefined,
    sigma_min: p.sigmaMin,
    replicas: p.replicas,
    seed: p.seed,
    noise: noiseOf(p),
    parallel: p.parallel ? { ...p.parallel } : undefined,
    trustRegion: p.trustRegion ? { radius: p.trustRegion.radius } : undefined,
    frame0: 'initial state',
  }
}

export async function runTrajectory(model: ScoreModel, asked: SamplerParams, init: Float32Array, hooks: RunHooks = {}): Promise<RunResult> {
  const cp = hooks.resumeFrom
  const params = resumeNoise(asked, cp)
  validateParams(model, params)
  const d = model.dim
  const R = params.replicas
  if (cp) assertCompatible(cp, params, d, model.name)
  const start = cp ? cp.positions : init
  if (!cp) {
    if (init.length !== R * d) throw new UserError(`initial positions hold ${init.length} numbers, expected replicas × d = ${R} × ${d} = ${R * d}`, 'bad-param')
    for (let i = 0; i < init.length; i++) {
      if (!Number.isFinite(init[i]!)) throw new UserError(`initial positions: coordinate ${i % d} of replica ${Math.floor(i / d)} is not finite`, 'bad-param')
    }
  }
  if (hooks.checkpointEvery !== undefined && !(Number.isInteger(hooks.checkpointEvery) && hooks.checkpointEvery >= 1)) {
    throw new UserError(`checkpointEvery must be a whole number ≥ 1 (got ${hooks.checkpointEvery})`, 'bad-param')
  }
  const W = params.parallel ? params.parallel.window : 1
  const timer = new PhaseTimer()
  if (params.mhKernel === 'covariance' && !hooks.mhPreconditioner) throw new UserError('--mh-kernel covariance needs the training data\'s covariance (the caller passes it with the run)', 'bad-param')
  const stepper = new AdapterStep(timedModel(model, timer), params.mhKernel === 'covariance' ? { ...params, mhPreconditioner: hooks.mhPreconditioner } : params, R * W, timer)
  const st = new RunState(model, params, hooks, stepper.noiseSize, start, timer)
  const a = st.announceStart(start)
  if (a) await a
  if (params.parallel) await runPicard(st, stepper, start, params.parallel.window, params.parallel.tol)
  else await runSequential(st, stepper, start)

  const { frames, data } = st.frameData()
  // adapter steps made since the run's frame 0 (the same for every replica)
  const stepsMade = (st.nextFrame - 1) * params.innerSteps
  const acceptance = st.accepted ? st.accepted.map((a) => (stepsMade > 0 ? a / stepsMade : 0)) : undefined
  const trajectory: Trajectory = {
    meta: {
      ...samplerMeta(model, params),
      firstFrame: st.firstKept,
      frames,
      rejections: st.rejections.slice(),
      accepted: st.accepted ? st.accepted.slice() : undefined,
      acceptance,
      modelCalls: st.modelCalls,
      sweeps: params.parallel ? st.sweeps : undefined,
      stopped: st.stopped ? st.stopped.reason : undefined,
    },
    replicas: R,
    frames,
    dim: d,
    data,
  }
  const result: RunResult = { trajectory, rejections: st.rejections.slice(), modelCalls: st.modelCalls, timing: timer.result() }
  if (params.parallel) result.sweeps = st.sweeps
  if (st.accepted) {
    result.accepted = st.accepted.slice()
    result.acceptance = acceptance
  }
  if (st.stopped) result.stopped = st.stopped
  return result
}
