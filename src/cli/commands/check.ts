/**
 * `diffmd check --model M` — the self-check (docs/self-check.md): where can this model's dynamics be
 * trusted, without reference MD? Equilibrium at each Δt against i.i.d. samples of the model's own
 * reverse diffusion and the training snapshots; kinetics at Δt against Δt/2; a plain verdict and a
 * recommended Δt, stored in the model card (the Sample panel's default Δt).
 */
import { timescaleErrorText } from '../../core/selfcheck/compare'
import { promises as fs } from 'node:fs'
import type { Command } from '../main'
import { parseArgs } from '../args'
import { UserError } from '../../core/errors'
import { SAMPLER_MODES, type SamplerMode } from '../../core/sampler/params'
import { SELF_CHECK_DEFAULTS, type SelfCheckReport } from '../../core/selfcheck/self-check'
import { MAX_RESOLUTION } from '../../core/selfcheck/plan'
import { selfCheckModelFile } from '../../services/models/self-check'
import { calibrationLineOf, timeCalibrationOf } from '../../api/selfcheck'

const D = SELF_CHECK_DEFAULTS
/** k_BT/γ of the ala2 example's GROMACS BD run at 300 K (Å²/ps) */
const ALA2_DIFFUSION = 0.0498868
const usage = `diffmd check — is this model's dynamics self-consistent, and at which time step?
usage: diffmd check --model FILE.onnx [--data SNAPSHOTS] [--dt ${D.dtPs.join(',')}] [--diffusion D]
                    [--ns ${D.nsPerReplica}] [--replicas ${D.replicas}] [--max-replicas ${D.maxReplicas}] [--mode bridge] [--denoise-steps ${D.denoiseSteps}] [--resolution ${D.resolution}] [--sigma-min Å]
                    [--frame-ps PS] [--counting-ps ${D.countingPs}] [--iid ${D.iidSamples}] [--seed 1] [--no-save] [--report FILE.json] [--json]
  For every Δt (ps) it runs R replicas × NS ns at Δt and at Δt/2 and draws i.i.d. samples of the
  model's full reverse diffusion, then compares (a) the equilibrium at Δt with the i.i.d. samples
  (Ramachandran JSD against its sampling noise, basin populations with error bars) and with the
  training snapshots, and (b) the kinetics at Δt with Δt/2 (ACF at 50/200/500 ps, τ_int, C5⇄C7eq
  rates counted every --counting-ps, error bars from the replicas), and fits the runs' kinetic time
  scale against Δt to estimate each Δt's kinetic error. While a Δt at or above the recommended one
  is undecided it doubles the replicas of every run, up to --max-replicas (= --replicas: one round).
  --replicas R      replicas of the first round (default ${D.replicas})
  --max-replicas N  the most replicas per run (default the larger of ${D.maxReplicas} and --replicas)
  --resolution K    when a Δt's equilibrium drifts (mode bridge), run the largest such Δt again with K×
                    the reverse steps: if the drift goes, it was the integrator's and the check
                    recommends that M instead of retraining (default ${D.resolution}; 1 = off)
  --diffusion D     Å²/ps (default 0.0498868: the ala2 example's BD friction at 300 K)
  --frame-ps PS     saved-frame spacing (default: the least common multiple of every Δt and Δt/2)
  --data FILE       the training snapshots (default: the files the model card names)
  --no-save         do not write the verdict and recommended Δt into the model card
  --report FILE     write the full report (every figure and its error) as JSON
  --json            print the report as JSON on stdout`

const spec = {
  model: 'string',
  data: 'string',
  dt: 'string',
  diffusion: 'number',
  ns: 'number',
  replicas: 'int',
  'max-replicas': 'int',
  mode: 'string',
  'denoise-steps': 'int',
  resolution: 'number',
  'sigma-min': 'number',
  'frame-ps': 'number',
  'counting-ps': 'number',
  iid: 'int',
  'iid-steps': 'int',
  seed: 'int',
  save: 'boolean',
  report: 'string',
  json: 'boolean',
  threads: 'int',
} as const

function fail(message: string): never {
  throw new UserError(`check: ${message}`, 'bad-flag')
}

function parseDtList(s: string): number[] {
  const v = s.split(',').map((x) => Number(x.trim()))
  if (v.length === 0 || !v.every((x) => Number.isFinite(x) && x > 0)) fail(`--dt '${s}' must be a comma-separated list of positive time steps in ps, e.g. 0.5,1,2,5`)
  return v
}

function resolutionFlag(k: number | undefined): number | undefined {
  if (k === undefined) return undefined
  if (!(Number.isFinite(k) && k >= 1 && k <= MAX_RESOLUTION)) fail(`--resolution must be a factor from 1 (off) to ${MAX_RESOLUTION} (got ${k}), e.g. 4`)
  return k
}

const pct = (x: number): string => `${(100 * x).toFixed(2)} %`

type Comparison = SelfCheckReport['perDt'][number]['equilibrium'][number]

export function formatReport(r: SelfCheckReport): string {
  const lines: string[] = []
  const named = (e: Comparison, sep: string): string => (r.residues.length > 1 ? e.residue + sep : '')
  /** one comparison against the i.i.d. samples: JSD, its noise, and DIFFERS / NOT RESOLVED */
  const jsdText = (eq: Comparison[]): string => eq.map((e) => `${named(e, ' ')}JSD ${e.jsd.toFixed(4)} (noise ${e.jsdNoise.toFixed(4)})${e.differs ? ' DIFFERS' : e.conclusive === false ? ' NOT RESOLVED' : ''}`).join('; ')
  /** the basins above 0.2 % on either side, simulated ± error vs i.i.d. */
  const popsLine = (e: Comparison): string =>
    `           ${named(e, ': ')}${e.populations
      .filter((q) => q.other.value >= 0.002 || q.sim.value >= 0.002)
      .map((q) => `${q.basin} ${pct(q.sim.value)}±${pct(q.sim.stderr)} vs ${pct(q.other.value)}`)
      .join(', ')}`
  const o = r.options
  lines.push(`self-check: ${r.replicasUsed} replicas × ${o.nsPerReplica} ns per Δt${r.rounds > 1 ? ` (${r.rounds} rounds from ${o.replicas})` : ''}, ${o.mode} M = ${o.denoiseSteps}, σ_min ${o.sigmaMin.toFixed(4)} Å, D ${o.diffusion} Å²/ps; ${o.iidSamples} i.i.d. samples; kinetics counted every ${o.countingPs} ps`)
  for (const c of r.iidVersusSnapshots) lines.push(`  model (i.i.d.) vs snapshots, ${c.residue}: JSD ${c.jsd.toFixed(4)}${c.differs ? ` — differs: ${c.reasons.join('; ')}` : ''}`)
  lines.push('')
  lines.push('  Δt (ps)  equilibrium vs i.i.d.                          kinetics (time scale vs Δt → 0; figures vs Δt/2)')
  for (const p of r.perDt) {
    const eq = jsdText(p.equilibrium)
    const ts = p.timescale ? `${timescaleErrorText(p.timescale.error, p.timescale.se)}${p.timescale.ok ? ' CONVERGED' : p.timescale.changes ? ' NOT CONVERGED' : ''}; ` : ''
    const kin = p.kinetics ? ts + (p.kinetics.differs ? `CHANGES: ${p.kinetics.reasons.slice(0, 3).join('; ')}` : p.kinetics.conclusive ? 'agree' : 'agree within wide error bars') : '—'
    lines.push(`  ${String(p.dtPs).padEnd(8)} ${eq.padEnd(46)} ${kin}${p.acceptance !== undefined ? `  (acceptance ${pct(p.acceptance)})` : ''}`)
    for (const e of p.equilibrium) {
      lines.push(popsLine(e))
      if (e.conclusive === false) lines.push(`           not resolved: ${e.unresolved.join('; ')}`)
    }
    if (p.lengthOverTau < 20) lines.push(`           runs are ${p.lengthOverTau.toFixed(0)} τ_int long (< 20): kinetic figures are rough; use --ns to lengthen`)
  }
  const res = r.resolution
  if (res) {
    lines.push(`  integrator resolution: Δt ${res.dtPs} ps with M = ${res.denoiseSteps} (the runs above: M = ${res.baseDenoiseSteps}), ${res.replicas} replicas: ${jsdText(res.equilibrium)}`)
    for (const e of res.equilibrium) lines.push(popsLine(e))
  }
  lines.push('')
  lines.push(r.verdict.text)
  return lines.join('\n')
}

const command: Command = {
  summary: 'self-check a model: equilibrium vs its own i.i.d. samples, kinetics at Δt vs Δt/2, recommended Δt',
  usage,
  async run(argv) {
    const { flags } = parseArgs('check', argv, spec)
    if (typeof flags.model !== 'string') fail('--model FILE.onnx is required')
    const mode = (flags.mode as string | undefined) ?? 'bridge'
    if (!SAMPLER_MODES.includes(mode as SamplerMode)) fail(`--mode must be one of ${SAMPLER_MODES.join(', ')} (got '${mode}')`)
    const diffusion = (flags.diffusion as number | undefined) ?? ALA2_DIFFUSION
    if (!(diffusion > 0)) fail(`--diffusion must be a positive number of Å²/ps (got ${diffusion})`)
    const started = Date.now()
    let last = ''
    const { report, summary, cardFile } = await selfCheckModelFile(
      {
        modelFile: flags.model,
        data: flags.data as string | undefined,
        diffusion,
        dtPs: flags.dt !== undefined ? parseDtList(String(flags.dt)) : undefined,
        framePs: flags['frame-ps'] as number | undefined,
        countingPs: flags['counting-ps'] as number | undefined,
        nsPerReplica: flags.ns as number | undefined,
        replicas: flags.replicas as number | undefined,
        maxReplicas: flags['max-replicas'] as number | undefined,
        mode: mode as SamplerMode,
        denoiseSteps: flags['denoise-steps'] as number | undefined,
        resolution: resolutionFlag(flags.resolution as number | undefined),
        sigmaMin: flags['sigma-min'] as number | undefined,
        seed: flags.seed as number | undefined,
        iidSamples: flags.iid as number | undefined,
        iidSteps: flags['iid-steps'] as number | undefined,
        save: flags.save !== false,
        threads: flags.threads as number | undefined,
      },
      {
        onProgress: (stage, done, total) => {
          if (flags.json || !process.stderr.isTTY) return
          const line = `\r  ${stage}: ${Math.floor((100 * done) / Math.max(1, total))} %`
          if (line !== last) process.stderr.write(line.padEnd(last.length))
          last = line
        },
      }
    )
    if (last) process.stderr.write('\n')
    if (flags.report) await fs.writeFile(String(flags.report), JSON.stringify(report, null, 1))
    if (flags.json) process.stdout.write(JSON.stringify({ summary, report }, null, 1) + '\n')
    else {
      process.stdout.write(formatReport(report) + '\n')
      const calibration = calibrationLineOf({ selfCheck: summary })
      const used = timeCalibrationOf({ selfCheck: summary }, summary.mode) ? ' diffmd simulate and the app use it (--time-calibration; docs/self-check.md "Calibrated time").' : ''
      if (calibration) process.stdout.write(`${calibration}${used}\n`)
      process.stdout.write(`(${((Date.now() - started) / 1000).toFixed(0)} s${cardFile ? `; verdict and recommended Δt saved in ${cardFile}` : ''})\n`)
    }
    return 0
  },
}

export default command
