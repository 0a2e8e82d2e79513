/**
 * The API flow a renderer walks, through dispatch (the same boundary both transports use), with
 * real services: import snapshots, train a (very short) model with progress events, create a run,
 * append frames as the sampler would (with retries), read them back, export, resume.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { gunzipSync } from 'node:zlib'
import { dispatch } from '../../../src/services/dispatch'
import { EventHub, type ServiceContext, type ServiceEvent } from '../../../src/services/context'
import { trainJobOptions } from '../../../src/services/app/models-api'
import { readDcd } from '../../../src/core/formats/dcd'

let home: string
let ctx: ServiceContext
let events: ServiceEvent[]
let projectId: string
let datasetId: string
let modelId: string

beforeAll(async () => {
  home = mkdtempSync(path.join(tmpdir(), 'diffmd-flow-'))
  const hub = new EventHub()
  events = []
  hub.subscribe((e) => events.push(e))
  ctx = { home, transport: 'http', resourcesDir: path.resolve('resources'), emit: hub.emit }
  trainJobOptions.inProcess = true
  projectId = ((await dispatch(ctx, 'project.create', { name: 'Flow' })) as { id: string }).id
  const text = gunzipSync(readFileSync(path.resolve('resources/examples/ala2/ala2_snapshots_all.pdb.gz'))).toString('latin1')
  const models = text.split(/^ENDMDL[^\n]*\n/m).filter((m) => m.includes('ATOM'))
  const file = path.join(home, 'ala2_300.pdb')
  writeFileSync(file, models.slice(0, 300).map((m) => m + 'ENDMDL\n').join(''))
  const res = (await dispatch(ctx, 'dataset.import', { projectId, paths: [file] })) as { manifest: { id: string } }
  datasetId = res.manifest.id
})
afterAll(() => {
  trainJobOptions.inProcess = undefined
  rmSync(home, { recursive: true, force: true })
})

function b64(a: Float32Array): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64')
}

describe('API flow: dataset → model → run', () => {
  it('trains a model as a job with progress events; the model lands in the list with its card, loss history and bytes', async () => {
    const job = (await dispatch(ctx, 'model.train', { projectId, datasetId, preset: 'tiny', steps: 40, seed: 2, name: 'flow tiny' })) as { jobId: string; state: string }
    expect(job.state).toBe('running')
    const done = await new Promise<{ state: string; modelId: string | null; error: string | null }>((resolve) => {
      const check = (): void => {
        const e = events.find((x) => x.topic === 'model.train.done' && (x.payload as { jobId: string }).jobId === job.jobId)
        if (e) resolve(e.payload as { state: string; modelId: string | null; error: string | null })
        else setTimeout(check, 50)
      }
      check()
    })
    expect(done.error).toBeNull()
    expect(done.state).toBe('done')
    modelId = done.modelId!
    const progress = events.filter((e) => e.topic === 'model.train.progress').map((e) => e.payload as { step: number; steps: number; loss: number; etaSeconds: number; samplesPerSec: number })
    expect(progress.length).toBeGreaterThan(1)
    expect(progress.at(-1)).toMatchObject({ step: 40, steps: 40 })
    expect(progress.every((p) => Number.isFinite(p.loss) && p.etaSeconds >= 0 && p.samplesPerSec > 0)).toBe(true)
    const list = (await dispatch(ctx, 'model.list', { projectId })) as { id: string; name: string; card: { dim: number; data: { datasetId: string } }; lossHistory?: { step: number }[] }[]
    expect(list).toHaveLength(1)
    expect(list[0]).toMatchObject({ id: modelId, name: 'flow tiny', card: { dim: 66, data: { datasetId } } })
    expect(list[0]!.lossHistory!.at(-1)!.step).toBe(40)
    const bytes = (await dispatch(ctx, 'model.bytes', { projectId, modelId })) as { base64: string; card: { dim: number } }
    // an ONNX file is a protobuf ModelProto: field 1 (ir_version) first
    expect(Buffer.from(bytes.base64, 'base64')[0]).toBe(0x08)
    const jobs = (await dispatch(ctx, 'model.jobs', { projectId })) as { jobId: string; state: string; points: unknown[] }[]
    expect(jobs.find((j) => j.jobId === job.jobId)).toMatchObject({ state: 'done' })
  })

  it('cancels a training job: no model is added and the job says cancelled', async () => {
    const before = ((await dispatch(ctx, 'model.list', { projectId })) as unknown[]).length
    const job = (await dispatch(ctx, 'model.train', { projectId, datasetId, preset: 'tiny', steps: 100000, seed: 1 })) as { jobId: string }
    await new Promise<void>((resolve) => {
      const check = (): void => {
        if (events.some((e) => e.topic === 'model.train.progress' && (e.payload as { jobId: string }).jobId === job.jobId)) resolve()
        else setTimeout(check, 20)
      }
      check()
    })
    expect(await dispatch(ctx, 'model.cancel', { jobId: job.jobId })).toEqual({ cancelled: true })
    const done = await new Promise<{ state: string; modelId: string | null }>((resolve) => {
      const check = (): void => {
        const e = events.find((x) => x.topic === 'model.train.done' && (x.payload as { jobId: string }).jobId === job.jobId)
        if (e) resolve(e.payload as { state: string; modelId: string | null })
        else setTimeout(check, 20)
      }
      check()
    })
    expect(done).toMatchObject({ state: 'cancelled', modelId: null })
    expect(((await dispatch(ctx, 'model.list', { projectId })) as unknown[]).length).toBe(before)
    expect(await dispatch(ctx, 'model.cancel', { jobId: job.jobId })).toEqual({ cancelled: false })
  })

  it('creates a run, stores frames in order despite a retried batch, reads, exports and resumes it', async () => {
    const params = { mode: 'bridge', temperature: 300, D: 0.05, dtPerFrame: 2, innerSteps: 1, denoiseSteps: 5, sigmaMin: 0.026, replicas: 2, frames: 30, seed: 4, backend: 'wasm' }
    const created = (await dispatch(ctx, 'run.create', { projectId, modelId, datasetId, params })) as {
      run: { id: string; dim: number; derived: { eta: number; k: number }; status: string }
      initBase64: string
      topologyPdb: string
    }
    const { run } = created
    expect(run.status).toBe('running')
    expect(run.derived.eta).toBeCloseTo(0.1, 12)
    expect(run.derived.k).toBeCloseTo(5, 12)
    const init = new Float32Array(Uint8Array.from(Buffer.from(created.initBase64, 'base64')).buffer)
    expect(init.length).toBe(2 * 66)
    expect(created.topologyPdb).toContain('ACE')
    // frames as the sampler would make them: frame 0 = init, then small moves
    const row = 2 * run.dim
    const frames = new Float32Array(20 * row)
    for (let f = 0; f < 20; f++) for (let i = 0; i < row; i++) frames[f * row + i] = init[i]! + 0.01 * f
    await dispatch(ctx, 'run.appendFrames', { projectId, runId: run.id, start: 0, framesBase64: b64(frames.subarray(0, 10 * row)) })
    await dispatch(ctx, 'run.appendFrames', { projectId, runId: run.id, start: 0, framesBase64: b64(frames.subarray(0, 10 * row)) }) // retry
    const r2 = (await dispatch(ctx, 'run.appendFrames', { projectId, runId: run.id, start: 10, framesBase64: b64(frames.subarray(10 * row)) })) as { framesStored: number }
    expect(r2.framesStored).toBe(20)
    await expect(dispatch(ctx, 'run.appendFrames', { projectId, runId: run.id, start: 25, framesBase64: b64(frames.subarray(0, row)) })).rejects.toThrowError(/resend from frame 20/)
    const got = (await dispatch(ctx, 'run.get', { projectId, runId: run.id, start: 5, count: 3 })) as { count: number; start: number; framesBase64: string }
    expect(got).toMatchObject({ start: 5, count: 3 })
    expect(Array.from(new Float32Array(Uint8Array.from(Buffer.from(got.framesBase64, 'base64')).buffer))).toEqual(Array.from(frames.subarray(5 * row, 8 * row)))

    const stopped = (await dispatch(ctx, 'run.stop', { projectId, runId: run.id })) as { status: string; framesStored: number }
    expect(stopped).toMatchObject({ status: 'stopped', framesStored: 20 })

    const exp = (await dispatch(ctx, 'run.export', { projectId, runId: run.id, format: 'dcd', replica: 1, withBytes: true })) as { path: string; files: { name: string; base64: string }[] }
    const dcdFile = exp.files.find((f) => f.name.endsWith('.dcd'))!
    const dcd = readDcd(new Uint8Array(Buffer.from(dcdFile.base64, 'base64')), dcdFile.name)
    expect(dcd.nFrames).toBe(20)
    expect(dcd.frames[0]).toBeCloseTo(init[run.dim]!, 3)
    expect(readFileSync(exp.path).length).toBe(Buffer.from(dcdFile.base64, 'base64').length)

    // no checkpoint was sent: resuming restarts from the initial states (the stored frames are re-made and skipped)
    const resumed = (await dispatch(ctx, 'run.resume', { projectId, runId: run.id })) as { run: { status: string; framesStored: number }; checkpoint: string | null; initBase64: string }
    expect(resumed.checkpoint).toBeNull()
    expect(resumed.run).toMatchObject({ status: 'running', framesStored: 20 })
    expect(resumed.initBase64).toBe(created.initBase64)
    const finished = (await dispatch(ctx, 'run.finish', { projectId, runId: run.id, status: 'finished', backendUsed: 'wasm', framesPerSecond: 3.5, rejections: [0, 1] })) as { status: string; backendUsed: string }
    expect(finished).toMatchObject({ status: 'finished', backendUsed: 'wasm' })
    await dispatch(ctx, 'run.delete', { projectId, runId: run.id })
    expect(await dispatch(ctx, 'run.list', { projectId })).toEqual([])
  })

  it('refuses a run whose settings do not hold, naming the setting', async () => {
    const params = { mode: 'bridge', temperature: 300, D: 0.001, dtPerFrame: 0.1, innerSteps: 1, denoiseSteps: 5, sigmaMin: 0, replicas: 1, frames: 10, seed: 1, backend: 'auto' }
    await expect(dispatch(ctx, 'run.create', { projectId, modelId, datasetId, params })).rejects.toThrowError(/σ_min = 0 only works with M = 1/)
  })
})
