/**
 * run.export: the stored frames of a run written as multi-model PDB, DCD (+ topology NAME.top.pdb)
 * or XYZ into `runs/<id>/exports/`, through the exports service, with provenance beside each file.
 *
 * What is written (NAME = the run's name, file-name safe):
 *   one replica r                 NAME_r<r>.<ext>
 *   all replicas, 'per-replica'   NAME_r0.<ext>, NAME_r1.<ext>, … (the default: each file is one
 *                                 continuous trajectory, as MD tools assume)
 *   all replicas, 'concatenated'  NAME_concatenated.<ext>, the replicas one after another, marked
 *                                 as such in the file and its provenance (replica boundaries)
 * An export never replaces a file: when a name of the set exists, the set gets -2, -3, … so every
 * provenance sidecar keeps describing its own file.
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { UserError } from '../../core/errors'
import { readPdb } from '../../core/formats/pdb'
import type { Trajectory } from '../../core/trajectory'
import { VERSION } from '../../core/version'
import { freeSuffix, topologyFileOf, writeTrajectorySet, type TrajectoryFilePlan } from '../exports/write-trajectory'
import { readRunFrames, readRunTopology } from './store'
import { calibratedTimeBandPct } from '../../core/selfcheck/time-calibration'

export type ExportFormat = 'pdb' | 'dcd' | 'xyz' | 'xtc'
/** how all replicas are written: one file each (default) or one concatenated file */
export type ExportLayout = 'per-replica' | 'concatenated'

export interface ExportResult {
  /** every file written (a DCD comes with its topology PDB) */
  paths: string[]
  /** the main file (the first trajectory file) */
  path: string
  /** the trajectory files (one per replica for 'per-replica') */
  trajectories: string[]
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

/** the files an export would write for a name suffix ('' or '-2', …) */
function exportPlan(dir: string, stem: string, format: ExportFormat, replicas: number, replica: number | undefined, layout: ExportLayout) {
  return (suffix: string): { plans: TrajectoryFilePlan[]; topologyFile?: string } => {
    let plans: TrajectoryFilePlan[]
    let topStem: string
    if (replica !== undefined) {
      topStem = `${stem}_r${replica}${suffix}`
      plans = [{ file: path.join(dir, `${topStem}.${format}`), replicas: [replica] }]
    } else if (layout === 'concatenated') {
      topStem = `${stem}_concatenated${suffix}`
      plans = [{ file: path.join(dir, `${topStem}.${format}`), replicas: Array.from({ length: replicas }, (_, r) => r) }]
    } else {
      topStem = `${stem}${suffix}`
      plans = Array.from({ length: replicas }, (_, r) => ({ file: path.join(dir, `${stem}${suffix}_r${r}.${format}`), replicas: [r] }))
    }
    return format === 'dcd' || format === 'xtc' ? { plans, topologyFile: topologyFileOf(path.join(dir, `${topStem}.${format}`)) } : { plans }
  }
}

export async function exportRun(home: string, projectId: string, runId: string, format: ExportFormat, replica?: number, layout: ExportLayout = 'per-replica'): Promise<ExportResult> {
  const { meta, count, bytes } = await readRunFrames(home, projectId, runId)
  if (count === 0) throw new UserError(`run ${meta.name}: no frames stored yet; run the sampler first`, 'empty')
  const R = meta.params.replicas
  if (replica !== undefined && (!Number.isInteger(replica) || replica < 0 || replica >= R)) {
    throw new UserError(`run ${meta.name}: replica ${replica} does not exist (the run has replicas 0…${R - 1})`, 'bad-request')
  }
  const rows = new Float32Array(bytes.slice().buffer)
  const { timeCalibration: _cal, ...paramsWithoutCalibration } = meta.params
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
    ...paramsWithoutCalibration,
    backendUsed: meta.backendUsed,
    eta_A2: meta.derived.eta,
    sigmaK_A: meta.derived.sigmaK,
    k_per_A2: meta.derived.k,
    dtStep_ps: meta.derived.dtStep,
    dt_reduced: meta.derived.dtReduced,
    // calibrated time: each step's width is that of a shorter uncalibrated step (docs/self-check.md "Calibrated time")
    ...(meta.params.timeCalibration && meta.derived.calibration
      ? { timeCalibration: `calibrated by the model's self-check of ${meta.params.timeCalibration.checkedOn}: each ${Number(meta.derived.dtStep.toPrecision(4))}-ps step is as wide as an uncalibrated ${Number(meta.derived.calibration.nominalDtPs.toPrecision(4))}-ps one (time ± ${calibratedTimeBandPct(meta.derived.calibration.lnTimeSe)} %, 2 σ)` }
      : {}),
    // the model's self-check on this Δt when the run was made (docs/self-check.md "Using the verdict")
    ...(meta.selfCheck ? { selfCheck: meta.selfCheck.outside ? `not vouched for: ${meta.selfCheck.line ?? ''}` : `vouched for (recommended Δt ${meta.selfCheck.recommendedDtPs} ps, checked ${meta.selfCheck.checkedOn})` } : {}),
  }
  const traj = toTrajectory(rows, count, R, meta.dim, provenance)
  const topologyText = await readRunTopology(home, projectId, runId)
  const topology = readPdb(topologyText, path.join(meta.path, 'topology.pdb')).topology
  if (topology.atoms.length * 3 !== meta.dim) {
    throw new UserError(`run ${meta.name}: topology.pdb has ${topology.atoms.length} atoms but the frames have ${meta.dim / 3}; the run folder was changed by hand`, 'mismatch')
  }
  const dir = path.join(meta.path, 'exports')
  await fs.mkdir(dir, { recursive: true })
  const planFor = exportPlan(dir, safeName(meta.name), format, R, replica, layout)
  const names = (suffix: string): string[] => {
    const p = planFor(suffix)
    return [...p.plans.flatMap((x) => [x.file, `${x.file}.provenance.json`]), ...(p.topologyFile ? [p.topologyFile] : [])]
  }
  const { plans, topologyFile } = planFor(await freeSuffix(names))
  const paths = await writeTrajectorySet(traj, format, plans, { topology, provenance, noClobber: true, ...(topologyFile ? { topologyFile } : {}) })
  const trajectories = plans.map((p) => p.file)
  return { paths, path: trajectories[0]!, trajectories, frames: count, replicas: replica !== undefined ? 1 : R }
}
