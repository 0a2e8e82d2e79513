/**
 * cluster.*: the Sample panel's "Run on a cluster…" (docs/cluster.md "From the app"): write the
 * chosen settings as a Slurm job folder, and open a finished job folder as a run.
 */
import { z } from 'zod'
import { idSchema } from './ids'
import { RunParamsSchema } from './run-params'
import { RunSummary } from './runs'

const id = idSchema
const folder = z.string().trim().min(1).max(4096)

export const clusterContract = {
  'cluster.writeJob': {
    input: z
      .object({
        projectId: id,
        modelId: id,
        datasetId: id,
        params: RunParamsSchema,
        folder,
        replicaBlocks: z.number().int().min(1).max(100_000).optional(),
        throttle: z.number().int().min(1).max(100_000).optional(),
      })
      .strict(),
    output: z.object({ folder: z.string(), script: z.string(), shards: z.number(), command: z.string() }),
  },
  'cluster.openJob': { input: z.object({ projectId: id, folder }).strict(), output: RunSummary },
} as const
