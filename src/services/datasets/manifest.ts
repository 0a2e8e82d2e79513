/**
 * `datasets/<id>/manifest.json`: what a dataset is, where it came from and its statistics.
 * Beside it: `coords.f32` (float32 little-endian, [frames, 3·atoms] row-major, the stored —
 * aligned unless `aligned` is false — coordinates of the selected atoms, Å) and `topology.pdb`
 * (the selected atoms at the reference frame's stored coordinates, = row `referenceFrame`).
 */
import { z } from 'zod'

export const DATASET_MANIFEST_VERSION = 1

export const datasetManifestSchema = z.object({
  format: z.literal('diffmd-dataset'),
  version: z.literal(DATASET_MANIFEST_VERSION),
  id: z.string().min(1),
  name: z.string(),
  /** ISO-8601 time of the import */
  created: z.string(),
  appVersion: z.string(),
  sources: z.array(
    z.object({
      /** absolute path at import time */
      path: z.string(),
      /** base name, for display */
      name: z.string(),
      /** size on disk (compressed size for .gz) */
      bytes: z.number(),
      /** sha256 of the bytes on disk, hex */
      sha256: z.string(),
      gzip: z.boolean(),
      /** frames (models) read from this file, in dataset order after the previous files' */
      frames: z.number(),
      /** docs/formats.md: 'topology' (of the trajectories; frames 0), 'trajectory' or 'snapshots' */
      role: z.enum(['snapshots', 'topology', 'trajectory']).optional(),
      /** content format (pdb, cif, gro, pqr, xyz, tinker, dcd, xtc, trr) and compression */
      format: z.string().optional(),
      compression: z.enum(['gzip', 'bzip2']).nullable().optional(),
      /** frames in the file before --stride/--begin/--end, and the time between kept frames (ps; null when unknown) */
      framesInFile: z.number().optional(),
      spacingPs: z.number().nullable().optional(),
    })
  ),
  atoms: z.object({
    /** selected atoms N */
    count: z.number(),
    /** the selection expression (docs/selection.md); the first versions wrote one of all, heavy, backbone, ca */
    selection: z.string(),
    /** atoms per model in the source files */
    sourceCount: z.number(),
    /** 0-based indices of the selected atoms in the source models */
    indices: z.array(z.number()),
  }),
  frames: z.number(),
  /** 3N */
  dim: z.number(),
  /** centred and Kabsch-superposed (all selected atoms, unit weights) on the centred reference frame */
  aligned: z.boolean(),
  /** 0-based index, across all source files in order, of the frame the others are aligned to */
  referenceFrame: z.number(),
  /** RMSD (Å) of each frame to the reference after superposition: mean and maximum (null when not aligned) */
  alignmentRmsd: z.object({ mean: z.number(), max: z.number() }).nullable(),
  /**
   * σ_data (Å) = sqrt( (1/(F·3N)) Σ_f Σ_k (x_{f,k} − m_k)² ), the RMS over all frames and all 3N
   * coordinates of the stored coordinates minus the mean structure m.
   */
  sigmaData: z.number(),
  /** per-atom RMSF_i = sqrt( (1/F) Σ_f |x_{f,i} − m_i|² ), Å, length N */
  rmsf: z.array(z.number()),
  /** mean structure m, Å, length 3N */
  meanStructure: z.array(z.number()),
  duplicates: z.object({
    /** frames bit-for-bit equal to an earlier frame */
    exact: z.number(),
    /** pairs of distinct frames with coordinate RMSD (stored coordinates, no re-fit) below thresholdA */
    nearPairs: z.number(),
    thresholdA: z.number(),
    comparisons: z.number(),
    /** true when the bounded search stopped early (nearPairs is then a lower bound) */
    capped: z.boolean(),
  }),
  coords: z.object({
    file: z.literal('coords.f32'),
    dtype: z.literal('float32'),
    byteOrder: z.literal('little'),
    shape: z.tuple([z.number(), z.number()]),
  }),
  topologyFile: z.literal('topology.pdb'),
  warnings: z.array(z.string()),
})

export type DatasetManifest = z.infer<typeof datasetManifestSchema>
