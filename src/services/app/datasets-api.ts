/**
 * The dataset.* API over the datasets service: progress events, cancellation, per-file errors,
 * sizes, and the dataset's reference observables (`reference.json` beside the manifest, e.g. the
 * ala2 example's GROMACS Brownian-dynamics reference).
 */
import { promises as fs } from 'node:fs'
import { randomBytes } from 'node:crypto'
import path from 'node:path'
import { UserError } from '../../core/errors'
import { jsonSyntaxProblem } from '../../core/json-error'
import { deleteDataset, importDataset, listDatasets, readDataset, renameDataset, type AtomSelection, type DatasetManifest } from '../datasets'
import type { ServiceContext } from '../context'
import { projectDir } from '../project/store'
import { folderBytes } from '../fs/paths'
import { checkId } from '../../api/ids'

export const REFERENCE_FILE = 'reference.json'

function datasetDir(home: string, projectId: string, datasetId: string): string {
  checkId(datasetId, 'dataset')
  return path.join(projectDir(home, projectId), 'datasets', datasetId)
}

async function summarise(home: string, projectId: string, m: DatasetManifest) {
  const dir = datasetDir(home, projectId, m.id)
  const hasReference = await fs
    .access(path.join(dir, REFERENCE_FILE))
    .then(() => true)
    .catch(() => false)
  return { ...m, sizeBytes: await folderBytes(dir), hasReference }
}

export async function listDatasetSummaries(home: string, projectId: string) {
  const list = await listDatasets(projectDir(home, projectId))
  return Promise.all(list.map((m) => summarise(home, projectId, m)))
}

const imports = new Map<string, AbortController>()
/**
 * Import ids are chosen by the server (dataset.prepareImport): unguessable, so one client cannot
 * name, collide with or cancel another's import by picking its id. Issued ids wait here until
 * dataset.import uses them (once) or they expire.
 */
const issuedImportIds = new Map<string, number>()
const ISSUED_IMPORT_TTL_MS = 10 * 60_000

function newImportId(): string {
  return `import-${randomBytes(12).toString('hex')}`
}

export function prepareImport(): { importId: string } {
  const now = Date.now()
  for (const [k, expires] of issuedImportIds) if (expires < now) issuedImportIds.delete(k)
  const importId = newImportId()
  issuedImportIds.set(importId, now + ISSUED_IMPORT_TTL_MS)
  return { importId }
}

function takeImportId(requested: string | undefined): string {
  if (requested === undefined) return newImportId()
  const expires = issuedImportIds.get(requested)
  issuedImportIds.delete(requested)
  if (expires === undefined || expires < Date.now() || imports.has(requested)) {
    throw new UserError(`dataset.import: importId '${requested.slice(0, 60)}' was not issued by dataset.prepareImport or was already used; ask dataset.prepareImport for a new one`, 'bad-input')
  }
  return requested
}

/** Which of `paths` a one-line import error is about (the service names the file first). */
export function fileOfError(message: string, paths: string[]): string | undefined {
  const resolved = paths.map((p) => path.resolve(p))
  let best: string | undefined
  for (let i = 0; i < paths.length; i++) {
    const p = resolved[i]!
    if (message.includes(p) || message.includes(paths[i]!)) {
      if (!best || p.length > path.resolve(best).length) best = paths[i]
    }
  }
  return best
}

export async function importDatasetApi(
  ctx: ServiceContext,
  input: { projectId: string; paths: string[]; select: AtomSelection; name?: string; importId?: string; top?: string; stride?: number; beginPs?: number; endPs?: number }
): Promise<{ manifest: Awaited<ReturnType<typeof summarise>> | null; errors: { path: string; message: string }[] }> {
  const dir = projectDir(ctx.home, input.projectId)
  const controller = new AbortController()
  const importId = takeImportId(input.importId)
  imports.set(importId, controller)
  let last = 0
  try {
    const manifest = await importDataset(dir, input.paths, {
      select: input.select,
      ...(input.name ? { name: input.name } : {}),
      // trajectory + topology, stride and time window (docs/formats.md)
      ...(input.top !== undefined ? { top: input.top } : {}),
      ...(input.stride !== undefined ? { stride: input.stride } : {}),
      ...(input.beginPs !== undefined ? { beginPs: input.beginPs } : {}),
      ...(input.endPs !== undefined ? { endPs: input.endPs } : {}),
      signal: controller.signal,
      onProgress: (p) => {
        const now = Date.now()
        if (now - last < 100 && p.bytesDone < p.bytesTotal) return
        last = now
        ctx.emit({ topic: 'dataset.import.progress', payload: { importId, projectId: input.projectId, ...p } })
      },
    })
    ctx.emit({ topic: 'dataset.import.progress', payload: { importId, projectId: input.projectId, done: true } })
    return { manifest: await summarise(ctx.home, input.projectId, manifest), errors: [] }
  } catch (err) {
    ctx.emit({ topic: 'dataset.import.progress', payload: { importId, projectId: input.projectId, done: true, error: (err as Error).message } })
    if (!(err instanceof UserError)) throw err
    // one line naming the file; the renderer shows it beside that file
    const file = fileOfError(err.message, input.paths) ?? input.paths[0]!
    return { manifest: null, errors: [{ path: file, message: err.message }] }
  } finally {
    imports.delete(importId)
  }
}

export function cancelImport(importId: string): { cancelled: boolean } {
  const c = imports.get(importId)
  c?.abort()
  return { cancelled: c !== undefined }
}

export async function getDatasetApi(home: string, projectId: string, datasetId: string, withCoords: boolean) {
  const dir = datasetDir(home, projectId, datasetId)
  const ds = await readDataset(projectDir(home, projectId), datasetId)
  const topologyPdb = await fs.readFile(path.join(dir, ds.manifest.topologyFile), 'latin1')
  const coordsBase64 = withCoords ? Buffer.from(ds.coords.buffer, ds.coords.byteOffset, ds.coords.byteLength).toString('base64') : ''
  return { manifest: await summarise(home, projectId, ds.manifest), topologyPdb, coordsBase64 }
}

export async function datasetReference(home: string, projectId: string, datasetId: string): Promise<{ reference: Record<string, unknown> | null }> {
  const file = path.join(datasetDir(home, projectId, datasetId), REFERENCE_FILE)
  let text: string
  try {
    text = await fs.readFile(file, 'utf8')
  } catch {
    return { reference: null }
  }
  try {
    const v = JSON.parse(text) as unknown
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object')
    return { reference: v as Record<string, unknown> }
  } catch (err) {
    throw new UserError(`${file}: not a reference JSON object (${jsonSyntaxProblem(err, text)}); delete it or restore it`, 'parse')
  }
}

export async function renameDatasetApi(home: string, projectId: string, datasetId: string, name: string) {
  return summarise(home, projectId, await renameDataset(projectDir(home, projectId), datasetId, name))
}

export async function deleteDatasetApi(home: string, projectId: string, datasetId: string): Promise<{ deleted: string }> {
  await deleteDataset(projectDir(home, projectId), datasetId)
  return { deleted: datasetId }
}
