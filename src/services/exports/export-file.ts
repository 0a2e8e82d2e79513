/**
 * File-to-file conversion for `diffmd export`: reads a trajectory (.json of diffmd simulate, .dcd,
 * .xyz or multi-model .pdb; gzip allowed; the format is sniffed from the content), takes atom names
 * from a topology PDB, and writes it with writeTrajectory.
 *
 * Replicas survive the round trip: a DCD written by writeTrajectory carries `replicas=R frames=F`
 * in its titles and an XYZ carries `replica=r` in each comment; other DCD/XYZ/PDB inputs are one
 * replica.
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { UserError } from '../../core/errors'
import type { Topology } from '../../core/topology'
import { select } from '../../core/selection'
import { checkSelection } from '../datasets/selection'
import { trajectoryFromJson, type Trajectory } from '../../core/trajectory'
import { readPdb } from '../../core/formats/pdb'
import { readDcd } from '../../core/formats/dcd'
import { readXyz, parseXyzComment } from '../../core/formats/xyz'
import { maybeGunzip } from '../../core/formats/gzip'
import { describeSniff, sniffBytes } from '../../core/formats/detect'
import { EXPORT_FORMATS, formatOfFile, writeTrajectory, type ExportFormat } from './write-trajectory'

async function readBytes(file: string): Promise<Uint8Array> {
  try {
    return await fs.readFile(file)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') throw new UserError(`${file}: no such file`, 'not-found')
    if (code === 'EISDIR') throw new UserError(`${file}: is a directory, not a file`, 'bad-input')
    throw new UserError(`${file}: cannot read (${(err as Error).message})`, 'io')
  }
}

function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1')
}

export interface LoadedTrajectory {
  trajectory: Trajectory
  /** atoms the input itself names (PDB input, or XYZ symbols) */
  topology?: Topology
  warnings: string[]
}

/** reads a trajectory file of any supported kind (sniffed from content) */
export async function loadTrajectoryFile(file: string): Promise<LoadedTrajectory> {
  const bytes = maybeGunzip(await readBytes(file), file)
  const kind = sniffBytes(bytes.subarray(0, 4096))
  if (kind === 'json') {
    return { trajectory: trajectoryFromJson(new TextDecoder().decode(bytes), file), warnings: [] }
  }
  if (kind === 'dcd') {
    const dcd = readDcd(bytes, file)
    let replicas = 1
    for (const t of dcd.header.titles) {
      const m = /replicas=(\d+) frames=(\d+)/.exec(t)
      if (m && Number(m[1]) * Number(m[2]) === dcd.nFrames && Number(m[1]) > 0) replicas = Number(m[1])
    }
    const meta: Record<string, unknown> = { source: path.basename(file) }
    if (dcd.header.frameIntervalPs > 0) meta.frameIntervalPs = +dcd.header.frameIntervalPs.toPrecision(7)
    return { trajectory: { meta, replicas, frames: dcd.nFrames / replicas, dim: 3 * dcd.nAtoms, data: dcd.frames }, warnings: dcd.warnings }
  }
  if (kind === 'xyz') {
    const xyz = readXyz(latin1(bytes), file)
    const reps = xyz.comments.map((c) => parseXyzComment(c).replica)
    let replicas = 1
    if (reps.every((r) => r !== undefined && /^\d+$/.test(r))) {
      const ids = reps.map(Number)
      const distinct = new Set(ids).size
      const per = xyz.nFrames / distinct
      const ordered = Number.isInteger(per) && ids.every((r, i) => r === ids[Math.floor(i / per) * per])
      if (distinct > 1 && ordered) replicas = distinct
    }
    const topology: Topology = {
      atoms: xyz.symbols.map((s, i) => ({ record: 'HETATM' as const, serial: i + 1, name: s.slice(0, 4), altLoc: '', resName: 'UNK', chainId: 'A', resSeq: 1, iCode: '', occupancy: 1, bFactor: 0, element: s })),
    }
    return { trajectory: { meta: { source: path.basename(file) }, replicas, frames: xyz.nFrames / replicas, dim: 3 * xyz.nAtoms, data: xyz.frames }, topology, warnings: [] }
  }
  if (kind === 'pdb') {
    const pdb = readPdb(latin1(bytes), file)
    return { trajectory: { meta: { source: path.basename(file) }, replicas: 1, frames: pdb.nFrames, dim: 3 * pdb.topology.atoms.length, data: pdb.frames }, topology: pdb.topology, warnings: pdb.warnings }
  }
  throw new UserError(`${file}: looks like ${describeSniff(kind)}; expected a trajectory (.json from diffmd simulate, .dcd, .xyz or multi-model .pdb)`, 'format')
}

/** the first model's atoms of a PDB file */
export async function loadTopologyPdb(file: string): Promise<Topology> {
  const bytes = maybeGunzip(await readBytes(file), file)
  return readPdb(latin1(bytes), file).topology
}

/**
 * Converts `inFile` to `format` at `outFile` (the extension of outFile must match the format).
 * `topologyPdb` names the atoms; without it PDB input and XYZ symbols are used, else dummy atoms.
 * Returns the files written.
 */
export async function exportTrajectoryFile(
  inFile: string,
  topologyPdb: string | undefined,
  format: ExportFormat,
  outFile: string,
  /** select: write only these atoms, a selection expression (docs/selection.md); needs named atoms */
  opts: { replica?: number; provenance?: Record<string, unknown>; select?: string } = {}
): Promise<string[]> {
  if (!EXPORT_FORMATS.includes(format)) throw new UserError(`export: format '${String(format)}' is not one of ${EXPORT_FORMATS.join(', ')}`, 'bad-flag')
  const outFormat = formatOfFile(outFile)
  if (outFormat !== format) throw new UserError(`${outFile}: the output name must end in .${format} for --format ${format}`, 'bad-flag')
  if (path.resolve(inFile) === path.resolve(outFile)) throw new UserError(`${outFile}: the output would overwrite the input; choose another name`, 'bad-flag')
  const loaded = await loadTrajectoryFile(inFile)
  let topology = loaded.topology
  if (topologyPdb) {
    topology = await loadTopologyPdb(topologyPdb)
    const need = loaded.trajectory.dim
    if (3 * topology.atoms.length !== need) {
      throw new UserError(
        `${topologyPdb}: ${topology.atoms.length} atoms, but ${path.basename(inFile)} has ${need} coordinates per frame (${need % 3 === 0 ? need / 3 + ' atoms' : 'not a multiple of 3'}); give the topology of the same atoms`,
        'topology-mismatch'
      )
    }
  }
  let trajectory = loaded.trajectory
  if (opts.select !== undefined) {
    checkSelection(opts.select, 'export: --select')
    if (!topology) throw new UserError(`export: --select needs atom names; ${path.basename(inFile)} has none (give --topology REF.pdb)`, 'bad-flag')
    const picked = select(topology, opts.select)
    if (picked.length === 0) throw new UserError(`export: --select '${opts.select}' selects no atom of ${topology.atoms.length}`, 'bad-flag')
    const d = trajectory.dim
    const rows = trajectory.replicas * trajectory.frames
    const data = new Float32Array(rows * 3 * picked.length)
    for (let r = 0; r < rows; r++) {
      for (let k = 0; k < picked.length; k++) {
        const from = r * d + 3 * picked[k]!
        data.set(trajectory.data.subarray(from, from + 3), (r * picked.length + k) * 3)
      }
    }
    trajectory = { ...trajectory, dim: 3 * picked.length, data }
    topology = { ...topology, atoms: picked.map((i) => topology!.atoms[i]!) }
  }
  const provenance = { source: path.resolve(inFile), ...(topologyPdb ? { topology: path.resolve(topologyPdb) } : {}), ...(opts.select !== undefined ? { selection: opts.select } : {}), ...(opts.provenance ?? {}) }
  return writeTrajectory(outFile, trajectory, { topology, replica: opts.replica, provenance })
}
