/**
 * The run.* API over the runs store: base64 frames in and out, export with optional bytes for
 * browser-mode downloads, and run.create's lookup of the model card and the dataset.
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { UserError } from '../../core/errors'
import type { ServiceContext } from '../context'
import {
  appendRunFrames,
  checkpointRun,
  createRun,
  deleteRun,
  finishRun,
  getRunSummary,
  listRuns,
  readRunFrames,
  readRunInit,
  readRunMhFrames,
  readRunTopology,
  renameRun,
  resumeState,
  type CreateRunRequest,
  type FinishRequest,
  type RunSources,
} from '../runs/store'
import { exportRun, type ExportFormat, type ExportLayout } from '../runs/export'

export function decodeBase64(s: string, what: string): Uint8Array {
  const buf = Buffer.from(s, 'base64')
  if (buf.length % 4 !== 0) throw new UserError(`${what}: ${buf.length} bytes is not a whole number of float32 values`, 'bad-request')
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.length)
}

export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')
}

export async function createRunApi(ctx: ServiceContext, req: CreateRunRequest, sources: RunSources) {
  const run = await createRun(ctx.home, req, sources)
  const [init, topologyPdb, mhFrames] = await Promise.all([readRunInit(ctx.home, req.projectId, run.id), readRunTopology(ctx.home, req.projectId, run.id), readRunMhFrames(ctx.home, req.projectId, run.id, run)])
  return { run, initBase64: encodeBase64(init), topologyPdb, ...(mhFrames ? { mhFramesBase64: encodeBase64(mhFrames) } : {}) }
}

export async function appendFramesApi(ctx: ServiceContext, i: { projectId: string; runId: string; start: number; framesBase64: string; checkpoint?: string }) {
  const res = await appendRunFrames(ctx.home, i.projectId, i.runId, i.start, decodeBase64(i.framesBase64, `run ${i.runId}: framesBase64`), i.checkpoint)
  if (res.written > 0) ctx.emit({ topic: 'run.frames', payload: { projectId: i.projectId, runId: i.runId, framesStored: res.framesStored } })
  return res
}

export function checkpointApi(ctx: ServiceContext, i: { projectId: string; runId: string; checkpoint: string }) {
  return checkpointRun(ctx.home, i.projectId, i.runId, i.checkpoint)
}

export function finishApi(ctx: ServiceContext, i: { projectId: string; runId: string } & FinishRequest) {
  const { projectId, runId, ...req } = i
  return finishRun(ctx.home, projectId, runId, req)
}

export function listApi(ctx: ServiceContext, projectId: string) {
  return listRuns(ctx.home, projectId)
}

export async function getApi(ctx: ServiceContext, i: { projectId: string; runId: string; start?: number; count?: number }) {
  const topologyPdb = await readRunTopology(ctx.home, i.projectId, i.runId)
  if (i.count === 0) {
    const run = await getRunSummary(ctx.home, i.projectId, i.runId)
    return { run, topologyPdb, start: i.start ?? 0, count: 0, framesBase64: '' }
  }
  const r = await readRunFrames(ctx.home, i.projectId, i.runId, i.start ?? 0, i.count ?? Infinity)
  return { run: r.meta, topologyPdb, start: r.start, count: r.count, framesBase64: encodeBase64(r.bytes) }
}

export async function resumeApi(ctx: ServiceContext, i: { projectId: string; runId: string }) {
  const { meta, checkpointJson } = await resumeState(ctx.home, i.projectId, i.runId)
  const [init, topologyPdb, mhFrames] = await Promise.all([readRunInit(ctx.home, i.projectId, i.runId), readRunTopology(ctx.home, i.projectId, i.runId), readRunMhFrames(ctx.home, i.projectId, i.runId, meta)])
  return { run: meta, checkpoint: checkpointJson, initBase64: encodeBase64(init), topologyPdb, ...(mhFrames ? { mhFramesBase64: encodeBase64(mhFrames) } : {}) }
}

export function renameApi(ctx: ServiceContext, i: { projectId: string; runId: string; name: string }) {
  return renameRun(ctx.home, i.projectId, i.runId, i.name)
}

export async function deleteApi(ctx: ServiceContext, i: { projectId: string; runId: string }) {
  await deleteRun(ctx.home, i.projectId, i.runId)
  return { deleted: i.runId }
}

export async function exportApi(ctx: ServiceContext, i: { projectId: string; runId: string; format: ExportFormat; replica?: number; layout?: ExportLayout; withBytes?: boolean }) {
  const res = await exportRun(ctx.home, i.projectId, i.runId, i.format, i.replica, i.layout)
  if (!i.withBytes) return res
  const files: { name: string; base64: string }[] = []
  for (const p of res.paths) files.push({ name: path.basename(p), base64: (await fs.readFile(p)).toString('base64') })
  return { ...res, files }
}
