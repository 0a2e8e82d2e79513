/**
 * `diffmd train`: trains a score (or energy) model on snapshots (docs/science.md "Training") in a worker
 * thread and writes model.onnx + model.card.json. Ctrl-C stops after the current step, keeps the
 * checkpoint, and `--resume` continues it to the same result as an uninterrupted run.
 */
import path from 'node:path'
import { promises as fs } from 'node:fs'
import type { Command } from '../main'
import { UserError } from '../../core/errors'
import { VERSION } from '../../core/version'
import { ARCH_NAMES, DEFAULT_ARCH, HEAD_SCALES, paramCount, type ArchName, type HeadScale } from '../../core/nn/arch'
import { DEFAULT_CONSISTENCY, type ConsistencyConfig } from '../../core/nn/consistency'
import { buildCard, type ModelCard } from '../../core/nn/card'
import { DEFAULT_RECIPE, DEFAULT_SIGMA, DEFAULT_STEPS, type TrainOptions, type TrainProgress } from '../../core/nn/trainer'
import { choiceFlag, parseArgs, positiveFlag, requireFlag } from '../args'
import { describeEstimate, estimateTraining } from '../../core/limits'
import { loadTrainingFrames, displayName } from '../../services/models/training-data'
import { startTrainingJob, type TrainJob } from '../../services/models/train-job'
import type { EnsembleMember } from '../../core/nn/ensemble'
import { assembleEnsemble, inLanes, readFinishedMember } from '../../services/models/ensemble'
import { MAX_MEMBERS } from '../../services/models/registry'
import { availableParallelism } from 'node:os'
import { sha256Hex } from '../../services/models/hash'
import { writeFileAtomic, writeJsonAtomic } from '../../services/fs/atomic'

const usage = `diffmd train — train a denoising score model on equilibrium snapshots

  diffmd train --data FILE [--select EXPR] [--no-align] [--arch score-mlp|energy-mlp]
               [--width 256] [--depth 3] [--emb 32] --steps N [--batch 512] [--lr 1e-3]
               [--val-fraction 0.1] [--seed S] --out model.onnx [--resume] [--json]

  --data FILE        snapshots: .pdb / .pdb.gz (multi-model), .xyz, or a JSON trajectory (.json:
                     every frame of every replica is one sample)
  --select           atoms to model, a selection (docs/selection.md; PDB: any expression; XYZ: all or heavy); default all
  --no-align         keep coordinates as read (default for PDB/XYZ: centre and Kabsch-superpose every
                     frame on the centred first frame; JSON data are never aligned unless --align)
  --arch             energy-mlp (default: scalar E(x, σ), score = −∇ₓE, conservative forces and an
                     energy for Metropolis-corrected sampling) or score-mlp (EDM-preconditioned
                     score network, no energy)
  --width --depth --emb   hidden width (256), hidden layers (3), Fourier σ-embedding size (32)
  --steps N          Adam steps (default ${DEFAULT_STEPS}); --batch B samples per step (512); --lr peak learning
                     rate (1e-3; linear warm-up over --warmup steps, default 5 % ≤ 1000, then cosine)
  --val-fraction F   frames held out for validation (0.1); validation every --eval-every steps,
                     early stop after --patience validations without improvement (10; 0 = never)
  --sigma-min S      smallest training σ in Å (default ${DEFAULT_SIGMA.min}·σ_data); --sigma-max likewise (${DEFAULT_SIGMA.max}·σ_data)
  --head H           how the network's output scales with σ: edm (default; the EDM c_out ∝ σ) or
                     bounded (an O(1) output at small σ; better below 0.02·σ_data) — docs/training.md
  --ema DECAY        validate and export an exponential moving average of the weights (default
                     ${DEFAULT_RECIPE.ema}; 0 = off, the raw weights)
  --consistency W    energy-mlp only: weight of the heat-equation consistency penalty that ties the
                     energies at different σ together (default ${DEFAULT_RECIPE.consistency.weight}; 0 = off) — docs/training.md
  --consistency-sigma-min S, --consistency-sigma-max S   σ range (Å) of that penalty (default
                     ${DEFAULT_CONSISTENCY.sigmaMin}–${DEFAULT_CONSISTENCY.sigmaMax}·σ_data); --consistency-groups G: groups of ${DEFAULT_CONSISTENCY.groupSize} samples sharing one σ
                     per step (${DEFAULT_CONSISTENCY.groups}); --consistency-probes 1|2: Hutchinson probes per sample
                     (2 removes the single probe's bias at the cost of a second Hessian-vector product);
                     --consistency-spread F: noise each group's points at up to F× its σ, so the term also
                     holds between the data's basins (1 = off)
  --no-antithetic    draw independent noise for every sample (default: pairs x₀ ± σn, which cancels
                     the noise term of the loss gradient to first order in σ)
  --temperature T    temperature of the data (K), recorded in the card
  --seed S           seed (default 0): the same seed, data and flags give the same model
  --members K        train an ensemble of K models (seeds S … S+K−1; default 1): each member is
                     written as FILE.m1.onnx …, and FILE.onnx is their mean (score and energy), the
                     same as diffmd ensemble would write — docs/training.md "Ensembles"
  --parallel P       members trained at once, one worker thread each (default: min(K, cores))
  --threads N        onnxruntime threads (default 1)
  --out FILE         the model (.onnx); the card is written beside it as FILE.card.json (without
                     .onnx), a checkpoint as FILE.ckpt after every validation (removed at the end)
  --resume           continue the checkpoint FILE.ckpt (same data and flags; --steps may be larger)
  --json             print the card as JSON on stdout
Ctrl-C stops after the current step and keeps the checkpoint for --resume.`

const spec = {
  data: 'string',
  select: 'string',
  align: 'boolean',
  arch: 'string',
  width: 'int',
  depth: 'int',
  emb: 'int',
  steps: 'int',
  batch: 'int',
  lr: 'number',
  warmup: 'int',
  'val-fraction': 'number',
  'eval-every': 'int',
  patience: 'int',
  'sigma-min': 'number',
  'sigma-max': 'number',
  head: 'string',
  ema: 'number',
  consistency: 'number',
  'consistency-sigma-min': 'number',
  'consistency-sigma-max': 'number',
  'consistency-groups': 'int',
  'consistency-probes': 'int',
  'consistency-spread': 'number',
  'no-antithetic': 'boolean',
  temperature: 'number',
  seed: 'int',
  threads: 'int',
  out: 'string',
  resume: 'boolean',
  json: 'boolean',
  quiet: 'boolean',
  'in-process': 'boolean',
  members: 'int',
  parallel: 'int',
} as const

function fmtTime(s: number): string {
  if (!Number.isFinite(s)) return '--'
  if (s < 60) return `${Math.round(s)}s`
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`
  return `${Math.floor(s / 3600)}h${String(Math.round((s % 3600) / 60)).padStart(2, '0')}m`
}

function fmtRate(v: number): string {
  return v >= 1e4 ? `${(v / 1000).toFixed(1)}k` : v.toFixed(0)
}

export function progressLine(p: TrainProgress, width = 24): string {
  const f = Math.min(1, p.step / p.steps)
  const fill = Math.round(f * width)
  const bar = '#'.repeat(fill) + '-'.repeat(width - fill)
  const val = p.valLoss !== null ? ` val ${p.valLoss.toFixed(4)}` : ''
  return `[${bar}] ${(100 * f).toFixed(0).padStart(3)}% step ${p.step}/${p.steps} loss ${Number.isFinite(p.loss) ? p.loss.toFixed(4) : '--'}${val} ${fmtRate(p.samplesPerSec)} samples/s ETA ${fmtTime(p.etaSec)}`
}

const cmd: Command = {
  summary: 'train a score model on snapshots',
  usage,
  async run(argv) {
    const { flags } = parseArgs('train', argv, spec)
    const data = requireFlag<string>('train', flags, 'data')
    const out = requireFlag<string>('train', flags, 'out')
    if (!/\.onnx$/i.test(out)) throw new UserError(`train: --out ${out} must end in .onnx`, 'bad-flag')
    const arch = choiceFlag<ArchName>('train', flags, 'arch', ARCH_NAMES, DEFAULT_RECIPE.arch)
    const select = (flags.select as string | undefined) ?? 'all' // any selection expression (docs/selection.md), checked by the import
    const steps = positiveFlag('train', flags, 'steps', DEFAULT_STEPS)
    const seed = (flags.seed as number | undefined) ?? 0
    if (!(Number.isSafeInteger(seed) && seed >= 0)) throw new UserError(`train: --seed must be a whole number ≥ 0 (got ${seed})`, 'bad-flag')
    const valFraction = (flags['val-fraction'] as number | undefined) ?? 0.1
    if (!(valFraction >= 0 && valFraction < 1)) throw new UserError(`train: --val-fraction must be in [0, 1) (got ${valFraction})`, 'bad-flag')
    const json = flags.json === true
    const quiet = flags.quiet === true || json
    const base = out.replace(/\.onnx$/i, '')
    const cardFile = `${base}.card.json`
    const members = (flags.members as number | undefined) ?? 1
    if (!(Number.isSafeInteger(members) && members >= 1 && members <= MAX_MEMBERS)) throw new UserError(`train: --members must be a whole number from 1 to ${MAX_MEMBERS} (got ${members})`, 'bad-flag')
    const parallel = (flags.parallel as number | undefined) ?? Math.min(members, availableParallelism())
    if (!(Number.isSafeInteger(parallel) && parallel >= 1)) throw new UserError(`train: --parallel must be a whole number ≥ 1 (got ${parallel})`, 'bad-flag')

    const loaded = await loadTrainingFrames(data, { select, align: flags.align as boolean | undefined })
    for (const w of loaded.warnings.slice(0, 5)) process.stderr.write(`diffmd: warning: ${w}\n`)
    // σ_data is needed to turn --sigma-min/--sigma-max (Å) into units of σ_data
    const sigma: Partial<typeof DEFAULT_SIGMA> = {}
    const consistency: Partial<ConsistencyConfig> = {}
    const head = choiceFlag<HeadScale>('train', flags, 'head', HEAD_SCALES, DEFAULT_RECIPE.head)
    const ema = (flags.ema as number | undefined) ?? DEFAULT_RECIPE.ema
    if (!(ema >= 0 && ema < 1)) throw new UserError(`train: --ema must be a decay in [0, 1), e.g. 0.999 (got ${ema}); 0 turns it off`, 'bad-flag')
    if (flags.consistency !== undefined) {
      const w = flags.consistency as number
      if (!(w >= 0 && Number.isFinite(w))) throw new UserError(`train: --consistency must be a weight ≥ 0 (got ${w}); 0 turns it off`, 'bad-flag')
      if (w > 0 && arch !== 'energy-mlp') throw new UserError('train: --consistency needs --arch energy-mlp (the penalty is on the energy E(x, σ))', 'bad-flag')
      consistency.weight = w
    } else consistency.weight = arch === 'energy-mlp' ? DEFAULT_RECIPE.consistency.weight : 0
    if (flags['consistency-groups'] !== undefined) consistency.groups = positiveFlag('train', flags, 'consistency-groups')
    if (flags['consistency-spread'] !== undefined) {
      const f = flags['consistency-spread'] as number
      if (!(f >= 1 && Number.isFinite(f))) throw new UserError(`train: --consistency-spread must be a factor ≥ 1 (got ${f}); 1 turns it off`, 'bad-flag')
      consistency.spread = f
    }
    if (flags['consistency-probes'] !== undefined) {
      const n = flags['consistency-probes'] as number
      if (n !== 1 && n !== 2) throw new UserError(`train: --consistency-probes must be 1 or 2 (got ${n})`, 'bad-flag')
      consistency.probes = n
    }
    const inSigmaData = ['sigma-min', 'sigma-max', 'consistency-sigma-min', 'consistency-sigma-max'].some((f) => flags[f] !== undefined)
    if (inSigmaData) {
      const { dataStatistics } = await import('../../core/nn/trainer')
      const sd = dataStatistics({ frames: loaded.frames, nFrames: loaded.nFrames, dim: loaded.dim }).stats.sigmaData
      if (flags['sigma-min'] !== undefined) sigma.min = positiveFlag('train', flags, 'sigma-min') / sd
      if (flags['sigma-max'] !== undefined) sigma.max = positiveFlag('train', flags, 'sigma-max') / sd
      if (flags['consistency-sigma-min'] !== undefined) consistency.sigmaMin = positiveFlag('train', flags, 'consistency-sigma-min') / sd
      if (flags['consistency-sigma-max'] !== undefined) consistency.sigmaMax = positiveFlag('train', flags, 'consistency-sigma-max') / sd
      const cmin = consistency.sigmaMin ?? DEFAULT_CONSISTENCY.sigmaMin
      const cmax = consistency.sigmaMax ?? DEFAULT_CONSISTENCY.sigmaMax
      if (!(cmax > cmin)) throw new UserError(`train: --consistency-sigma-max (${(cmax * sd).toPrecision(3)} Å) must exceed --consistency-sigma-min (${(cmin * sd).toPrecision(3)} Å)`, 'bad-flag')
    }
    const options: TrainOptions = {
      arch,
      width: flags.width as number | undefined,
      depth: flags.depth as number | undefined,
      embDim: flags.emb as number | undefined,
      head,
      steps,
      batch: flags.batch as number | undefined,
      lr: flags.lr as number | undefined,
      warmupSteps: flags.warmup as number | undefined,
      valFraction,
      evalEvery: flags['eval-every'] as number | undefined,
      patience: flags.patience as number | undefined,
      seed,
      sigma,
      threads: flags.threads as number | undefined,
      ema,
      antithetic: flags['no-antithetic'] === true ? false : DEFAULT_RECIPE.antithetic,
      consistency,
    }
    const w = options.width ?? DEFAULT_ARCH.width
    const dp = options.depth ?? DEFAULT_ARCH.depth
    const e = options.embDim ?? DEFAULT_ARCH.embDim
    if (!quiet) {
      process.stderr.write(
        `training ${arch} (d = ${loaded.dim}, width ${w}, depth ${dp}, ${paramCount({ arch, dim: loaded.dim, width: w, depth: dp, embDim: e })} parameters) on ${loaded.nFrames} frames of ${path.basename(data)}` +
          `${loaded.aligned ? ` (aligned; mean RMSD to the reference ${loaded.alignRmsd!.mean.toFixed(3)} Å)` : ''}${members > 1 ? `, an ensemble of ${members} (seeds ${seed}–${seed + members - 1}, ${Math.min(parallel, members)} at a time)` : ''}${flags.resume === true ? ', resuming' : ''}\n`
      )
    }
    // what it will cost, said before it starts; refused above MAX_ATOMS (docs/peptides.md "Larger molecules")
    if (loaded.dim % 3 === 0) {
      const atoms = loaded.dim / 3
      const est = estimateTraining({ atoms, arch, width: w, depth: dp, embDim: e, steps, batch: options.batch })
      const said = describeEstimate('training', atoms, est.seconds, est.memoryMiB)
      if (said.verdict === 'unsupported') throw new UserError(`train: ${data}: ${said.line}`, 'too-many-atoms')
      if (!quiet || said.verdict !== 'ok') process.stderr.write(`${said.verdict === 'ok' ? '' : 'diffmd: warning: '}${said.line}\n`)
    }
    const tty = process.stderr.isTTY === true && !quiet
    const jobs: TrainJob[] = []
    let interrupted = 0
    const onSigint = (): void => {
      interrupted++
      if (interrupted > 1) process.exit(130)
      process.stderr.write('\ndiffmd: stopping after the current step (Ctrl-C again to quit at once)\n')
      for (const j of jobs) j.cancel()
    }
    /** trains one model (one member of an ensemble) and writes it with its card; undefined when stopped */
    const trainOne = async (m: { seed: number; out: string; label: string; tty: boolean }): Promise<{ card: ModelCard; onnx: Uint8Array } | undefined> => {
      const mBase = m.out.replace(/\.onnx$/i, '')
      const mCkpt = `${mBase}.ckpt`
      const mCard = `${mBase}.card.json`
      let resume: string | undefined
      if (flags.resume === true) {
        try {
          await fs.access(mCkpt)
          resume = mCkpt
        } catch {
          if (members === 1) throw new UserError(`train: --resume: no checkpoint ${mCkpt} (it is written after every validation of a run with the same --out)`, 'not-found')
        }
      }
      let lastPrinted = -1
      const job = startTrainingJob(
        { data: { frames: loaded.frames, nFrames: loaded.nFrames, dim: loaded.dim }, options: { ...options, seed: m.seed }, checkpointFile: mCkpt, resumeFile: resume },
        {
          onProgress: (p) => {
            if (quiet) return
            if (m.tty) process.stderr.write(`\r${m.label}${progressLine(p)}\x1b[K`)
            else {
              const pct = Math.floor((20 * p.step) / p.steps)
              if (pct !== lastPrinted) {
                lastPrinted = pct
                process.stderr.write(m.label + progressLine(p) + '\n')
              }
            }
          },
          onLog: (line) => {
            if (!quiet) process.stderr.write(`${m.tty ? '\r\x1b[K' : ''}${m.label}${line}\n`)
          },
        },
        { inProcess: flags['in-process'] === true }
      )
      jobs.push(job)
      let res
      try {
        res = await job.done
      } finally {
        if (m.tty) process.stderr.write('\n')
      }
      const r = res.result
      if (r.final.cancelled) {
        process.stderr.write(`diffmd: ${m.label}training stopped at step ${r.final.stepsRun}/${r.options.steps}; no model written. Continue with the same command and --resume (checkpoint ${mCkpt}).\n`)
        return undefined
      }
      const card = buildCard(
        r,
        {
          name: displayName(data),
          sources: [path.resolve(data)],
          atoms: loaded.indices && loaded.topology ? { selection: loaded.selection, indices: loaded.indices, records: loaded.topology.atoms } : loaded.indices ? { selection: loaded.selection, indices: loaded.indices } : undefined,
          temperature: (flags.temperature as number | undefined) ?? loaded.temperature,
          aligned: loaded.aligned,
          reference: loaded.reference,
          appVersion: VERSION,
          createdAt: new Date().toISOString(),
        },
        { sha256: sha256Hex(res.onnx), bytes: res.onnx.length }
      )
      await writeFileAtomic(m.out, res.onnx)
      await writeJsonAtomic(mCard, card)
      await fs.rm(mCkpt, { force: true })
      return { card, onnx: res.onnx }
    }

    process.on('SIGINT', onSigint)
    let card: ModelCard
    try {
      if (members === 1) {
        const one = await trainOne({ seed, out, label: '', tty })
        if (!one) return 130
        card = one.card
      } else {
        // an ensemble (docs/training.md "Ensembles"): members with seeds S … S+K−1, `parallel` at a time
        const files = Array.from({ length: members }, (_, k) => `${base}.m${k + 1}.onnx`)
        const done: ({ card: ModelCard; onnx: Uint8Array } | undefined)[] = new Array(members)
        await inLanes(members, parallel, async (k) => {
          const label = `[member ${k + 1}/${members}, seed ${seed + k}] `
          // a member finished by an earlier run with the same flags is kept on --resume
          const prev = flags.resume === true ? await readFinishedMember(files[k]!) : undefined
          if (prev && prev.card.training?.seed === seed + k && prev.card.training.stepsRun === steps) {
            if (!quiet) process.stderr.write(`${label}kept ${files[k]} from the earlier run\n`)
            done[k] = { card: prev.card, onnx: prev.bytes }
            return true
          }
          done[k] = await trainOne({ seed: seed + k, out: files[k]!, label, tty: false })
          return done[k] !== undefined
        })
        if (done.some((m) => !m)) {
          process.stderr.write(`diffmd: the ensemble was not written; finished members are kept (${files.filter((_, k) => done[k]).join(', ') || 'none'}). Continue with the same command and --resume.\n`)
          return 130
        }
        const ms: EnsembleMember[] = done.map((m, k) => ({ bytes: m!.onnx, card: m!.card, file: path.basename(files[k]!) }))
        const ens = assembleEnsemble(ms, displayName(data))
        const bytes = ens.bytes
        card = ens.card
        await writeFileAtomic(out, bytes)
        await writeJsonAtomic(cardFile, card)
        if (!quiet) process.stderr.write(`wrote the members ${files.join(', ')}\n`)
      }
    } finally {
      process.off('SIGINT', onSigint)
    }
    if (json) process.stdout.write(JSON.stringify(card, null, 2) + '\n')
    else {
      const t = card.training!
      const lines = [`wrote ${out} (${(card.onnx.bytes / 1024).toFixed(0)} KiB) and ${cardFile}${card.ensemble ? `: the mean of ${card.ensemble.length} members` : ''}`]
      for (const m of card.ensemble ?? []) lines.push(`  member ${m.file}: seed ${m.seed}, val loss ${m.valLoss != null ? m.valLoss.toFixed(4) : '—'}`)
      lines.push(
        `  ${card.ensemble ? 'first member: ' : ''}steps ${t.stepsRun}/${t.steps}${t.stoppedEarly ? ' (early stop)' : ''}, kept step ${t.bestStep}; train loss ${t.trainLoss.toFixed(4)}, val loss ${t.valLoss !== null ? t.valLoss.toFixed(4) : '—'}; ${t.wallSeconds.toFixed(1)} s, ${fmtRate(t.samplesPerSecond)} samples/s`,
        `  σ_data ${card.sigmaData!.toPrecision(4)} Å; trained σ range ${card.sigmaRange![0].toPrecision(3)}–${card.sigmaRange![1].toPrecision(3)} Å`
      )
      if (t.valBands.length) {
        lines.push('  validation loss per σ band (Å):')
        for (const b of t.valBands) lines.push(`    ${b.lo.toPrecision(3).padStart(9)} – ${b.hi.toPrecision(3).padEnd(9)} ${b.loss.toFixed(4)}`)
      }
      process.stdout.write(lines.join('\n') + '\n')
    }
    return 0
  },
}
export default cmd
