/**
 * The self-check's integrator-resolution run (docs/self-check.md "Integrator resolution"): when a
 * Δt's equilibrium drifts, the largest drifting Δt is run again with K× the reverse steps. The
 * verdict then says whether the drift was the integrator's (gone: recommend that M, no retraining),
 * partly (its JSD at least halves), or the model's. Checked on the verdict function with known
 * comparisons, and end to end on a model whose small-σ score is centred elsewhere than its large-σ
 * score (a drift no number of reverse steps removes), with the plan's call count.
 */
import { describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { withResolution, withSnapshots, type EquilibriumComparison, type Verdict } from '../../../src/core/selfcheck/compare'
import { commonFramePs, runSelfCheck } from '../../../src/core/selfcheck/self-check'
import { selfCheckPlan, type PlanInput } from '../../../src/core/selfcheck/plan'
import { HarmonicModel } from '../../../src/core/score/analytic/harmonic'
import type { Topology } from '../../../src/core/topology'

function eq(jsd: number, differs: boolean, conclusive = true): EquilibriumComparison {
  return { residue: 'ALA2', jsd, jsdSplitHalves: 0.004, jsdNoise: 0.005, populations: [], differs, reasons: differs ? ['JSD'] : [], conclusive, unresolved: conclusive ? [] : ['α_R ±4 %'] }
}
const retrain: Verdict = {
  equilibriumOk: [],
  equilibriumUnresolved: [],
  kineticsOk: [],
  text: 'At no tested Δt does the equilibrium match the model’s own i.i.d. samples: retrain (more steps or data) before trusting its dynamics. The equilibrium drifts at Δt = 2 ps, 5 ps.',
}

describe('withResolution', () => {
  it('drift gone with 4× the steps: the integrator’s — no "retrain", recommends that M', () => {
    const v = withResolution(retrain, { dtPs: 5, baseDenoiseSteps: 10, denoiseSteps: 40, equilibrium: [eq(0.006, false)], base: [eq(0.027, true)] })
    expect(v.integrator).toBe('fixed')
    expect(v.recommendedDenoiseSteps).toBe(40)
    expect(v.text).not.toMatch(/retrain/)
    expect(v.text).toMatch(/with M = 10 reverse steps per adapter step\./)
    expect(v.text).toMatch(/reverse integrator's, not the model's: at Δt = 5 ps with M = 40 \(4× the network evaluations per step\) the equilibrium matches .* JSD 0\.006, noise 0\.005; 0\.027 at M = 10\)\. Sample with --denoise-steps 40/)
  })
  it('gone but not resolved: says so, still recommends the M', () => {
    const v = withResolution(retrain, { dtPs: 5, baseDenoiseSteps: 10, denoiseSteps: 40, equilibrium: [eq(0.006, false, false)], base: [eq(0.027, true)] })
    expect(v.integrator).toBe('fixed')
    expect(v.text).toMatch(/The drift may be the reverse integrator's rather than the model's: .* no longer differs from .* too short to confirm it/)
  })
  it('JSD at least halved but still drifting: partly the integrator’s, keeps "retrain"', () => {
    const v = withResolution(retrain, { dtPs: 5, baseDenoiseSteps: 10, denoiseSteps: 40, equilibrium: [eq(0.013, true)], base: [eq(0.027, true)] })
    expect(v.integrator).toBe('partly')
    expect(v.recommendedDenoiseSteps).toBe(40)
    expect(v.text).toMatch(/retrain \(more steps or data\)/)
    expect(v.text).toMatch(/falls from 0\.027 to 0\.013/)
  })
  it('JSD not halved: the model’s; no M recommended', () => {
    const v = withResolution(retrain, { dtPs: 5, baseDenoiseSteps: 10, denoiseSteps: 40, equilibrium: [eq(0.014, true)], base: [eq(0.027, true)] })
    expect(v.integrator).toBe('model')
    expect(v.recommendedDenoiseSteps).toBeUndefined()
    expect(v.text).toMatch(/the drift is the model's, not the integrator's/)
  })
  it('judges by the worst residue', () => {
    const v = withResolution(retrain, { dtPs: 2, baseDenoiseSteps: 10, denoiseSteps: 40, equilibrium: [eq(0.004, false), eq(0.02, true)], base: [eq(0.01, true), eq(0.03, true)] })
    expect(v.integrator).toBe('model')
  })
})

describe('withSnapshots', () => {
  it('adds one sentence naming each residue whose i.i.d. samples differ from the snapshots; nothing when none does', () => {
    expect(withSnapshots(retrain, [eq(0.01, false), eq(0.012, false)])).toEqual(retrain)
    const off = { ...eq(0.024, true), residue: 'ALA3', reasons: ['alpha_L_C7ax 0.71 % vs 0.00 % (odds ×Infinity, 35.8 σ)'] }
    const v = withSnapshots({ ...retrain, recommendedDtPs: 2 }, [eq(0.01, false), off])
    expect(v.recommendedDtPs).toBe(2)
    expect(v.text.startsWith(retrain.text)).toBe(true)
    expect(v.text).toMatch(/i\.i\.d\. samples differ from the training snapshots \(ALA3: alpha_L_C7ax 0\.71 % vs 0\.00 %/)
    expect(v.text).not.toMatch(/ALA2:/)
  })
})

const card = JSON.parse(readFileSync(path.resolve(__dirname, '../../../resources/models/ala2-default.card.json'), 'utf8')) as { mean: number[]; atoms: { records: Topology['atoms'] } }

/**
 * the exact smoothed harmonic score about the origin at σ ≥ 0.5 Å, and about the mean structure below:
 * the adapter chain (σ_K < 0.5 Å) samples a blob about the molecule, the full reverse diffusion mostly
 * the blob about the origin, whatever M is. Counts its calls.
 */
class Inconsistent extends HarmonicModel {
  calls = 0
  constructor(private readonly centre: Float32Array) {
    super({ kappa: 10, beta: 0.4, dim: 66 })
  }
  override score(x: Float32Array, sigma: Float32Array, batch: number, out: Float32Array): void {
    this.calls++
    const d = this.dim
    for (let b = 0; b < batch; b++) {
      const s = sigma[b]!
      const c = -1 / (this.variance + s * s)
      for (let i = 0; i < d; i++) out[b * d + i] = c * (x[b * d + i]! - (s < 0.5 ? this.centre[i]! : 0))
    }
  }
}

describe('integrator resolution in runSelfCheck', () => {
  it('a drift no M removes: the resolution run is made at the drifting Δt with 4M, found the model’s, and counted by the plan', async () => {
    const mean = Float32Array.from(card.mean)
    const model = new Inconsistent(mean)
    const snapshots = new Float32Array(10 * 66)
    for (let f = 0; f < 10; f++) for (let i = 0; i < 66; i++) snapshots[f * 66 + i] = mean[i]! + 0.01 * Math.sin(7 * f + i)
    const p: PlanInput = { dtPs: [1], nsPerReplica: 0.1, replicas: 8, mode: 'bridge', denoiseSteps: 3, iidSamples: 400, iidSteps: 20, resolution: 4 }
    const framePs = commonFramePs(p.dtPs)
    const r = await runSelfCheck({ model, topology: { atoms: card.atoms.records }, snapshots, mean }, { ...p, diffusion: 0.05, framePs, countingPs: framePs, sigmaMin: 0.025, seed: 2, sigmaMax: 3 })
    expect(r.perDt[0]!.equilibrium.some((e) => e.differs)).toBe(true)
    expect(r.resolution).toBeDefined()
    expect(r.resolution!.dtPs).toBe(1)
    expect(r.resolution!.denoiseSteps).toBe(12)
    expect(r.resolution!.replicas).toBe(8)
    expect(r.resolution!.equilibrium.some((e) => e.differs)).toBe(true)
    expect(r.verdict.integrator).toBe('model')
    expect(r.verdict.text).toMatch(/the drift is the model's/)
    expect(selfCheckPlan(p).reduce((a, s) => a + s.calls, 0)).toBe(model.calls)
    // and without the factor no such run is made
    const model2 = new Inconsistent(mean)
    const r2 = await runSelfCheck({ model: model2, topology: { atoms: card.atoms.records }, snapshots, mean }, { ...p, resolution: 1, diffusion: 0.05, framePs, countingPs: framePs, sigmaMin: 0.025, seed: 2, sigmaMax: 3 })
    expect(r2.resolution).toBeUndefined()
    expect(r2.verdict.integrator).toBeUndefined()
    expect(selfCheckPlan({ ...p, resolution: 1 }).reduce((a, s) => a + s.calls, 0)).toBe(model2.calls)
  }, 120_000)
})
