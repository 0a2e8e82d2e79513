/** API schemas of datasets (dataset.*): parsed, checked, aligned PDB snapshots stored in a project. */
import { z } from 'zod'
import { base64, id } from './runs'

/**
 * The dataset manifest as the renderer sees it: the fields the UI uses are checked, everything else
 * the datasets service writes (sources, statistics, …) passes through unchanged.
 */
export const DatasetManifest = z
  .object({
    id: z.string(),
    name: z.string(),
    created: z.string(),
    frames: z.number(),
    dim: z.number(),
    aligned: z.boolean(),
    sigmaData: z.number(),
    atoms: z.object({ count: z.number(), selection: z.string(), sourceCount: z.number() }).passthrough(),
    sources: z.array(z.object({ path: z.string(), name: z.string(), bytes: z.number(), frames: z.number() }).passthrough()),
    warnings: z.array(z.string()),
  })
  .passthrough()
export type DatasetManifest = z.infer<typeof DatasetManifest>

export const DatasetSummary = DatasetManifest.and(z.object({ sizeBytes: z.number(), hasReference: z.boolean() }))
export type DatasetSummary = z.infer<typeof DatasetSummary>

/** a selection expression (docs/selection.md): all, heavy, backbone, ca, or e.g. 'protein and not hydrogen'; parsed by the import */
export const Selection = z.string().min(1).max(1000)

/** one file that could not be imported: the message is one line naming the file and what to do */
export const FileError = z.object({ path: z.string(), message: z.string() })

/**
 * Reference observables of a dataset (e.g. the ala2 example's GROMACS Brownian-dynamics reference):
 * ACFs per observable with their lag grid, τ_int, Ramachandran histogram, basin populations.
 * Free-form beyond `source`, so references from other tools can carry what they have.
 */
export const DatasetReference = z.record(z.string(), z.unknown())

export const datasetContract = {
  'dataset.list': { input: z.object({ projectId: id }).strict(), output: z.array(DatasetSummary) },
  'dataset.import': {
    input: z
      .object({
        projectId: id,
        /** absolute paths (Electron: the dropped files; browser mode: the paths /api/upload returned) */
        paths: z.array(z.string().min(1)).min(1).max(10_000),
        select: Selection.default('all'),
        name: z.string().trim().max(200).optional(),
        /** names the import in progress events and dataset.cancelImport: an id from dataset.prepareImport (the server chooses it), or none */
        importId: id.optional(),
        /** docs/formats.md: the topology of DCD/XTC/TRR paths (default: the one structure file among paths) */
        top: z.string().min(1).optional(),
        /** keep every stride-th trajectory frame of those in [beginPs, endPs] */
        stride: z.number().int().min(1).max(1_000_000_000).optional(),
        beginPs: z.number().finite().optional(),
        endPs: z.number().finite().optional(),
      })
      .strict(),
    /** manifest: the new dataset, or null when a file could not be imported (errors says which and why) */
    output: z.object({ manifest: DatasetSummary.nullable(), errors: z.array(FileError) }),
  },
  /** a fresh import id chosen by the server, for one dataset.import (expires after 10 minutes unused) */
  'dataset.prepareImport': { input: z.object({}).strict(), output: z.object({ importId: id }) },
  'dataset.cancelImport': { input: z.object({ importId: id }).strict(), output: z.object({ cancelled: z.boolean() }) },
  'dataset.get': {
    input: z
      .object({
        projectId: id,
        datasetId: id,
        /** include the coordinates (default true) */
        coords: z.boolean().optional(),
      })
      .strict(),
    /** coordsBase64: [frames, 3N] little-endian float32 (Å), empty when coords = false */
    output: z.object({ manifest: DatasetSummary, topologyPdb: z.string(), coordsBase64: base64 }),
  },
  'dataset.reference': {
    input: z.object({ projectId: id, datasetId: id }).strict(),
    output: z.object({ reference: DatasetReference.nullable() }),
  },
  'dataset.rename': { input: z.object({ projectId: id, datasetId: id, name: z.string().trim().min(1).max(200) }).strict(), output: DatasetSummary },
  'dataset.delete': { input: z.object({ projectId: id, datasetId: id }).strict(), output: z.object({ deleted: z.string() }) },
} as const
