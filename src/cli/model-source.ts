/**
 * Opens a learned model for `diffmd simulate --model FILE` (owned by the model-engine work; placeholder).
 */
import type { ScoreModel } from '../core/score/types'
import type { Topology } from '../core/topology'
import { UserError } from '../core/errors'

export interface CliModelOptions {
  model: string
  topology?: string
  init?: string
  align: boolean
}

export interface CliModel {
  model: ScoreModel
  /** pool of starting frames [n, d] (replicas start from frames drawn from it) */
  initPool: Float32Array
  topology?: Topology
  card: Record<string, unknown>
  trustRegion?: { mean: Float32Array; scale: Float32Array; radius: number }
  dispose(): Promise<void>
}

export async function openModelForCli(opts: CliModelOptions): Promise<CliModel> {
  throw new UserError(`simulate: --model ${opts.model}: learned models are not available in this build yet`, 'unavailable')
}
