/** API schemas of models (model.*): the registry of score models (model.onnx + card.json) of a project. */
import { z } from 'zod'
import { base64, id } from './runs'

/** The model card as the renderer uses it; everything else on the card passes through unchanged. */
export const ModelCard = z
  .object({
    name: z.string(),
    dim: z.number(),
    /** absent on cards of imported third-party models */
    sigmaData: z.number().optional(),
    sigmaRange: z.tuple([z.number(), z.number()]).optional(),
    temperature: z.number().optional(),
    architecture: z.object({ arch: z.string() }).passthrough(),
    data: z.object({ datasetId: z.string().optional(), frames: z.number().optional() }).passthrough(),
    createdAt: z.string(),
  })
  .passthrough()
export type ModelCard = z.infer<typeof ModelCard>

export const LossPoint = z.object({ step: z.number(), loss: z.number(), valLoss: z.number().optional() })

export const ModelSummary = z.object({
  id: z.string(),
  name: z.string(),
  created: z.string(),
  sizeBytes: z.number(),
  card: ModelCard,
  /** the training loss curve, when the model was trained in the app */
  lossHistory: z.array(LossPoint).optional(),
})
export type ModelSummary = z.infer<typeof ModelSummary>

export const TrainPreset = z.enum(['tiny', 'small', 'default'])
export type TrainPreset = z.infer<typeof TrainPreset>

export const TrainProgress = z.object({
  jobId: z.string(),
  projectId: z.string(),
  step: z.number(),
  steps: z.number(),
  loss: z.number(),
  valLoss: z.number().nullable(),
  samplesPerSec: z.number(),
  etaSeconds: z.number(),
})
export type TrainProgress = z.infer<typeof TrainProgress>

export const TrainJob = z.object({
  jobId: z.string(),
  projectId: z.string(),
  datasetId: z.string(),
  name: z.string(),
  preset: TrainPreset,
  steps: z.number(),
  seed: z.number(),
  started: z.string(),
  state: z.enum(['running', 'done', 'failed', 'cancelled']),
  /** the loss curve so far (a page reload re-attaches to a running job) */
  points: z.array(LossPoint),
  last: TrainProgress.nullable(),
  modelId: z.string().nullable(),
  error: z.string().nullable(),
})
export type TrainJob = z.infer<typeof TrainJob>

export const modelContract = {
  'model.list': { input: z.object({ projectId: id }).strict(), output: z.array(ModelSummary) },
  'model.train': {
    input: z
      .object({
        projectId: id,
        datasetId: id,
        preset: TrainPreset,
        /** optimiser steps (default: the preset's) */
        steps: z.number().int().min(1).max(10_000_000).optional(),
        seed: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
        name: z.string().trim().max(200).optional(),
        /** the recipe (docs/training.md; absent: the default recipe of `diffmd train`) */
        arch: z.enum(['score-mlp', 'energy-mlp']).optional(),
        /** weight of the heat-equation consistency term (energy-mlp; 0 = off) */
        consistency: z.number().min(0).max(1000).optional(),
        /** decay of the weight EMA that is exported (0 = off) */
        ema: z.number().min(0).lt(1).optional(),
        /** an ensemble of this many members, seeds S … S+K−1 (docs/training.md "Ensembles"; default 1) */
        members: z.number().int().min(1).max(16).optional(),
      })
      .strict(),
    output: TrainJob,
  },
  'model.jobs': { input: z.object({ projectId: id.optional() }).strict(), output: z.array(TrainJob) },
  'model.cancel': { input: z.object({ jobId: id }).strict(), output: z.object({ cancelled: z.boolean() }) },
  'model.card': { input: z.object({ projectId: id, modelId: id }).strict(), output: ModelCard },
  'model.import': {
    input: z
      .object({
        projectId: id,
        /** an ONNX score model: inputs x[B,d], sigma[B]; output score[B,d] (or energy[B]) */
        onnxPath: z.string().min(1),
        /** its card (optional for a DiffMD model whose card sits beside it as card.json) */
        cardPath: z.string().min(1).optional(),
        name: z.string().trim().max(200).optional(),
      })
      .strict(),
    output: ModelSummary,
  },
  'model.rename': { input: z.object({ projectId: id, modelId: id, name: z.string().trim().min(1).max(200) }).strict(), output: ModelSummary },
  'model.delete': { input: z.object({ projectId: id, modelId: id }).strict(), output: z.object({ deleted: z.string() }) },
  /** model.onnx bytes for the renderer's onnxruntime-web session (works over IPC and HTTP alike) */
  'model.bytes': { input: z.object({ projectId: id, modelId: id }).strict(), output: z.object({ base64, card: ModelCard }) },
} as const
