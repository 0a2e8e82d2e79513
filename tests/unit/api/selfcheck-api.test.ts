/**
 * model.selfCheck through dispatch (the boundary both transports use), with the real worker thread
 * and onnxruntime-node, on the Examples project's copy of the shipped ala2 model at a size that
 * runs in seconds: progress events, the verdict and recommended Δt in the card, the stored report,
 * the snapshots found for an imported model (its card names a file outside the project), cancel,
 * one check at a time, and bad requests refused with one line.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { build } from 'esbuild'
import { dispatch } from '../../../src/services/dispatch'
import { EventHub, type ServiceContext, type ServiceEvent } from '../../../src/services/context'
import { ensureExamplesProject, EXAMPLES_ID } from '../../../src/services/project/examples'
import { selfCheckJobOptions } from '../../../src/services/app/selfcheck-api'
import type { SelfCheckJob } from '../../../src/api/selfcheck'

const root = path.resolve(__dirname, '../../..')
const hasModel = existsSync(path.join(root, 'resources/models/ala2-default.onnx'))
let home: string
let ctx: ServiceContext
let events: ServiceEvent[]
let modelId: string
let datasetId: string
let workerPath: string

const tiny = { dtPs: [5], nsPerReplica: 0.3, replicas: 4, iidSamples: 200, iidSteps: 40, seed: 3 }

beforeAll(async () => {
  if (!hasModel) return
  home = mkdtempSync(path.join(tmpdir(), 'diffmd-selfcheck-api-'))
  const hub = new EventHub()
  events = []
  hub.subscribe((e) => events.push(e))
  ctx = { home, transport: 'http', resourcesDir: path.join(root, 'resources'), emit: hub.emit }
  // the worker bundle, as scripts/build-cli.mjs makes it (inside the repo so onnxruntime-node resolves)
  workerPath = path.join(root, 'out', 'test', `self-check-worker-${process.pid}.mjs`)
  await build({
    entryPoints: [path.join(root, 'src/services/models/self-check-worker.ts')],
    outfile: workerPath,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external: ['onnxruntime-node', 'onnxruntime-web', 'onnxruntime-common'],
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    logLevel: 'error',
  })
  selfCheckJobOptions.workerPath = workerPath
  await ensureExamplesProject(ctx)
  modelId = ((await dispatch(ctx, 'model.list', { projectId: EXAMPLES_ID })) as { id: string }[])[0]!.id
  // the ala2 dataset (22 atoms, the model's); Examples also holds ala3 (docs/peptides.md)
  datasetId = ((await dispatch(ctx, 'dataset.list', { projectId: EXAMPLES_ID })) as { id: string; dim: number }[]).find((d) => d.dim === 66)!.id
}, 120_000)
afterAll(() => {
  selfCheckJobOptions.workerPath = undefined
  if (home) rmSync(home, { recursive: true, force: true })
  if (workerPath) rmSync(workerPath, { force: true })
})

function doneEvent(jobId: string): Promise<{ state: string; error: string | null }> {
  return new Promise((resolve) => {
    const poll = (): void => {
      const e = events.find((x) => x.topic === 'model.selfCheck.done' && (x.payload as { jobId: string }).jobId === jobId)
      if (e) resolve(e.payload as { state: string; error: string | null })
      else setTimeout(poll, 50)
    }
    poll()
  })
}

interface Report {
  perDt: { dtPs: number; equilibrium: { jsd: number; jsdNoise: number; populations: unknown[] }[]; kinetics?: { items: unknown[] }; lengthOverTau: number }[]
  residues: string[]
  verdict: { text: string; recommendedDtPs?: number; equilibriumOk: number[]; kineticsOk: number[] }
  options: { framePs: number; replicas: number; nsPerReplica: number }
}

describe.skipIf(!hasModel)('model.selfCheck', () => {
  let first: SelfCheckJob
  it('runs the check in a worker with progress events; the verdict and recommended Δt land in the card and the report beside it', async () => {
    const job = (await dispatch(ctx, 'model.selfCheck', { projectId: EXAMPLES_ID, modelId, settings: tiny })) as SelfCheckJob
    expect(job.state).toBe('running')
    // the imported default model's card names ../examples/ala2/… (not in the project): the Examples dataset, whose source file has that name, serves
    expect(job.datasetId).toBe(datasetId)
    // the server answers while the check runs (it is in a worker thread)
    const listed = (await dispatch(ctx, 'model.selfCheckJobs', { projectId: EXAMPLES_ID })) as SelfCheckJob[]
    expect(listed.map((j) => j.jobId)).toContain(job.jobId)
    expect(listed.find((j) => j.jobId === job.jobId)!.state).toBe('running')
    const done = await doneEvent(job.jobId)
    expect(done.error).toBeNull()
    expect(done.state).toBe('done')

    const progress = events.filter((e) => e.topic === 'model.selfCheck.progress' && (e.payload as { jobId: string }).jobId === job.jobId).map((e) => e.payload as { fraction: number; stage: string })
    expect(progress.length).toBeGreaterThan(0)
    for (let i = 1; i < progress.length; i++) expect(progress[i]!.fraction).toBeGreaterThanOrEqual(progress[i - 1]!.fraction)
    expect(progress.every((p) => p.fraction >= 0 && p.fraction <= 1)).toBe(true)

    first = ((await dispatch(ctx, 'model.selfCheckJobs', { projectId: EXAMPLES_ID })) as SelfCheckJob[]).find((j) => j.jobId === job.jobId)!
    expect(first).toMatchObject({ state: 'done', fraction: 1, error: null })
    const report = first.report as Report
    const summary = first.summary!
    expect(report.perDt.map((p) => p.dtPs)).toEqual([5])
    expect(report.options).toMatchObject({ framePs: 5, replicas: 4, nsPerReplica: 0.3 })
    expect(report.residues).toEqual(['ALA2'])
    // the summary follows the report: one Δt, recommended exactly when its equilibrium matches
    expect(summary.verdict).toBe(report.verdict.text)
    expect(summary.perDt).toHaveLength(1)
    expect(summary.perDt[0]!.equilibriumOk).toBe(report.verdict.equilibriumOk.includes(5))
    expect(summary.perDt[0]!.jsd).toBe(report.perDt[0]!.equilibrium[0]!.jsd)
    const row = summary.perDt[0]! as { equilibriumOk: boolean; equilibriumUnresolved?: boolean }
    // recommended when right or not resolved (the verdict then says so), never when it differs
    if (row.equilibriumOk || row.equilibriumUnresolved) expect(summary.recommendedDtPs).toBe(5)
    else expect(summary.recommendedDtPs).toBeUndefined()
    if (row.equilibriumUnresolved) expect(summary.verdict).toMatch(/not resolved/)

    const card = (await dispatch(ctx, 'model.card', { projectId: EXAMPLES_ID, modelId })) as { selfCheck?: unknown }
    expect(card.selfCheck).toEqual(summary)
    const stored = (await dispatch(ctx, 'model.selfCheckReport', { projectId: EXAMPLES_ID, modelId })) as { summary: unknown; report: unknown; dataLabel: string }
    expect(stored.summary).toEqual(summary)
    expect(stored.report).toEqual(report)
    expect(stored.dataLabel).toMatch(/^dataset /)
    const onDisk = JSON.parse(readFileSync(path.join(home, 'projects', EXAMPLES_ID, 'models', modelId, 'card.json'), 'utf8')) as { selfCheck: unknown; name: string }
    expect(onDisk.selfCheck).toEqual(summary)
    expect(onDisk.name).toBe('Alanine dipeptide (default)')
  }, 180_000)

  it('the same seed and settings give the same report (the dataset frames, given explicitly, are the same snapshots)', async () => {
    const job = (await dispatch(ctx, 'model.selfCheck', { projectId: EXAMPLES_ID, modelId, datasetId, settings: tiny })) as SelfCheckJob
    expect((await doneEvent(job.jobId)).state).toBe('done')
    const again = ((await dispatch(ctx, 'model.selfCheckJobs', {})) as SelfCheckJob[]).find((j) => j.jobId === job.jobId)!
    const strip = (r: unknown) => ({ ...(r as Record<string, unknown>), wallSeconds: 0 })
    expect(strip(again.report)).toEqual(strip(first.report))
  }, 180_000)

  it('cancels a running check: the job says cancelled and the card keeps the last completed summary', async () => {
    const before = ((await dispatch(ctx, 'model.card', { projectId: EXAMPLES_ID, modelId })) as { selfCheck?: { createdAt: string } }).selfCheck
    expect(before).toBeDefined()
    const job = (await dispatch(ctx, 'model.selfCheck', { projectId: EXAMPLES_ID, modelId, settings: { ...tiny, nsPerReplica: 200 } })) as SelfCheckJob
    // one check at a time: a second is refused while this one runs
    await expect(dispatch(ctx, 'model.selfCheck', { projectId: EXAMPLES_ID, modelId, settings: tiny })).rejects.toThrow(/already running/)
    await new Promise<void>((resolve) => {
      const poll = (): void => {
        if (events.some((e) => e.topic === 'model.selfCheck.progress' && (e.payload as { jobId: string; stage: string }).jobId === job.jobId && /run at/.test((e.payload as { stage: string }).stage))) resolve()
        else setTimeout(poll, 50)
      }
      poll()
    })
    expect(await dispatch(ctx, 'model.cancel', { jobId: job.jobId })).toEqual({ cancelled: true })
    const done = await doneEvent(job.jobId)
    expect(done).toMatchObject({ state: 'cancelled', error: null })
    const after = ((await dispatch(ctx, 'model.card', { projectId: EXAMPLES_ID, modelId })) as { selfCheck?: { createdAt: string } }).selfCheck
    expect(after).toEqual(before)
    expect(await dispatch(ctx, 'model.cancel', { jobId: job.jobId })).toEqual({ cancelled: false })
  }, 180_000)

  it('refuses bad requests with one line naming the field', async () => {
    await expect(dispatch(ctx, 'model.selfCheck', { projectId: EXAMPLES_ID, modelId, settings: { replicas: 2 } })).rejects.toThrow(/settings\.replicas/)
    await expect(dispatch(ctx, 'model.selfCheck', { projectId: EXAMPLES_ID, modelId, settings: { dtPs: [] } })).rejects.toThrow(/settings\.dtPs/)
    await expect(dispatch(ctx, 'model.selfCheck', { projectId: EXAMPLES_ID, modelId, settings: { dtPs: [-1] } })).rejects.toThrow(/settings\.dtPs/)
    await expect(dispatch(ctx, 'model.selfCheck', { projectId: EXAMPLES_ID, modelId: 'no-such-model' })).rejects.toThrow(/model 'no-such-model' not found/)
    await expect(dispatch(ctx, 'model.selfCheck', { projectId: EXAMPLES_ID, modelId, datasetId: 'no-such-dataset' })).rejects.toThrow(/no-such-dataset/)
    // an imported model without a card has no atom names: refused at once, not as a failed job
    const bare = path.join(home, 'bare.onnx')
    copyFileSync(path.join(root, 'resources/models/ala2-default.onnx'), bare)
    const imported = (await dispatch(ctx, 'model.import', { projectId: EXAMPLES_ID, onnxPath: bare })) as { id: string }
    await expect(dispatch(ctx, 'model.selfCheck', { projectId: EXAMPLES_ID, modelId: imported.id, settings: tiny })).rejects.toThrow(/has no atom names on its card/)
    expect(((await dispatch(ctx, 'model.selfCheckJobs', {})) as SelfCheckJob[]).filter((j) => j.modelId === imported.id)).toHaveLength(0)
    // the core's own checks arrive as the job's error: Δt not a whole number of fs
    const job = (await dispatch(ctx, 'model.selfCheck', { projectId: EXAMPLES_ID, modelId, settings: { ...tiny, dtPs: [0.0001] } })) as SelfCheckJob
    const done = await doneEvent(job.jobId)
    expect(done.state).toBe('failed')
    expect(done.error).toMatch(/not a whole number of fs/)
  }, 60_000)
})
