/**
 * What a self-check (docs/self-check.md) will do, before it runs: its stages in the order
 * runSelfCheck makes them and the model calls (and rows per call) of each, so the app can estimate
 * how long it will take and turn per-stage progress into one overall fraction.
 * Counting follows src/core/selfcheck/self-check.ts and src/core/sampler: a run at Δt makes
 * ns·1000/Δt adapter steps over the R replicas, each callsPerStep batched calls evaluating
 * evaluationsPerStep(mode, M) rows per replica; the i.i.d. draw is chunks of ≤ 250 samples, each one
 * bridge step of M = iidSteps.
 */
import { evaluationsPerStep } from '../sampler/adapter-step'
import { schemeOf, type SamplerMode } from '../sampler/params'

/** the integrator-resolution factor of a default check: 4× the reverse steps (tweedie's bias falls ~16×, em's 4×) */
export const DEFAULT_RESOLUTION = 4
/** the largest integrator-resolution factor a check accepts (CLI and API) */
export const MAX_RESOLUTION = 64

/** i.i.d. samples drawn per batch (runSelfCheck's chunk) */
export const IID_CHUNK = 250

export interface PlanStage {
  /** 'iid', the Δt (ps) of a run, or 'resolution' (the integrator-resolution run, made only when a Δt drifts) */
  key: 'iid' | 'resolution' | number
  /** 1 for the i.i.d. draw and the first round of runs; 2, 3 … for the rounds that add replicas */
  round: number
  /** batched model calls */
  calls: number
  /** rows evaluated over all those calls (a call of B rows counts B) */
  evaluations: number
}

export interface PlanInput {
  dtPs: number[]
  nsPerReplica: number
  replicas: number
  /** the most replicas the rounds may reach (default: replicas) */
  maxReplicas?: number
  mode: SamplerMode
  denoiseSteps: number
  iidSamples: number
  iidSteps: number
  /** the integrator-resolution factor (runSelfCheck's `resolution`; ≤ 1 or absent: no such run) */
  resolution?: number
}

/**
 * Batched model calls per adapter step (src/core/sampler/adapter-step.ts, metropolis.ts): bridge
 * makes one call per reverse step (tweedie: of 2 rows per frame, em: 1), bridge-mh one call for the
 * reverse path's scores, M down the path and one for the two energies; Langevin modes one.
 */
export function callsPerStep(mode: SamplerMode, denoiseSteps: number): number {
  if (mode === 'bridge') return denoiseSteps
  if (mode === 'bridge-mh') return denoiseSteps + 2
  return 1
}

/** whether a check with these settings may make the integrator-resolution run (bridge only: its equilibrium depends on M) */
export function resolutionApplies(p: Pick<PlanInput, 'mode' | 'resolution'>): boolean {
  return p.mode === 'bridge' && (p.resolution ?? 1) > 1
}

function stage(key: PlanStage['key'], round: number, steps: number, rows: number, mode: SamplerMode, M: number): PlanStage {
  return { key, round, calls: steps * callsPerStep(mode, M), evaluations: steps * rows * evaluationsPerStep(mode, M, schemeOf({ mode })) }
}

/**
 * Replicas added by each round of a self-check: the first round's, then doublings of the total
 * while it stays within maxReplicas (16, max 64 → 16, 16, 32).
 */
export function roundSizes(replicas: number, maxReplicas: number): number[] {
  const sizes = [replicas]
  let total = replicas
  while (2 * total <= maxReplicas) {
    sizes.push(total)
    total *= 2
  }
  return sizes
}

/**
 * The stages in run order, for every round the check may make: i.i.d. first, then every Δt and
 * Δt/2, largest first, round after round. A check that decides early skips the later rounds.
 */
export function selfCheckPlan(p: PlanInput): PlanStage[] {
  const stages: PlanStage[] = []
  for (let s0 = 0; s0 < p.iidSamples; s0 += IID_CHUNK) stages.push(stage('iid', 1, 1, Math.min(IID_CHUNK, p.iidSamples - s0), 'bridge', p.iidSteps))
  const dts = [...new Set(p.dtPs.flatMap((t) => [t, t / 2]))].sort((a, b) => b - a)
  roundSizes(p.replicas, p.maxReplicas ?? p.replicas).forEach((n, i) => {
    for (const dt of dts) stages.push(stage(dt, i + 1, Math.round((p.nsPerReplica * 1000) / dt), n, p.mode, p.denoiseSteps))
  })
  if (resolutionApplies(p)) {
    // made only when a Δt drifts, at the largest drifting Δt: the plan counts the most it can cost
    // (the smallest Δt, every replica), and the round after the last one (the 'most' estimate only)
    const sizes = roundSizes(p.replicas, p.maxReplicas ?? p.replicas)
    const dt = Math.min(...p.dtPs)
    stages.push(stage('resolution', sizes.length + 1, Math.round((p.nsPerReplica * 1000) / dt), sizes.reduce((a, b) => a + b, 0), p.mode, p.denoiseSteps * p.resolution!))
  }
  return stages
}

/**
 * Cost of the model calls, in seconds: a per call + b per row evaluated. Measured with the shipped
 * ala2 model (d = 66, MLP 256×3) on onnxruntime-node on a busy 2-core machine: 0.55 ms for a call
 * of 4 rows, 1.3 ms for 16, 8.2 ms for 250 (a ≈ 0.42 ms, b ≈ 0.031 ms), rounded up for the
 * sampler's own arithmetic. A larger model or another machine scales them, which is why the app
 * refines the estimate from the last check.
 */
export const CALL_COST = { a: 0.6e-3, b: 0.035e-3 }

export function stageSeconds(s: PlanStage, cost = CALL_COST): number {
  return s.calls * cost.a + s.evaluations * cost.b
}

/**
 * estimated wall seconds of the check when it makes `rounds` rounds (default every round it may:
 * the most it can take; 1: when the first round decides, the least)
 */
export function estimateSeconds(p: PlanInput, cost = CALL_COST, rounds = Infinity): number {
  return selfCheckPlan(p).reduce((t, s) => t + (s.round <= rounds ? stageSeconds(s, cost) : 0), 0)
}

/**
 * Tracks the overall fraction done from runSelfCheck's progress calls (stage label, done, total):
 * i.i.d. progress counts samples; a run's label names its Δt ("run at Δt = 2 ps …") and, after the
 * first, its round ("… round 2)"), and counts frames. The fraction is the cost-weighted sum of every
 * stage's share done (runs may go side by side), of the most the check can take.
 */
export class PlanProgress {
  private readonly stages: PlanStage[]
  private readonly weights: number[]
  private readonly total: number
  /** the fraction done of every stage so far (runs may go side by side, in any order) */
  private readonly doneOf: Float64Array

  constructor(p: PlanInput, cost = CALL_COST) {
    this.stages = selfCheckPlan(p)
    this.weights = this.stages.map((s) => stageSeconds(s, cost))
    this.total = this.weights.reduce((a, b) => a + b, 0)
    this.doneOf = new Float64Array(this.stages.length)
  }

  /** fraction in [0, 1] after a progress call, or undefined for a label it does not know */
  fraction(stage: string, done: number, total: number): number | undefined {
    const f = total > 0 ? Math.min(1, Math.max(0, done / total)) : 0
    if (stage.startsWith('i.i.d.')) {
      // done counts samples over all chunks: the i.i.d. stages fill in order
      const iid = this.stages.map((s, i) => (s.key === 'iid' ? i : -1)).filter((i) => i >= 0)
      const w = iid.reduce((a, i) => a + this.weights[i]!, 0)
      let left = f * w
      for (const i of iid) {
        const take = Math.min(left, this.weights[i]!)
        this.doneOf[i] = this.weights[i]! > 0 ? Math.max(this.doneOf[i]!, take / this.weights[i]!) : 1
        left -= take
      }
      return this.sum()
    }
    if (stage.startsWith('integrator resolution')) {
      const i = this.stages.findIndex((s) => s.key === 'resolution')
      if (i < 0) return undefined
      this.doneOf[i] = Math.max(this.doneOf[i]!, f)
      return this.sum()
    }
    const m = /Δt = ([0-9.eE+-]+) ps/.exec(stage)
    if (!m) return undefined
    const dt = Number(m[1])
    const round = Number(/round (\d+)/.exec(stage)?.[1] ?? 1)
    const i = this.stages.findIndex((s) => s.key === dt && s.round === round)
    if (i < 0) return undefined
    this.doneOf[i] = Math.max(this.doneOf[i]!, f)
    return this.sum()
  }

  private sum(): number {
    if (!(this.total > 0)) return 0
    let t = 0
    for (let i = 0; i < this.stages.length; i++) t += this.weights[i]! * this.doneOf[i]!
    return Math.min(1, t / this.total)
  }
}
