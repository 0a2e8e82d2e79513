import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { createProject } from '../../../src/services/project/store'
import {
  appendRunFrames,
  checkpointRun,
  createRun,
  deleteRun,
  finishRun,
  getRunSummary,
  initFrameIndices,
  listRuns,
  readRunFrames,
  readRunInit,
  resumeState,
} from '../../../src/services/runs/store'
import { CHECKPOINT_VERSION, checkpointFromJson, checkpointToJson, type Checkpoint } from '../../../src/core/sampler/checkpoint'
import { D, datasetCoords, params, runRows, sources } from './helpers'
import { DEFAULT_RUN_PARAMS } from '../../../src/api/run-params'

let home: string
let projectId: string
beforeEach(async () => {
  home = mkdtempSync(path.join(tmpdir(), 'diffmd-runs-'))
  projectId = (await createProject(home, 'P')).id
})
afterEach(() => rmSync(home, { recursive: true, force: true }))

function bytes(a: Float32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength)
}
function checkpointAt(framesDone: number, positions: Float32Array, innerSteps = 1): string {
  const cp: Checkpoint = {
    version: CHECKPOINT_VERSION,
    step: (framesDone - 1) * innerSteps,
    framesDone,
    positions,
    rejections: [1, 0],
    modelCalls: 123,
    params: { mode: 'bridge', eta: 0.25, innerSteps, denoiseSteps: 20, sigmaMin: 0.026, replicas: 2, seed: 1, dim: D, model: 'm', trustRegion: false },
  }
  return checkpointToJson(cp)
}

describe('runs store', () => {
  it('creates a run folder with run.json holding every parameter and the derived k, η, σ_K, Δt', async () => {
    const run = await createRun(home, { projectId, params: params({ D: 0.05, dtPerFrame: 5, innerSteps: 2, temperature: 300 }) }, sources())
    expect(readdirSync(run.path).sort()).toEqual(['frames.f32', 'init.f32', 'run.json', 'topology.pdb'])
    const meta = JSON.parse(readFileSync(path.join(run.path, 'run.json'), 'utf8'))
    expect(meta.status).toBe('running')
    expect(meta.params).toMatchObject({ mode: 'bridge', D: 0.05, dtPerFrame: 5, innerSteps: 2, temperature: 300, denoiseSteps: DEFAULT_RUN_PARAMS.denoiseSteps, sigmaMin: 0.026, replicas: 2, frames: 20, seed: 1, backend: 'auto' })
    // Δt per adapter step 2.5 ps, η = D·Δt = 0.125 Å², σ_K = √(η + σ_min²), k = 1/(2η) = 4 Å⁻², Δt_red = β/(2k) = βη
    expect(meta.derived.dtStep).toBeCloseTo(2.5, 12)
    expect(meta.derived.eta).toBeCloseTo(0.125, 12)
    expect(meta.derived.sigmaK).toBeCloseTo(Math.sqrt(0.125 + 0.026 ** 2), 12)
    expect(meta.derived.k).toBeCloseTo(4, 12)
    const beta = 1 / (0.0083144626 * 300)
    expect(meta.derived.dtReduced).toBeCloseTo(beta * 0.125, 10)
    expect(run.framesStored).toBe(0)
    // the initial states are dataset frames, spread over the data
    const init = new Float32Array(Uint8Array.from(await readRunInit(home, projectId, run.id)).buffer)
    const coords = datasetCoords(10)
    const idx = initFrameIndices(2, 10, 1)
    expect(new Set(idx).size).toBe(2)
    expect(Array.from(init.subarray(D, 2 * D))).toEqual(Array.from(coords.subarray(idx[1]! * D, (idx[1]! + 1) * D)))
  })

  it('refuses settings the renderer would refuse and a dataset with the wrong atoms, with one-line messages', async () => {
    await expect(createRun(home, { projectId, params: params({ sigmaMin: 0, denoiseSteps: 4 }) }, sources())).rejects.toThrowError(/run settings: σ_min = 0 only works with M = 1/)
    const s = sources()
    s.model.dim = 12
    await expect(createRun(home, { projectId, params: params() }, s)).rejects.toThrowError(/dataset three atoms has 3 atoms but model test model expects 4/)
    expect(readdirSync(path.join(home, 'projects', projectId, 'runs'))).toEqual([])
  })

  it('appends, lists with sizes, reads back, finishes and deletes', async () => {
    const run = await createRun(home, { projectId, params: params() }, sources())
    await appendRunFrames(home, projectId, run.id, 0, bytes(runRows(0, 5, 2)))
    await appendRunFrames(home, projectId, run.id, 5, bytes(runRows(5, 3, 2)))
    await appendRunFrames(home, projectId, run.id, 5, bytes(runRows(5, 3, 2))) // retry
    const [listed] = await listRuns(home, projectId)
    expect(listed!.framesStored).toBe(8)
    expect(listed!.sizeBytes).toBeGreaterThan(8 * 2 * D * 4)
    const r = await readRunFrames(home, projectId, run.id, 6, 100)
    expect(r.count).toBe(2)
    expect(Array.from(new Float32Array(r.bytes.slice().buffer))).toEqual(Array.from(runRows(6, 2, 2)))
    const done = await finishRun(home, projectId, run.id, { status: 'finished', backendUsed: 'wasm', framesPerSecond: 12.5, rejections: [0, 3] })
    expect(done).toMatchObject({ status: 'finished', backendUsed: 'wasm', framesPerSecond: 12.5, rejections: [0, 3], framesStored: 8 })
    expect((await getRunSummary(home, projectId, run.id)).finished).not.toBeNull()
    await deleteRun(home, projectId, run.id)
    expect(await listRuns(home, projectId)).toEqual([])
    expect(existsSync(run.path)).toBe(false)
    await expect(getRunSummary(home, projectId, run.id)).rejects.toThrowError(/run\.json is missing/)
  })

  it('resumes after a crash: the torn last frame is discarded and the checkpoint moves to the last whole frame', async () => {
    const run = await createRun(home, { projectId, params: params({ innerSteps: 3 }) }, sources())
    await appendRunFrames(home, projectId, run.id, 0, bytes(runRows(0, 4, 2)), checkpointAt(4, runRows(3, 1, 2), 3))
    await appendRunFrames(home, projectId, run.id, 4, bytes(runRows(4, 3, 2)))
    // crash while frame 7 was being written
    appendFileSync(path.join(run.path, 'frames.f32'), bytes(runRows(7, 1, 2)).subarray(0, 30))
    const { meta, checkpointJson } = await resumeState(home, projectId, run.id)
    expect(meta.framesStored).toBe(7)
    expect(statSync(path.join(run.path, 'frames.f32')).size).toBe(7 * 2 * D * 4)
    const cp = checkpointFromJson(checkpointJson!)
    expect(cp.framesDone).toBe(7)
    expect(cp.step).toBe(6 * 3)
    expect(Array.from(cp.positions)).toEqual(Array.from(runRows(6, 1, 2)))
    expect(cp.rejections).toEqual([1, 0])
    // the resumed sampler continues from frame 7
    await appendRunFrames(home, projectId, run.id, 7, bytes(runRows(7, 2, 2)))
    const all = await readRunFrames(home, projectId, run.id)
    expect(Array.from(new Float32Array(all.bytes.slice().buffer))).toEqual(Array.from(runRows(0, 9, 2)))
  })

  it('without a checkpoint a resumed run starts again and its re-sent frames are skipped', async () => {
    const run = await createRun(home, { projectId, params: params() }, sources())
    await appendRunFrames(home, projectId, run.id, 0, bytes(runRows(0, 3, 2)))
    const { checkpointJson, meta } = await resumeState(home, projectId, run.id)
    expect(checkpointJson).toBeNull()
    expect(meta.framesStored).toBe(3)
    const again = await appendRunFrames(home, projectId, run.id, 0, bytes(runRows(0, 5, 2)))
    expect(again).toEqual({ framesStored: 5, written: 2 })
  })

  it('refuses a checkpoint ahead of the stored frames and never steps one backwards', async () => {
    const run = await createRun(home, { projectId, params: params() }, sources())
    await appendRunFrames(home, projectId, run.id, 0, bytes(runRows(0, 5, 2)))
    await expect(checkpointRun(home, projectId, run.id, checkpointAt(6, runRows(5, 1, 2)))).rejects.toThrowError(/only 5 frames are stored/)
    await checkpointRun(home, projectId, run.id, checkpointAt(5, runRows(4, 1, 2)))
    await checkpointRun(home, projectId, run.id, checkpointAt(2, runRows(1, 1, 2)))
    const { checkpointJson } = await resumeState(home, projectId, run.id)
    expect(checkpointFromJson(checkpointJson!).framesDone).toBe(5)
  })
})
