/**
 * Mode bridge-mh in the run settings and the run record: refused for score-only models with a
 * one-line message, the σ_K > σ_min rule of bridge applies, and the acceptance per replica a run
 * finishes with is stored in run.json and returned in its summary.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { createProject } from '../../../src/services/project/store'
import { createRun, finishRun, getRunSummary } from '../../../src/services/runs/store'
import { checkRunParams } from '../../../src/api/run-params'
import { assertCompatible, CHECKPOINT_VERSION, type Checkpoint } from '../../../src/core/sampler/checkpoint'
import { params, sources } from './helpers'

let home: string
let projectId: string
beforeEach(async () => {
  home = mkdtempSync(path.join(tmpdir(), 'diffmd-runs-mh-'))
  projectId = (await createProject(home, 'P')).id
})
afterEach(() => rmSync(home, { recursive: true, force: true }))

describe('bridge-mh runs', () => {
  it('checkRunParams refuses bridge-mh for a score-only model and applies the bridge σ rule', () => {
    expect(checkRunParams(params({ mode: 'bridge-mh' }), { energy: false }).errors.mode).toMatch(/needs an energy model.*use bridge/)
    expect(checkRunParams(params({ mode: 'bridge-mh' }), { energy: true }).errors.mode).toBeUndefined()
    // σ_min = 0 has no geometric grid for M > 1: refused as in bridge
    expect(checkRunParams(params({ mode: 'bridge-mh', sigmaMin: 0, denoiseSteps: 4 })).errors.sigmaMin).toMatch(/σ_min = 0 only works with M = 1/)
  })

  it('stores the acceptance per replica with the finished run', async () => {
    const run = await createRun(home, { projectId, params: params({ mode: 'bridge-mh' }) }, sources())
    const done = await finishRun(home, projectId, run.id, { status: 'finished', rejections: [0, 0], acceptance: [0.25, 0.5] })
    expect(done.acceptance).toEqual([0.25, 0.5])
    expect((await getRunSummary(home, projectId, run.id)).acceptance).toEqual([0.25, 0.5])
    expect(JSON.parse(readFileSync(path.join(run.path, 'run.json'), 'utf8')).acceptance).toEqual([0.25, 0.5])
  })

  it('a checkpoint from before reverse schemes (no scheme key) resumes with the current scheme; a different scheme is refused', () => {
    const base = { mode: 'bridge' as const, eta: 0.25, innerSteps: 1, denoiseSteps: 20, sigmaMin: 0.026, replicas: 2, seed: 1, dim: 3, model: 'm', trustRegion: false }
    const cp = (extra: object): Checkpoint => ({ version: CHECKPOINT_VERSION, step: 1, framesDone: 2, positions: new Float32Array(6), rejections: [0, 0], modelCalls: 0, params: { ...base, ...extra } })
    const p = { mode: 'bridge' as const, eta: 0.25, innerSteps: 1, denoiseSteps: 20, sigmaMin: 0.026, replicas: 2, frames: 5, seed: 1 }
    expect(() => assertCompatible(cp({}), p, 3, 'm')).not.toThrow()
    expect(() => assertCompatible(cp({ scheme: 'em' }), p, 3, 'm')).toThrow(/scheme = em, this run has tweedie/)
    expect(() => assertCompatible(cp({ scheme: 'em' }), { ...p, scheme: 'em' }, 3, 'm')).not.toThrow()
  })
})
