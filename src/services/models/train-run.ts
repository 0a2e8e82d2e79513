/**
 * One training job from start to ONNX bytes, runtime injected: resumes from a checkpoint file
 * when asked, writes a checkpoint file after every validation (atomically), exports the kept
 * parameters. Run inside the training worker (train-worker.ts) or in-process.
 */
import { promises as fs } from 'node:fs'
import { UserError } from '../../core/errors'
import { VERSION } from '../../core/version'
import { trainModel, type TrainData, type TrainOptions, type TrainProgress, type TrainResult } from '../../core/nn/trainer'
import { decodeTrainCheckpoint, encodeTrainCheckpoint } from '../../core/nn/checkpoint'
import { exportModelBytes } from '../../core/nn/export'
import type { OrtRuntime } from '../../core/nn/runtime'
import { writeFileAtomic } from '../fs/atomic'

export interface TrainJobInput {
  data: TrainData
  options: TrainOptions
  /** written (atomically) after every validation and at the end */
  checkpointFile?: string
  /** continue this checkpoint (same data and options; `options.steps` may be larger) */
  resumeFile?: string
}

export type TrainSummary = Omit<TrainResult, 'checkpoint'>

export interface TrainJobOutput {
  result: TrainSummary
  /** the exported model (kept parameters), even when cancelled */
  onnx: Uint8Array
}

export interface TrainRunHooks {
  onProgress?(p: TrainProgress): void
  onLog?(line: string): void
  shouldStop?(): boolean
}

export async function runTrainingJob(ort: OrtRuntime, input: TrainJobInput, hooks: TrainRunHooks = {}): Promise<TrainJobOutput> {
  let resume
  if (input.resumeFile) {
    let bytes: Uint8Array
    try {
      bytes = await fs.readFile(input.resumeFile)
    } catch (err) {
      throw new UserError(`${input.resumeFile}: cannot read the checkpoint (${(err as Error).message})`, 'not-found')
    }
    try {
      resume = decodeTrainCheckpoint(bytes, input.resumeFile)
    } catch (err) {
      throw new UserError((err as Error).message, 'parse')
    }
  }
  let result: TrainResult
  try {
    result = await trainModel(
      ort,
      input.data,
      input.options,
      {
        onProgress: hooks.onProgress,
        onLog: hooks.onLog,
        shouldStop: hooks.shouldStop,
        onCheckpoint: input.checkpointFile ? (ck) => writeFileAtomic(input.checkpointFile!, encodeTrainCheckpoint(ck)) : undefined,
      },
      resume
    )
  } catch (err) {
    if (err instanceof RangeError) throw new UserError(err.message.replace(/^train: /, 'train: '), 'bad-param')
    throw err
  }
  const { checkpoint: _ck, ...summary } = result
  const onnx = exportModelBytes(result.arch, result.params, result.stats, { producerVersion: VERSION })
  return { result: summary, onnx }
}
