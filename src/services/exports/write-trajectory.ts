/**
 * Writes a trajectory to a file chosen by extension (.pdb multi-model, .dcd + topology .pdb, .xyz, .json).
 * Owned by the molecular-data work; placeholder until it lands.
 */
import type { Trajectory } from '../../core/trajectory'
import type { Topology } from '../../core/topology'
import { UserError } from '../../core/errors'

export interface WriteTrajectoryOptions {
  /** topology for PDB/DCD/XYZ atom names; analytic systems have none (XYZ then uses 'X' atoms, 3 coordinates each, zero-padded) */
  topology?: Topology
  /** only this replica (default: all) */
  replica?: number
  /** provenance for REMARK lines and the sidecar JSON */
  provenance?: Record<string, unknown>
}

export async function writeTrajectory(file: string, _t: Trajectory, _opts: WriteTrajectoryOptions = {}): Promise<string[]> {
  throw new UserError(`${file}: writing this format is not available in this build yet; use .json`, 'unavailable')
}
