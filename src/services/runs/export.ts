/**
 * run.export: the stored frames of a run written as multi-model PDB, DCD (+ topology PDB) or XYZ
 * into `runs/<id>/exports/`, through the exports service (writeTrajectory), with provenance.
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { UserError } from '../../core/errors'
import { readPdb } from '../../core/formats/pdb'
import type { Trajectory } from '../../core/trajectory'
import { VERSION } from '../../core/version'
import { writeTrajectory } from '../exports/write-trajectory'
import { readRunFrames, readRunTopology } from './store'

export type ExportFormat = 'pdb' | 'dcd' | 'xyz'

export interface ExportResult {
  /** every file written (a DCD comes with its topology PDB) */
  paths: string[]
  /** the main file (the trajectory) */
  path: string
  frames: number
  replicas: number
}

function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 60) || 'run'
}

/** time-major [F, R·d] → replica-major Trajectory data [R, F, d] */
export function toTrajectory(rows: Float32Array, frames: number, replicas: number, dim: number, meta: Record<string, unknown>): Trajectory {
  const data = new Float32Array(replicas * frames * dim)
  for (let f = 0; f < frames; f++) {
    for (let r = 0; r < replicas; r++) {
      const src = (f * replicas + r) * dim
      data.set(rows.subarray(src, src + dim), (r * frames + f) * dim)
    }
  }
  return { meta, replicas, frames, dim, data }
}

export async function exportRun(home: string, projectId: string, runId: string, format: ExportFormat, replica?: number): Promise<ExportResult> {
  const { meta, count, bytes } = await readRunFrames(home, projectId, runId)
  if (count === 0) throw new UserError(`run ${meta.name}: no frames stored yet; run the sampler first`, 'empty')
  const R = meta.params.replicas
  if (replica !== undefined && (!Number.isInteger(replica) || replica < 0 || replica >= R)) {
    throw new UserError(`run ${meta.name}: replica ${replica} does not exist (the run has replicas 0…${R - 1})`, 'bad-request')
  }
  const rows = new Float32Array(bytes.slice().buffer)
  const provenance: Record<string, unknown> = {
    software: `DiffMD Studio ${VERSION}`,
    run: meta.id,
    runName: meta.name,
    model: meta.modelName,
    modelId: meta.modelId,
    dataset: meta.datasetName,
    created: meta.created,
    status: meta.status,
    framesStored: count,
    frameIntervalPs: meta.params.dtPerFrame,
    ...meta.params,
    backendUsed: meta.backendUsed,
    eta_A2: meta.derived.eta,
    sigmaK_A: meta.derived.sigmaK,
    k_per_A2: meta.derived.k,
    dtStep_ps: meta.derived.dtStep,
    dt_reduced: meta.derived.dtReduced,
  }
  const traj = toTrajectory(rows, count, R, meta.dim, provenance)
  const topologyText = await readRunTopology(home, projectId, runId)
  const topology = readPdb(topologyText, path.join(meta.path, 'topology.pdb')).topology
  if (topology.atoms.length * 3 !== meta.dim) {
    throw new UserError(`run ${meta.name}: topology.pdb has ${topology.atoms.length} atoms but the frames have ${meta.dim / 3}; the run folder was changed by hand`, 'mismatch')
  }
  const dir = path.join(meta.path, 'exports')
  await fs.mkdir(dir, { recursive: true })
  const base = `${safeName(meta.name)}${replica !== undefined ? `_r${replica}` : ''}`
  const file = path.join(dir, `${base}.${format}`)
  const opts = replica !== undefined ? { topology, replica, provenance } : { topology, provenance }
  const paths = await writeTrajectory(file, traj, opts)
  return { paths, path: paths.find((p) => p.endsWith(`.${format}`)) ?? file, frames: count, replicas: replica !== undefined ? 1 : R }
}
