/**
 * Project datasets: `<project>/datasets/<id>/{manifest.json, coords.f32, topology.pdb}`.
 *
 * importDataset reads PDB snapshots (any number of files, single- or multi-model, plain or .gz),
 * streamed in 1 MiB chunks: memory holds one chunk, one model and the selected coordinates
 * (12 bytes per selected atom per frame — about 1/7 of the size of an all-atom PDB text, e.g. a
 * 200 MB multi-model PDB of a 22-atom molecule, ≈ 110 000 frames, needs ≈ 29 MB). Files over 4 GiB
 * (or decompressing to more) are refused with a size message. Nothing touches the project folder
 * until every file has been read and checked; the dataset is then written into a hidden temporary
 * folder under datasets/ and renamed into place, so an import lands whole or not at all.
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import os from 'node:os'
import { randomBytes } from 'node:crypto'
import { UserError } from '../../core/errors'
import { jsonSyntaxProblem } from '../../core/json-error'
import type { Topology } from '../../core/topology'
import { Aligner } from '../../core/geometry/kabsch'
import { readPdb, writePdb, describeAtom } from '../../core/formats/pdb'
import { VERSION } from '../../core/version'
import { writeError, writeJsonAtomic } from '../fs/atomic'
import { exists, slug as slugOf } from '../fs/paths'
import { withFileLock } from '../fs/lock'
import { checkSelection, selectForDataset, type AtomSelection } from './selection'
import { coordinateStats, findDuplicates } from './stats'
import { checkInputFile, cancelledError, DEFAULT_MAX_FILE_BYTES, planImport, readSnapshotFile } from './source'
import { datasetManifestSchema, DATASET_MANIFEST_VERSION, type DatasetManifest } from './manifest'
import { checkId as checkSharedId } from '../../api/ids'

export type { DatasetManifest } from './manifest'
export type { AtomSelection } from './selection'

/** the fewest selected atoms a dataset accepts: fewer cannot be superposed (and 1 atom has no shape to learn) */
export const MIN_ATOMS = 3
/** the fewest frames: one frame has no spread (σ_data = 0), nothing to learn */
export const MIN_FRAMES = 2
/** near-duplicate threshold, Å (coordinate RMSD of stored frames) */
export const NEAR_DUPLICATE_RMSD = 0.01

export interface ImportProgress {
  /** the file being read */
  file: string
  /** bytes read so far over all files (on disk, i.e. compressed for .gz) and their total */
  bytesDone: number
  bytesTotal: number
  /** frames read so far over all files */
  frames: number
}

export interface ImportOptions {
  name?: string
  select?: AtomSelection
  /** centre and Kabsch-superpose every frame on the (centred) reference frame; default true */
  align?: boolean
  /** 0-based frame index over all files in order; default 0 */
  referenceFrame?: number
  onProgress?: (p: ImportProgress) => void
  signal?: AbortSignal
  /** per-file size limit in bytes (on disk and decompressed); default 4 GiB */
  maxFileBytes?: number
  /** topology (PDB, GRO, mmCIF, PQR) of the DCD/XTC/TRR files; default: the one structure file among them (docs/formats.md) */
  top?: string
  /** keep every stride-th frame (after the time window); default 1 */
  stride?: number
  /** time window in ps (files with frame times: DCD, XTC, TRR, GRO) */
  beginPs?: number
  endPs?: number
}

export interface Dataset {
  manifest: DatasetManifest
  topology: Topology
  /** [frames, 3N] Å */
  coords: Float32Array
}

function datasetsDir(projectDir: string): string {
  return path.join(projectDir, 'datasets')
}

function checkId(id: string): void {
  checkSharedId(id, 'dataset')
}

function slug(name: string): string {
  return slugOf(name.replace(/\.(pdb|ent|cif|mmcif|gro|pqr|xyz|extxyz|arc|dcd|xtc|trr)(\.(gz|bz2))?$/i, ''), 40) || 'dataset'
}

/** growable float32 buffer for frames of one width */
class FrameBuffer {
  data = new Float32Array(0)
  frames = 0
  constructor(readonly width: number) {}
  push(src: Float32Array, indices: number[] | undefined): void {
    const w = this.width
    if ((this.frames + 1) * w > this.data.length) {
      const grown = new Float32Array(Math.max(w * 64, this.data.length * 2))
      grown.set(this.data.subarray(0, this.frames * w))
      this.data = grown
    }
    const o = this.frames * w
    if (!indices) this.data.set(src, o)
    else {
      for (let j = 0; j < indices.length; j++) {
        const i = indices[j]!
        this.data[o + 3 * j] = src[3 * i]!
        this.data[o + 3 * j + 1] = src[3 * i + 1]!
        this.data[o + 3 * j + 2] = src[3 * i + 2]!
      }
    }
    this.frames++
  }
  result(): Float32Array {
    return this.data.subarray(0, this.frames * this.width)
  }
}

const round6 = (v: number): number => Math.round(v * 1e6) / 1e6

/** compares a later file's topology with the first file's: same count, names and residue names, in order */
function checkSameTopology(first: Topology, firstFile: string, other: Topology, file: string): void {
  const a = first.atoms
  const b = other.atoms
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    if (a[i]!.name !== b[i]!.name || a[i]!.resName !== b[i]!.resName) {
      throw new UserError(
        `${file}: atom ${i + 1} is '${describeAtom(b[i]!)}' but ${path.basename(firstFile)} has '${describeAtom(a[i]!)}' there; all snapshots must share one topology (same atoms, same order)`,
        'topology-mismatch'
      )
    }
  }
  if (a.length !== b.length) {
    const detail = b.length < a.length ? `first missing atom: '${describeAtom(a[b.length]!)}'` : `first extra atom: '${describeAtom(b[a.length]!)}'`
    throw new UserError(`${file}: ${b.length} atoms per model but ${path.basename(firstFile)} has ${a.length} (${detail}); all snapshots must share one topology`, 'topology-mismatch')
  }
}

function littleEndianBytes(a: Float32Array): Uint8Array {
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength)
  if (os.endianness() === 'LE') return bytes
  const out = new Uint8Array(bytes.length)
  const dv = new DataView(out.buffer)
  for (let i = 0; i < a.length; i++) dv.setFloat32(4 * i, a[i]!, true)
  return out
}

/** little-endian float32 bytes as a Float32Array (a copy; byte-swapped on big-endian machines) */
export function fromLittleEndian(buf: Uint8Array): Float32Array {
  const out = new Float32Array(buf.length / 4)
  if (os.endianness() === 'LE') {
    new Uint8Array(out.buffer).set(buf)
    return out
  }
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  for (let i = 0; i < out.length; i++) out[i] = dv.getFloat32(4 * i, true)
  return out
}

/** what reading the input files yields: the first file's topology, the selected atoms' frames, provenance */
interface ReadFiles {
  topology: Topology
  /** selected atom indices, or undefined for all atoms */
  indices: number[] | undefined
  /** [F, 3N] Å, the selected atoms of every frame in file order */
  coords: Float32Array
  frames: number
  atoms: number
  sources: DatasetManifest['sources']
  warnings: string[]
}

/** step 1: every file exists and fits; returns the sizes on disk */
async function checkFiles(resolved: string[], maxBytes: number): Promise<number[]> {
  const sizes: number[] = []
  for (const f of resolved) sizes.push(await checkInputFile(f, maxBytes))
  return sizes
}

/** step 2: streams every file, checks they share one topology, keeps the selected atoms */
async function readAllFiles(resolved: string[], selection: AtomSelection, bytesTotal: number, maxBytes: number, opts: ImportOptions): Promise<ReadFiles> {
  let topology: Topology | undefined
  let indices: number[] | undefined
  let buffer: FrameBuffer | undefined
  const sources: DatasetManifest['sources'] = []
  const warnings: string[] = []
  let bytesBefore = 0
  const plan = await planImport(resolved, { ...opts, maxBytes })
  if (plan.topology) {
    const t = plan.topology
    sources.push({ path: t.file, name: path.basename(t.file), bytes: t.bytes, sha256: t.sha256, gzip: t.compression === 'gzip', frames: 0, role: 'topology', format: t.structure.format, compression: t.compression })
    warnings.push(...t.structure.warnings)
    bytesBefore += t.bytes
  }
  for (const file of plan.files) {
    const framesBefore = buffer?.frames ?? 0
    const warningsBefore = warnings.length
    let checked = false
    const res = await readSnapshotFile(file, plan, {
      maxBytes,
      signal: opts.signal,
      // models that differ are matched on the selected atoms (docs/formats.md)
      select: (t) => selectForDataset(t, selection).indices,
      // a PDB whose models differ is read again whole: forget what this file gave
      onRestart: () => {
        checked = false
        warnings.length = warningsBefore
        if (framesBefore === 0) {
          topology = undefined
          indices = undefined
          buffer = undefined
        } else buffer!.frames = framesBefore
      },
      onBytes: (done) => opts.onProgress?.({ file, bytesDone: bytesBefore + done, bytesTotal, frames: buffer?.frames ?? 0 }),
      onFrame: (coords, _index, top) => {
        if (!checked) {
          checked = true
          if (!topology) {
            topology = top
            const { indices: sel, note } = selectForDataset(top, selection)
            if (note) warnings.push(note)
            if (sel.length < MIN_ATOMS) {
              throw new UserError(
                `${file}: ${sel.length} atom${sel.length === 1 ? '' : 's'} selected ('${selection}' of ${top.atoms.length}${note ? `; ${note}` : ''}); a dataset needs at least ${MIN_ATOMS} atoms (fewer cannot be aligned and have no shape to learn)`,
                'too-few-atoms'
              )
            }
            indices = sel.length === top.atoms.length ? undefined : sel
            buffer = new FrameBuffer(3 * sel.length)
          } else {
            checkSameTopology(topology, plan.files[0]!, top, file)
          }
        }
        buffer!.push(coords, indices)
      },
    })
    bytesBefore += res.bytes
    warnings.push(...res.warnings)
    sources.push({
      path: file,
      name: path.basename(file),
      bytes: res.bytes,
      sha256: res.sha256,
      gzip: res.gzip,
      frames: (buffer?.frames ?? 0) - framesBefore,
      role: plan.topology ? 'trajectory' : 'snapshots',
      format: res.format,
      compression: res.compression,
      framesInFile: res.framesInFile,
      spacingPs: res.spacingPs,
    })
    if (res.framesKept !== res.framesInFile) {
      const s = plan.sampling
      const window = s.beginPs !== undefined || s.endPs !== undefined ? `, ${s.beginPs ?? 'start'}–${s.endPs ?? 'end'} ps` : ''
      warnings.push(`${path.basename(file)}: kept ${res.framesKept} of ${res.framesInFile} frames (stride ${s.stride}${window})${res.spacingPs !== null ? `; spacing ${res.spacingPs} ps` : ''}`)
    }
    opts.onProgress?.({ file, bytesDone: bytesBefore, bytesTotal, frames: buffer?.frames ?? 0 })
  }
  if (opts.signal?.aborted) throw cancelledError(resolved[resolved.length - 1]!)
  const buf = buffer!
  return { topology: topology!, indices, coords: buf.result(), frames: buf.frames, atoms: buf.width / 3, sources, warnings }
}

/** step 3: centres the reference frame and superposes every frame on it (in place); mean and max RMSD */
function alignFrames(coords: Float32Array, F: number, N: number, ref: number, fileList: string, signal: AbortSignal | undefined): NonNullable<DatasetManifest['alignmentRmsd']> {
  const reference = coords.slice(ref * 3 * N, (ref + 1) * 3 * N)
  let cx = 0, cy = 0, cz = 0
  for (let i = 0; i < N; i++) {
    cx += reference[3 * i]!
    cy += reference[3 * i + 1]!
    cz += reference[3 * i + 2]!
  }
  cx /= N
  cy /= N
  cz /= N
  for (let i = 0; i < N; i++) {
    reference[3 * i]! -= cx
    reference[3 * i + 1]! -= cy
    reference[3 * i + 2]! -= cz
  }
  const aligner = new Aligner(reference, N)
  let sum = 0
  let max = 0
  for (let f = 0; f < F; f++) {
    if (signal?.aborted) throw cancelledError(fileList)
    const r = aligner.align(coords, f * 3 * N)
    sum += r
    if (r > max) max = r
  }
  return { mean: round6(sum / F), max: round6(max) }
}

/** step 4: finite coordinates, σ_data > 0; duplicate counts become warnings */
function checkSpread(coords: Float32Array, F: number, N: number, align: boolean, fileList: string, warnings: string[]): { stats: ReturnType<typeof coordinateStats>; dups: ReturnType<typeof findDuplicates> } {
  for (let k = 0; k < coords.length; k++) {
    if (!Number.isFinite(coords[k]!)) throw new UserError(`${fileList}: frame ${Math.floor(k / (3 * N))} has a non-finite coordinate after alignment`, 'parse')
  }
  const stats = coordinateStats(coords, F, N)
  if (!(stats.sigmaData > 0)) {
    throw new UserError(`${fileList}: all ${F} frames are identical${align ? ' after alignment' : ''} (σ_data = 0); a dataset needs snapshots that differ`, 'no-variance')
  }
  const dups = findDuplicates(coords, F, N, NEAR_DUPLICATE_RMSD)
  if (dups.exact > 0) warnings.push(`${dups.exact} of ${F} frames are exact duplicates of earlier frames`)
  if (dups.nearPairs > 0) warnings.push(`${dups.nearPairs} pairs of frames are near-duplicates (RMSD < ${NEAR_DUPLICATE_RMSD} Å)`)
  if (dups.capped) warnings.push(`near-duplicate search stopped after ${dups.comparisons} comparisons; the count is a lower bound`)
  return { stats, dups }
}

/** step 5: an id not yet used under datasets/ */
async function freshDatasetId(projectDir: string, baseName: string): Promise<string> {
  const dsDir = datasetsDir(projectDir)
  let id = ''
  for (let tries = 0; tries < 20; tries++) {
    id = `${slug(baseName)}-${randomBytes(3).toString('hex')}`
    if (!(await exists(path.join(dsDir, id)))) break
  }
  return id
}

/**
 * Imports PDB snapshot files as one dataset. Errors are one-line UserErrors naming the file and
 * (line or atom) and leave the project folder exactly as it was.
 * Steps: check the files, read them, align, check the spread, write the folder.
 */
export async function importDataset(projectDir: string, files: string[], opts: ImportOptions = {}): Promise<DatasetManifest> {
  if (files.length === 0) throw new UserError('dataset import: no input files; give one or more snapshot files (PDB, mmCIF, GRO, PQR, XYZ), or a trajectory (DCD, XTC, TRR) with its topology', 'bad-input')
  const selection = opts.select ?? 'all'
  checkSelection(selection, 'dataset import')
  const align = opts.align ?? true
  const maxBytes = opts.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES
  const resolved = files.map((f) => path.resolve(f))
  const sizes = await checkFiles(resolved, maxBytes)
  const read = await readAllFiles(resolved, selection, sizes.reduce((s, v) => s + v, 0), maxBytes, opts)
  const { topology: top, indices, coords, frames: F, atoms: N, sources, warnings } = read
  const fileList = resolved.length === 1 ? resolved[0]! : `${resolved[0]!} (+${resolved.length - 1} more)`
  if (F < MIN_FRAMES) {
    throw new UserError(`${fileList}: only ${F} frame; a dataset needs at least ${MIN_FRAMES} snapshots (give several PDB files or a multi-model PDB)`, 'too-few-frames')
  }
  const ref = opts.referenceFrame ?? 0
  if (!Number.isInteger(ref) || ref < 0 || ref >= F) {
    throw new UserError(`dataset import: reference frame ${ref} is out of range (the files hold frames 0–${F - 1})`, 'bad-input')
  }
  const alignmentRmsd = align ? alignFrames(coords, F, N, ref, fileList, opts.signal) : null
  const { stats, dups } = checkSpread(coords, F, N, align, fileList, warnings)

  // selected topology, reference coordinates
  const selIdx = indices ?? top.atoms.map((_, i) => i)
  const selTop: Topology = { atoms: selIdx.map((i) => ({ ...top.atoms[i]! })) }
  if (!align && top.cell) selTop.cell = top.cell
  if (align && top.cell) warnings.push('the unit cell (CRYST1) was dropped: aligned coordinates are rotated, so the cell no longer applies')

  const baseName = opts.name?.trim() || path.basename(resolved[0]!).replace(/\.(gz|bz2)$/i, '').replace(/\.(pdb|ent|cif|mmcif|gro|pqr|xyz|extxyz|arc|dcd|xtc|trr)$/i, '') + (resolved.length > 1 ? ` (+${resolved.length - 1} files)` : '')
  const id = await freshDatasetId(projectDir, baseName)
  const manifest: DatasetManifest = {
    format: 'diffmd-dataset',
    version: DATASET_MANIFEST_VERSION,
    id,
    name: baseName,
    created: new Date().toISOString(),
    appVersion: VERSION,
    sources,
    atoms: { count: N, selection, sourceCount: top.atoms.length, indices: selIdx },
    frames: F,
    dim: 3 * N,
    aligned: align,
    referenceFrame: ref,
    alignmentRmsd,
    sigmaData: stats.sigmaData,
    rmsf: Array.from(stats.rmsf, round6),
    meanStructure: Array.from(stats.mean, round6),
    duplicates: dups,
    coords: { file: 'coords.f32', dtype: 'float32', byteOrder: 'little', shape: [F, 3 * N] },
    topologyFile: 'topology.pdb',
    warnings,
  }
  const topologyText = writePdb(selTop, coords.subarray(ref * 3 * N, (ref + 1) * 3 * N), 1, {
    remarks: [
      `DiffMD Studio ${VERSION} dataset ${id} "${baseName}"`,
      `atoms: ${N} of ${top.atoms.length} (selection ${selection}); frames: ${F}`,
      align ? `coordinates: frame ${ref} (0-based) centred; every frame of coords.f32 is superposed on it` : `coordinates: frame ${ref} (0-based) as read, not aligned`,
      `sources: ${sources.map((s) => s.name).join(', ')}`,
    ],
  })

  if (opts.signal?.aborted) throw cancelledError(fileList)
  await writeDatasetFolder(projectDir, id, manifest, coords, topologyText)
  return manifest
}

/** writes into datasets/.tmp-<id>-<rand>/ and renames to datasets/<id>; on failure removes what it made */
async function writeDatasetFolder(projectDir: string, id: string, manifest: DatasetManifest, coords: Float32Array, topologyText: string): Promise<void> {
  const hadProject = await exists(projectDir)
  const dsDir = datasetsDir(projectDir)
  const hadDatasets = await exists(dsDir)
  const tmp = path.join(dsDir, `.tmp-${id}-${randomBytes(4).toString('hex')}`)
  try {
    await fs.mkdir(tmp, { recursive: true })
    const write = async (name: string, data: string | Uint8Array): Promise<void> => {
      const h = await fs.open(path.join(tmp, name), 'w')
      try {
        await h.writeFile(data)
        await h.sync()
      } finally {
        await h.close()
      }
    }
    await write('coords.f32', littleEndianBytes(coords))
    await write('topology.pdb', topologyText)
    await write('manifest.json', JSON.stringify(manifest, null, 2) + '\n')
    await fs.rename(tmp, path.join(dsDir, id))
  } catch (err) {
    await fs.rm(tmp, { recursive: true, force: true }).catch(() => {})
    if (!hadDatasets) await fs.rmdir(dsDir).catch(() => {})
    if (!hadProject) await fs.rmdir(projectDir).catch(() => {})
    throw writeError(err, path.join(dsDir, id), 'nothing was changed')
  }
}

async function readManifest(projectDir: string, id: string): Promise<DatasetManifest> {
  checkId(id)
  const file = path.join(datasetsDir(projectDir), id, 'manifest.json')
  let text: string
  try {
    text = await fs.readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new UserError(`dataset '${id}' not found in ${datasetsDir(projectDir)}`, 'not-found')
    throw new UserError(`${file}: cannot read (${(err as Error).message})`, 'io')
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw new UserError(`${file}: not valid JSON (${jsonSyntaxProblem(err, text)}); the dataset is damaged`, 'parse')
  }
  const parsed = datasetManifestSchema.safeParse(json)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new UserError(`${file}: not a dataset manifest (${issue ? `${issue.path.join('.')}: ${issue.message}` : 'invalid'})`, 'parse')
  }
  return parsed.data
}

/** manifests of all datasets of a project, oldest first; folders without a readable manifest are skipped */
export async function listDatasets(projectDir: string): Promise<DatasetManifest[]> {
  let entries: string[]
  try {
    entries = await fs.readdir(datasetsDir(projectDir))
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw new UserError(`${datasetsDir(projectDir)}: cannot list (${(err as Error).message})`, 'io')
  }
  const out: DatasetManifest[] = []
  for (const e of entries) {
    if (e.startsWith('.')) continue
    try {
      out.push(await readManifest(projectDir, e))
    } catch {
      // not a dataset folder (or damaged): readDataset reports the reason when asked for it
    }
  }
  out.sort((a, b) => (a.created < b.created ? -1 : a.created > b.created ? 1 : a.id.localeCompare(b.id)))
  return out
}

/** the manifest, the selected topology (reference coordinates) and all stored coordinates */
export async function readDataset(projectDir: string, id: string): Promise<Dataset> {
  const manifest = await readManifest(projectDir, id)
  const dir = path.join(datasetsDir(projectDir), id)
  const topoFile = path.join(dir, manifest.topologyFile)
  let topoText: string
  try {
    topoText = await fs.readFile(topoFile, 'latin1')
  } catch (err) {
    throw new UserError(`${topoFile}: cannot read (${(err as Error).message}); the dataset is damaged`, 'io')
  }
  const { topology } = readPdb(topoText, topoFile)
  const coordsFile = path.join(dir, manifest.coords.file)
  let bytes: Uint8Array
  try {
    bytes = await fs.readFile(coordsFile)
  } catch (err) {
    throw new UserError(`${coordsFile}: cannot read (${(err as Error).message}); the dataset is damaged`, 'io')
  }
  const [F, d] = manifest.coords.shape
  if (bytes.length !== F * d * 4) {
    throw new UserError(`${coordsFile}: ${bytes.length} bytes, expected ${F * d * 4} (${F} frames × ${d} coordinates × 4); the dataset is damaged`, 'parse')
  }
  if (topology.atoms.length * 3 !== d) {
    throw new UserError(`${topoFile}: ${topology.atoms.length} atoms but the manifest says ${d / 3}; the dataset is damaged`, 'parse')
  }
  return { manifest, topology, coords: fromLittleEndian(bytes) }
}

export async function renameDataset(projectDir: string, id: string, name: string): Promise<DatasetManifest> {
  const clean = name.trim()
  if (clean.length === 0 || clean.length > 200 || /[\r\n]/.test(clean)) throw new UserError(`dataset name must be 1–200 characters on one line (got '${name.slice(0, 40)}')`, 'bad-input')
  await readManifest(projectDir, id)
  const file = path.join(datasetsDir(projectDir), id, 'manifest.json')
  return withFileLock(file, async () => {
    const manifest = await readManifest(projectDir, id)
    const updated: DatasetManifest = { ...manifest, name: clean }
    await writeJsonAtomic(file, updated)
    return updated
  })
}

/** removes a dataset folder (renamed aside first, so a crash never leaves half a dataset under its id) */
export async function deleteDataset(projectDir: string, id: string): Promise<void> {
  await readManifest(projectDir, id)
  const dir = path.join(datasetsDir(projectDir), id)
  const aside = path.join(datasetsDir(projectDir), `.deleting-${id}-${randomBytes(4).toString('hex')}`)
  await fs.rename(dir, aside)
  await fs.rm(aside, { recursive: true, force: true })
}
