/**
 * Mode bridge-mh in the run settings and the run record: refused for score-only models with a
 * one-line message, the σ_K > σ_min rule of bridge applies, and the acceptance per replica a run
 * finishes with is stored in run.json and returned in its summary.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { createProject } from '../../../src/services/project/store'
import { createRun, finishRun, getRunSummary, MH_FRAMES, spreadFrames } from '../../../src/services/runs/store'
import { createRunApi, resumeApi } from '../../../src/services/app/runs-api'
import type { ServiceContext } from '../../../src/services/context'
import { checkRunParams, mhKernelFor } from '../../../src/api/run-params'
import { MH_COVARIANCE_MAX_DIM } from '../../../src/core/sampler/metropolis'
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

  it('a new bridge-mh run gets the covariance down kernel and keeps the dataset frames it uses; em keeps none; other modes drop a kernel', async () => {
    const src = sources(10)
    const run = await createRun(home, { projectId, params: params({ mode: 'bridge-mh' }) }, src)
    expect(run.params.mhKernel).toBe('covariance')
    // all 10 frames (fewer than MH_FRAMES), in order, byte for byte
    const file = readFileSync(path.join(run.path, 'mh-frames.f32'))
    const kept = new Float32Array(file.buffer.slice(file.byteOffset, file.byteOffset + file.byteLength))
    expect(Array.from(kept)).toEqual(Array.from(src.dataset!.coords))
    // run.create and run.resume hand the frames to the sampler
    const ctx = { home, emit: () => undefined } as unknown as ServiceContext
    const created = await createRunApi(ctx, { projectId, params: params({ mode: 'bridge-mh', seed: 2 }) }, src)
    expect(Buffer.from(created.mhFramesBase64!, 'base64')).toEqual(readFileSync(path.join(created.run.path, 'mh-frames.f32')))
    const resumed = await resumeApi(ctx, { projectId, runId: run.id })
    expect(resumed.mhFramesBase64).toBe(Buffer.from(kept.buffer).toString('base64'))
    // a covariance run whose frames are gone is not resumed with another kernel
    rmSync(path.join(run.path, 'mh-frames.f32'))
    await expect(resumeApi(ctx, { projectId, runId: run.id })).rejects.toThrow(/mh-frames\.f32 .* is missing from the run folder; it cannot resume with the same kernel/)

    const em = await createRun(home, { projectId, params: params({ mode: 'bridge-mh', mhKernel: 'em' }) }, src)
    expect(em.params.mhKernel).toBe('em')
    expect(existsSync(path.join(em.path, 'mh-frames.f32'))).toBe(false)
    expect((await resumeApi(ctx, { projectId, runId: em.id })).mhFramesBase64).toBeUndefined()
    // a kernel remembered from bridge-mh does not follow the run into bridge
    const bridge = await createRun(home, { projectId, params: params({ mode: 'bridge', mhKernel: 'covariance' }) }, src)
    expect(bridge.params.mhKernel).toBeUndefined()
    expect(existsSync(path.join(bridge.path, 'mh-frames.f32'))).toBe(false)
  })

  it('spreads at most MH_FRAMES frames evenly over a large dataset', () => {
    const n = 3 * MH_FRAMES + 5
    const coords = new Float32Array(n * 3).map((_, i) => Math.floor(i / 3))
    const out = spreadFrames(coords, n, 3, MH_FRAMES)
    expect(out.length).toBe(MH_FRAMES * 3)
    // frame i is dataset frame ⌊i·n/MH_FRAMES⌋: first 0, last n − 1 − … within one stride of the end
    expect(out[0]).toBe(0)
    expect(out[3]).toBe(Math.floor(n / MH_FRAMES))
    expect(out[(MH_FRAMES - 1) * 3]).toBe(Math.floor(((MH_FRAMES - 1) * n) / MH_FRAMES))
    expect(n - 1 - out[(MH_FRAMES - 1) * 3]!).toBeLessThan(n / MH_FRAMES)
  })

  it('models above MH_COVARIANCE_MAX_DIM coordinates default to em; asking for covariance there is refused beside the field', () => {
    const big = MH_COVARIANCE_MAX_DIM + 3
    expect(mhKernelFor({ mode: 'bridge-mh' }, big)).toBe('em')
    expect(mhKernelFor({ mode: 'bridge-mh' }, MH_COVARIANCE_MAX_DIM)).toBe('covariance')
    expect(mhKernelFor({ mode: 'bridge-mh', mhKernel: 'em' }, 66)).toBe('em')
    expect(mhKernelFor({ mode: 'tied', mhKernel: 'covariance' }, 66)).toBeUndefined()
    expect(checkRunParams(params({ mode: 'bridge-mh', mhKernel: 'covariance' }), { dim: big }).errors.mhKernel).toMatch(/handles up to 400 atoms .* use the em kernel/)
    // the M < 80 warning is about em only
    expect(checkRunParams(params({ mode: 'bridge-mh', denoiseSteps: 10 }), { dim: 66 }).warnings.denoiseSteps).toBeUndefined()
    expect(checkRunParams(params({ mode: 'bridge-mh', mhKernel: 'em', denoiseSteps: 10 }), { dim: 66 }).warnings.denoiseSteps).toMatch(/em kernel accepts almost no step/)
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
