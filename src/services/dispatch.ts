/**
 * The service boundary: validates a request against the API contract, runs the handler, validates
 * the response. Both transports (Electron IPC in src/main, HTTP in src/serve) call `dispatch`.
 */
import { z } from 'zod'
import { contract, isMethod, type Input, type Method, type Output } from '../api/contract'
import { UserError } from '../core/errors'
import type { ServiceContext } from './context'
import { appInfo } from './app/info'
import { createProject, listProjects, markModified, openProject, renameProject } from './project/store'
import { cancelImport, prepareImport, datasetReference, deleteDatasetApi, getDatasetApi, importDatasetApi, listDatasetSummaries, renameDatasetApi } from './app/datasets-api'
import * as runs from './app/runs-api'
import * as models from './app/models-api'
import * as selfCheck from './app/selfcheck-api'
import { openAppJob, writeAppJob } from './cluster/app-job'
import { datasetSource, modelSource } from './runs/sources'
import { setRunBackend } from './runs/store'

type Handlers = { [M in Method]: (ctx: ServiceContext, input: z.output<(typeof contract)[M]['input']>) => Promise<Output<M>> }

const handlers: Handlers = {
  'app.info': (ctx) => appInfo(ctx),
  'project.list': (ctx) => listProjects(ctx.home),
  'project.create': (ctx, input) => createProject(ctx.home, input.name),
  'project.open': (ctx, input) => openProject(ctx.home, input.id),
  'project.rename': (ctx, input) => renameProject(ctx.home, input.id, input.name),

  'dataset.list': (ctx, i) => listDatasetSummaries(ctx.home, i.projectId),
  'dataset.import': (ctx, i) => importDatasetApi(ctx, i),
  'dataset.prepareImport': async () => prepareImport(),
  'dataset.cancelImport': async (_ctx, i) => cancelImport(i.importId),
  'dataset.get': (ctx, i) => getDatasetApi(ctx.home, i.projectId, i.datasetId, i.coords ?? true),
  'dataset.reference': (ctx, i) => datasetReference(ctx.home, i.projectId, i.datasetId),
  'dataset.rename': (ctx, i) => renameDatasetApi(ctx.home, i.projectId, i.datasetId, i.name),
  'dataset.delete': (ctx, i) => deleteDatasetApi(ctx.home, i.projectId, i.datasetId),

  'model.list': (ctx, i) => models.listModelSummaries(ctx.home, i.projectId),
  'model.train': (ctx, i) => models.startTraining(ctx, i),
  'model.jobs': async (_ctx, i) => models.listJobs(i.projectId),
  // training jobs and self-check jobs share model.cancel (job ids never collide: train-… / check-…)
  'model.cancel': async (_ctx, i) => (selfCheck.cancelSelfCheck(i.jobId) ? { cancelled: true } : models.cancelJob(i.jobId)),
  'model.card': (ctx, i) => models.modelCard(ctx.home, i.projectId, i.modelId),
  'model.import': (ctx, i) => models.importModelApi(ctx.home, i),
  'model.rename': (ctx, i) => models.renameModelApi(ctx.home, i.projectId, i.modelId, i.name),
  'model.delete': (ctx, i) => models.deleteModelApi(ctx.home, i.projectId, i.modelId),
  'model.bytes': (ctx, i) => models.modelBytes(ctx.home, i.projectId, i.modelId),
  'model.selfCheck': (ctx, i) => selfCheck.startSelfCheck(ctx, i),
  'model.selfCheckJobs': async (_ctx, i) => selfCheck.listSelfCheckJobs(i.projectId),
  'model.selfCheckReport': (ctx, i) => selfCheck.storedSelfCheck(ctx.home, i.projectId, i.modelId),

  'cluster.writeJob': (ctx, i) => writeAppJob(ctx, i),
  'cluster.openJob': (ctx, i) => openAppJob(ctx, i),

  'run.create': async (ctx, i) => {
    const [model, dataset] = await Promise.all([modelSource(ctx.home, i.projectId, i.modelId), datasetSource(ctx.home, i.projectId, i.datasetId)])
    return runs.createRunApi(ctx, { projectId: i.projectId, params: i.params, ...(i.name ? { name: i.name } : {}) }, { model, dataset })
  },
  'run.appendFrames': (ctx, i) => runs.appendFramesApi(ctx, i),
  'run.checkpoint': (ctx, i) => runs.checkpointApi(ctx, i),
  'run.finish': (ctx, i) => runs.finishApi(ctx, i),
  'run.setBackend': async (ctx, i) => {
    await setRunBackend(ctx.home, i.projectId, i.runId, i.backendUsed)
    return { ok: true }
  },
  'run.stop': (ctx, i) => runs.finishApi(ctx, { ...i, status: 'stopped' }),
  'run.list': (ctx, i) => runs.listApi(ctx, i.projectId),
  'run.get': (ctx, i) => runs.getApi(ctx, i),
  'run.resume': (ctx, i) => runs.resumeApi(ctx, i),
  'run.rename': (ctx, i) => runs.renameApi(ctx, i),
  'run.delete': (ctx, i) => runs.deleteApi(ctx, i),
  'run.export': (ctx, i) => runs.exportApi(ctx, i),
}

/** requests that change what a project holds: afterwards its project.json `modified` is now */
const PROJECT_CHANGES: ReadonlySet<Method> = new Set<Method>(['dataset.import', 'dataset.rename', 'dataset.delete', 'model.import', 'model.rename', 'model.delete', 'run.create', 'run.finish', 'run.stop', 'run.rename', 'run.delete'])

function describeZod(method: string, err: z.ZodError): string {
  const first = err.issues[0]
  if (!first) return `${method}: invalid request`
  const where = first.path.length ? first.path.join('.') : 'request'
  return `${method}: ${where}: ${first.message}`
}

export async function dispatch(ctx: ServiceContext, method: string, rawInput: unknown): Promise<unknown> {
  if (!isMethod(method)) throw new UserError(`unknown API method '${method}'`, 'unknown-method')
  const spec = contract[method]
  const parsed = spec.input.safeParse(rawInput ?? {})
  if (!parsed.success) throw new UserError(describeZod(method, parsed.error), 'bad-request')
  const handler = handlers[method] as (ctx: ServiceContext, input: unknown) => Promise<unknown>
  const result = await handler(ctx, parsed.data)
  const out = spec.output.safeParse(result)
  if (!out.success) throw new Error(`${method}: service returned a malformed response: ${describeZod(method, out.error)}`)
  const projectId = (parsed.data as { projectId?: unknown }).projectId
  if (PROJECT_CHANGES.has(method) && typeof projectId === 'string') await markModified(ctx.home, projectId)
  return out.data
}

export type { Input, Output }
