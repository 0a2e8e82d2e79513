/**
 * Running the self-check (docs/self-check.md) on a model file: opens it with onnxruntime-node,
 * loads its training snapshots (the card's sources, or `data`), runs src/core/selfcheck, and stores
 * the summary (verdict, recommended Δt) in the model's card, atomically, so the Sample panel can
 * default to the recommended Δt. Used by `diffmd check` and the models API.
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { availableParallelism } from 'node:os'
import { UserError } from '../../core/errors'
import type { ModelCard, SelfCheckSummary } from '../../core/nn/card'
import type { SamplerMode } from '../../core/sampler/params'
import { commonFramePs, runSelfCheck, SELF_CHECK_DEFAULTS, type SelfCheckHooks, type SelfCheckOptions, type SelfCheckReport } from '../../core/selfcheck/self-check'
import { IID_CHUNK } from '../../core/selfcheck/plan'
import { worstJsd } from '../../core/selfcheck/compare'
import { findCard, openModelFile, trustRegionOf } from './open'
import { RunPool, findRunWorker } from './run-pool'
import { alignFrames, loadTrainingFrames } from './training-data'
import { writeJsonAtomic } from '../fs/atomic'

export interface SelfCheckRequest {
  modelFile: string
  /** snapshots file; default: the card's training sources */
  data?: string
  /**
   * the snapshots themselves, [n, dim] (e.g. a project dataset's coords.f32: its selected atoms,
   * aligned on the dataset's reference); aligned here on the model's reference when the card says
   * aligned. Takes precedence over `data`.
   */
  snapshots?: Float32Array
  diffusion: number
  dtPs?: number[]
  framePs?: number
  countingPs?: number
  nsPerReplica?: number
  replicas?: number
  /** default: the larger of replicas and SELF_CHECK_DEFAULTS.maxReplicas */
  maxReplicas?: number
  mode?: SamplerMode
  denoiseSteps?: number
  sigmaMin?: number
  seed?: number
  iidSamples?: number
  iidSteps?: number
  /** integrator-resolution factor (SelfCheckOptions.resolution; default SELF_CHECK_DEFAULTS.resolution, 1 = off) */
  resolution?: number
  /** write the summary into the model's card (default true) */
  save?: boolean
  /**
   * cores to use (default: every core): runs go side by side in that many worker threads, each with
   * its own session (run-pool.ts); 1 runs everything on this thread. The report is the same either way.
   */
  threads?: number
}

export function summaryOf(report: SelfCheckReport, createdAt: string): SelfCheckSummary {
  const o = report.options
  return {
    createdAt,
    diffusion: o.diffusion,
    mode: o.mode,
    denoiseSteps: o.denoiseSteps,
    sigmaMin: o.sigmaMin,
    replicas: o.replicas,
    replicasUsed: report.replicasUsed,
    nsPerReplica: o.nsPerReplica,
    perDt: report.perDt.map((r) => ({
      dtPs: r.dtPs,
      equilibriumOk: report.verdict.equilibriumOk.includes(r.dtPs),
      ...(report.verdict.equilibriumUnresolved?.includes(r.dtPs) ? { equilibriumUnresolved: true } : {}),
      kineticsOk: report.verdict.kineticsOk.includes(r.dtPs),
      jsd: worstJsd(r.equilibrium).jsd,
      ...(r.acceptance !== undefined ? { acceptance: r.acceptance } : {}),
      ...(r.timescale ? { timescaleError: r.timescale.error, timescaleSe: r.timescale.se } : {}),
    })),
    ...(report.verdict.recommendedDtPs !== undefined ? { recommendedDtPs: report.verdict.recommendedDtPs } : {}),
    ...(report.verdict.recommendedDenoiseSteps !== undefined ? { recommendedDenoiseSteps: report.verdict.recommendedDenoiseSteps } : {}),
    ...(report.resolution && report.verdict.integrator
      ? {
          resolution: {
            dtPs: report.resolution.dtPs,
            denoiseSteps: report.resolution.denoiseSteps,
            jsd: Math.max(...report.resolution.equilibrium.map((e) => e.jsd)),
            baseJsd: Math.max(...report.resolution.base.map((e) => e.jsd)),
            drifts: report.resolution.equilibrium.some((e) => e.differs),
            finding: report.verdict.integrator,
          },
        }
      : {}),
    verdict: report.verdict.text,
  }
}

async function snapshotsFor(req: SelfCheckRequest, card: ModelCard, reference: Float32Array | undefined): Promise<{ frames: Float32Array; topology?: ModelCard['atoms'] }> {
  if (req.snapshots) {
    const n = Math.floor(req.snapshots.length / card.dim)
    if (n * card.dim !== req.snapshots.length) throw new UserError(`the snapshots hold ${req.snapshots.length} numbers, not a whole number of frames of d = ${card.dim}`, 'bad-input')
    const frames = req.snapshots.slice()
    if (card.aligned && reference) alignFrames(frames, n, card.dim / 3, reference)
    return { frames }
  }
  const candidates = req.data ? [req.data] : (card.data.sources ?? []).map((s) => (path.isAbsolute(s) ? s : path.resolve(path.dirname(req.modelFile), s)))
  for (const file of candidates) {
    try {
      await fs.access(file)
    } catch {
      if (req.data) throw new UserError(`--data ${file}: no such file`, 'not-found')
      continue
    }
    const lf = await loadTrainingFrames(file, { indices: card.atoms?.indices, align: card.aligned, reference })
    if (lf.dim !== card.dim) throw new UserError(`${file}: frames have ${lf.dim} coordinates, the model has d = ${card.dim}`, 'bad-input')
    return { frames: lf.frames.subarray(0, lf.nFrames * lf.dim) }
  }
  throw new UserError(`${req.modelFile}: its training snapshots were not found (${candidates.join(', ') || 'the card names none'}); pass --data FILE`, 'not-found')
}

export async function selfCheckModelFile(req: SelfCheckRequest, hooks: SelfCheckHooks = {}): Promise<{ report: SelfCheckReport; summary: SelfCheckSummary; cardFile?: string }> {
  const found = await findCard(req.modelFile)
  if (!found) throw new UserError(`${req.modelFile}: no model card beside it (X.card.json or card.json); the self-check needs the card's atoms, σ_data and data`, 'bad-model')
  const card = found.card
  if (!card.atoms?.records || card.atoms.records.length * 3 !== card.dim) throw new UserError(`${req.modelFile}: the card has no atom records for its ${card.dim / 3} atoms; the self-check needs names to find φ/ψ`, 'bad-model')
  if (!card.mean || !card.sigmaData) throw new UserError(`${req.modelFile}: the card has no mean structure/σ_data (an imported model); the self-check needs them`, 'bad-model')
  if (req.threads !== undefined && !(Number.isInteger(req.threads) && req.threads >= 1)) throw new UserError(`--threads must be a whole number ≥ 1 (got ${req.threads})`, 'bad-param')
  const threads = req.threads ?? availableParallelism()
  const opened = await openModelFile(req.modelFile, { card, threads })
  try {
    const model = opened.model
    const snaps = await snapshotsFor(req, card, model.rigidBody ? model.reference : undefined)
    const d = SELF_CHECK_DEFAULTS
    const dtPs = req.dtPs ?? [...d.dtPs]
    const framePs = req.framePs ?? commonFramePs(dtPs)
    const opts: SelfCheckOptions = {
      dtPs,
      diffusion: req.diffusion,
      framePs,
      countingPs: req.countingPs ?? Math.ceil(d.countingPs / framePs) * framePs,
      nsPerReplica: req.nsPerReplica ?? d.nsPerReplica,
      replicas: req.replicas ?? d.replicas,
      maxReplicas: req.maxReplicas ?? Math.max(req.replicas ?? d.replicas, d.maxReplicas),
      mode: req.mode ?? 'bridge',
      denoiseSteps: req.denoiseSteps ?? d.denoiseSteps,
      sigmaMin: req.sigmaMin ?? 0.05 * card.sigmaData,
      seed: req.seed ?? 1,
      iidSamples: req.iidSamples ?? d.iidSamples,
      iidSteps: req.iidSteps ?? d.iidSteps,
      resolution: req.resolution ?? d.resolution,
      sigmaMax: card.sigmaRange ? Math.min(card.sigmaRange[1], 20 * card.sigmaData) : 20 * card.sigmaData,
      trustRegion: trustRegionOf(card),
    }
    // as many workers as the cores allow and the work can use: the runs of a round, or the i.i.d.
    // draw's chunks when there are more of them (80 by default: a 16-core machine uses 16, not 6)
    const runs = new Set(dtPs.flatMap((t) => [t, t / 2])).size
    const lanes = Math.min(threads, Math.max(runs, Math.ceil(opts.iidSamples / IID_CHUNK)))
    const workerFile = lanes > 1 ? findRunWorker() : undefined
    const pool = workerFile ? new RunPool(workerFile, req.modelFile, card, lanes) : undefined
    let report: SelfCheckReport
    try {
      report = await runSelfCheck({ model, topology: { atoms: card.atoms.records }, snapshots: snaps.frames, mean: Float32Array.from(card.mean) }, opts, { ...hooks, ...(pool ? { runner: pool } : {}) })
    } finally {
      await pool?.close()
    }
    const summary = summaryOf(report, new Date().toISOString())
    if (req.save !== false) {
      // re-read: the card may have changed (renamed) while the check ran
      const fresh = (await findCard(req.modelFile))?.card ?? card
      await writeJsonAtomic(found.file, { ...fresh, selfCheck: summary })
      return { report, summary, cardFile: found.file }
    }
    return { report, summary }
  } finally {
    await opened.model.dispose()
  }
}
