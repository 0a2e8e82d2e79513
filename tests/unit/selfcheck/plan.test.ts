/**
 * The self-check's plan (src/core/selfcheck/plan.ts), which the app's time estimate and progress bar
 * rest on: its stages and model calls must be exactly what runSelfCheck makes. Counted on a real
 * check with an exact harmonic score (cheap) on the ala2 topology, in bridge and bridge-mh modes.
 * Also the Sample panel's framing of a recommended Δt (src/api/selfcheck.ts).
 */
import { describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { HarmonicModel } from '../../../src/core/score/analytic/harmonic'
import { runSelfCheck, commonFramePs, SELF_CHECK_DEFAULTS } from '../../../src/core/selfcheck/self-check'
import { estimateSeconds, IID_CHUNK, PlanProgress, roundSizes, selfCheckPlan, stageSeconds, type PlanInput } from '../../../src/core/selfcheck/plan'
import { framingForStep, recommendedDtOf } from '../../../src/api/selfcheck'
import type { SamplerMode } from '../../../src/core/sampler/params'
import type { Topology } from '../../../src/core/topology'

const card = JSON.parse(readFileSync(path.resolve(__dirname, '../../../resources/models/ala2-default.card.json'), 'utf8')) as { mean: number[]; atoms: { records: Topology['atoms'] } }

/** a harmonic score (and energy) that counts its batched calls and the rows they evaluate */
class Counting extends HarmonicModel {
  calls = 0
  rows = 0
  override score(x: Float32Array, sigma: Float32Array, batch: number, out: Float32Array): void {
    this.calls++
    this.rows += batch
    super.score(x, sigma, batch, out)
  }
  override energy(x: Float32Array, sigma: Float32Array, batch: number, out: Float32Array): void {
    this.calls++
    this.rows += batch
    super.energy(x, sigma, batch, out)
  }
}

async function counted(p: PlanInput): Promise<{ calls: number; rows: number }> {
  const model = new Counting({ kappa: 10, beta: 0.4, dim: 66 })
  const mean = Float32Array.from(card.mean)
  const snapshots = new Float32Array(10 * 66)
  for (let f = 0; f < 10; f++) for (let i = 0; i < 66; i++) snapshots[f * 66 + i] = mean[i]! + 0.01 * Math.sin(7 * f + i)
  const framePs = commonFramePs(p.dtPs)
  await runSelfCheck(
    { model, topology: { atoms: card.atoms.records }, snapshots, mean },
    { ...p, diffusion: 0.05, framePs, countingPs: framePs, sigmaMin: 0.025, seed: 1, sigmaMax: 2 }
  )
  return { calls: model.calls, rows: model.rows }
}

describe('self-check plan', () => {
  for (const mode of ['bridge', 'bridge-mh'] as SamplerMode[]) {
    it(`counts exactly the model calls and rows runSelfCheck makes (${mode})`, async () => {
      // 300 i.i.d. samples: chunks of 250 and 50; Δt 1 and 0.5 (a shared Δt/2 = 0.5 run is made once)
      const p: PlanInput = { dtPs: [2, 1], nsPerReplica: 0.02, replicas: 4, mode, denoiseSteps: 3, iidSamples: 300, iidSteps: 5 }
      const plan = selfCheckPlan(p)
      expect(plan.map((s) => s.key)).toEqual(['iid', 'iid', 2, 1, 0.5])
      const got = await counted(p)
      expect(plan.reduce((a, s) => a + s.calls, 0)).toBe(got.calls)
      expect(plan.reduce((a, s) => a + s.evaluations, 0)).toBe(got.rows)
    })
  }

  it('estimates the sum of its stages and turns progress into a fraction that ends at 1', () => {
    const p: PlanInput = { dtPs: [5], nsPerReplica: 0.3, replicas: 4, mode: 'bridge', denoiseSteps: 20, iidSamples: 200, iidSteps: 40 }
    const plan = selfCheckPlan(p)
    // bridge (tweedie) makes M calls of 2R rows per adapter step: 60 steps at 5 ps, 120 at 2.5 ps; i.i.d.: one step of M = 40 on 200 rows (×2)
    expect(plan).toEqual([
      { key: 'iid', round: 1, calls: 40, evaluations: 40 * 400 },
      { key: 5, round: 1, calls: 60 * 20, evaluations: 60 * 20 * 8 },
      { key: 2.5, round: 1, calls: 120 * 20, evaluations: 120 * 20 * 8 },
    ])
    const cost = { a: 1, b: 0.5 }
    expect(estimateSeconds(p, cost)).toBe(40 + 8000 + 1200 + 4800 + 2400 + 9600)
    const prog = new PlanProgress(p, cost)
    const total = estimateSeconds(p, cost)
    expect(prog.fraction('i.i.d. samples of the reverse diffusion', 100, 200)).toBeCloseTo(stageSeconds(plan[0]!, cost) / 2 / total, 12)
    // runs side by side: each stage's share adds up, in any order
    expect(prog.fraction('run at Δt = 2.5 ps (4 × 0.3 ns)', 30, 60)).toBeCloseTo((8040 / 2 + 12000 / 2) / total, 12)
    expect(prog.fraction('i.i.d. samples of the reverse diffusion', 200, 200)).toBeCloseTo((8040 + 6000) / total, 12)
    expect(prog.fraction('run at Δt = 5 ps (4 × 0.3 ns)', 61, 61)).toBeCloseTo((8040 + 6000 + 6000) / total, 12)
    expect(prog.fraction('run at Δt = 2.5 ps (4 × 0.3 ns)', 61, 61)).toBe(1)
    expect(prog.fraction('runs', 1, 3)).toBeUndefined()
  })

  it('plans every round the check may make: doublings of the replicas up to maxReplicas', () => {
    expect(roundSizes(16, 16)).toEqual([16])
    expect(roundSizes(16, 32)).toEqual([16, 16])
    expect(roundSizes(16, 63)).toEqual([16, 16])
    expect(roundSizes(16, 64)).toEqual([16, 16, 32])
    const p: PlanInput = { dtPs: [5], nsPerReplica: 0.3, replicas: 4, maxReplicas: 8, mode: 'bridge', denoiseSteps: 20, iidSamples: 200, iidSteps: 40 }
    const plan = selfCheckPlan(p)
    expect(plan.map((s) => [s.key, s.round])).toEqual([['iid', 1], [5, 1], [2.5, 1], [5, 2], [2.5, 2]])
    const cost = { a: 1, b: 0.5 }
    const first = 40 + 8000 + 1200 + 4800 + 2400 + 9600
    expect(estimateSeconds(p, cost, 1)).toBe(first)
    expect(estimateSeconds(p, cost)).toBe(first + 1200 + 4800 + 2400 + 9600)
    const prog = new PlanProgress(p, cost)
    const total = estimateSeconds(p, cost)
    prog.fraction('i.i.d. samples of the reverse diffusion', 200, 200)
    prog.fraction('run at Δt = 5 ps (4 × 0.3 ns)', 61, 61)
    expect(prog.fraction('run at Δt = 2.5 ps (4 × 0.3 ns)', 61, 61)).toBeCloseTo(first / total, 12)
    expect(prog.fraction('run at Δt = 5 ps (+4 replicas × 0.3 ns, round 2)', 61, 61)).toBeCloseTo((first + 6000) / total, 12)
    expect(prog.fraction('run at Δt = 2.5 ps (+4 replicas × 0.3 ns, round 2)', 61, 61)).toBe(1)
  })

  it('plans the integrator-resolution run last, at the most it can cost (smallest Δt, every replica, 4× M), bridge only', () => {
    const p: PlanInput = { dtPs: [5, 2], nsPerReplica: 0.3, replicas: 4, maxReplicas: 8, mode: 'bridge', denoiseSteps: 20, iidSamples: 200, iidSteps: 40, resolution: 4 }
    const plan = selfCheckPlan(p)
    const last = plan.at(-1)!
    // 0.3 ns at 2 ps: 150 adapter steps of M = 80 calls (tweedie, 2 rows per replica) over 8 replicas
    expect(last).toEqual({ key: 'resolution', round: 3, calls: 150 * 80, evaluations: 150 * 80 * 16 })
    const cost = { a: 1, b: 0.5 }
    // only the 'most' estimate counts it
    expect(estimateSeconds(p, cost)).toBe(estimateSeconds({ ...p, resolution: 1 }, cost) + 150 * 80 + 0.5 * 150 * 80 * 16)
    expect(estimateSeconds(p, cost, 2)).toBe(estimateSeconds({ ...p, resolution: 1 }, cost, 2))
    expect(selfCheckPlan({ ...p, mode: 'bridge-mh' }).some((s) => s.key === 'resolution')).toBe(false)
    const prog = new PlanProgress(p, cost)
    const total = estimateSeconds(p, cost)
    expect(prog.fraction('integrator resolution: Δt = 5 ps with M = 80 (8 × 0.3 ns)', 1, 2)).toBeCloseTo((0.5 * (150 * 80 + 0.5 * 150 * 80 * 16)) / total, 12)
  })

  it('counts exactly the calls of a check that makes its second round', async () => {
    // the harmonic score's φ/ψ never cross a barrier: no rates, no time scale, so the kinetics stay
    // undecided and the check adds the second round
    const p: PlanInput = { dtPs: [2], nsPerReplica: 0.02, replicas: 4, maxReplicas: 8, mode: 'bridge', denoiseSteps: 3, iidSamples: 100, iidSteps: 5 }
    const got = await counted(p)
    const plan = selfCheckPlan(p)
    expect(plan.filter((s) => s.round === 2)).toHaveLength(2)
    expect(plan.reduce((a, s) => a + s.calls, 0)).toBe(got.calls)
    expect(plan.reduce((a, s) => a + s.evaluations, 0)).toBe(got.rows)
  })

  it('the CLI defaults plan six runs (0.5/1/2/5 ps and their halves, 0.25 and 2.5 ps)', () => {
    const d = SELF_CHECK_DEFAULTS
    const plan = selfCheckPlan({ dtPs: [...d.dtPs], nsPerReplica: d.nsPerReplica, replicas: d.replicas, mode: 'bridge', denoiseSteps: d.denoiseSteps, iidSamples: d.iidSamples, iidSteps: d.iidSteps })
    expect(plan.filter((s) => s.key !== 'iid').map((s) => s.key)).toEqual([5, 2.5, 2, 1, 0.5, 0.25])
    // with the default maxReplicas: a second round of the same six runs
    const most = selfCheckPlan({ dtPs: [...d.dtPs], nsPerReplica: d.nsPerReplica, replicas: d.replicas, maxReplicas: d.maxReplicas, mode: 'bridge', denoiseSteps: d.denoiseSteps, iidSamples: d.iidSamples, iidSteps: d.iidSteps })
    expect(most.filter((s) => s.round === 2).map((s) => s.key)).toEqual([5, 2.5, 2, 1, 0.5, 0.25])
    // the i.i.d. draw in chunks of IID_CHUNK samples: 20,000 / 250 = 80
    expect(plan.filter((s) => s.key === 'iid')).toHaveLength(Math.ceil(d.iidSamples / IID_CHUNK))
    expect(d.iidSamples / IID_CHUNK).toBe(80)
  })
})

describe('the Sample panel framing of a recommended Δt', () => {
  it('makes every adapter step exactly the recommended Δt, frames a whole number of steps near the old spacing', () => {
    expect(framingForStep(5, 2.5)).toEqual({ dtPerFrame: 5, innerSteps: 2 })
    expect(framingForStep(5, 5)).toEqual({ dtPerFrame: 5, innerSteps: 1 })
    expect(framingForStep(5, 0.5)).toEqual({ dtPerFrame: 5, innerSteps: 10 })
    expect(framingForStep(5, 2)).toEqual({ dtPerFrame: 6, innerSteps: 3 })
    expect(framingForStep(1, 0.1)).toEqual({ dtPerFrame: 1, innerSteps: 10 })
    // a frame spacing shorter than the step: one step per frame
    expect(framingForStep(0.5, 5)).toEqual({ dtPerFrame: 5, innerSteps: 1 })
    expect(framingForStep(NaN, 2)).toEqual({ dtPerFrame: 2, innerSteps: 1 })
  })
  it('reads the recommendation from a card, and nothing from a card without one', () => {
    const summary = { createdAt: 'x', diffusion: 0.05, mode: 'bridge', denoiseSteps: 20, sigmaMin: 0.025, replicas: 4, nsPerReplica: 1, perDt: [], verdict: 'v' }
    expect(recommendedDtOf({ selfCheck: { ...summary, recommendedDtPs: 2 } })).toBe(2)
    expect(recommendedDtOf({ selfCheck: summary })).toBeUndefined()
    expect(recommendedDtOf({})).toBeUndefined()
    expect(recommendedDtOf(undefined)).toBeUndefined()
    expect(recommendedDtOf({ selfCheck: { ...summary, recommendedDtPs: -1 } })).toBeUndefined()
  })
})
