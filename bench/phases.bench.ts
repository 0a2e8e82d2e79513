/**
 * Where a sampler run's wall time goes, per phase (src/core/sampler/timing.ts, docs/speed.md), on
 * the shipped alanine-dipeptide model (resources/models/ala2-default.onnx, energy-mlp, rigid-body):
 * the default bridge sampler (tweedie, M = 10) and any other mode, at R = 1, 64, 1024, one
 * onnxruntime-node thread. Prints adapter steps/s and the share of wall time per phase; the
 * JavaScript share is everything but the network.
 *
 *   npm run bench:phases -- [--mode bridge|clean|tied] [--scheme em|tweedie] [--M 10] [--R 1,64,1024]
 *                           [--seconds S] [--threads T] [--noise ziggurat,box-muller] [--rounds N] [--json FILE]
 * --noise: the noise kinds to measure (docs/random-numbers.md; default the sampler's, ziggurat), each
 * in turn within every one of --rounds interleaved rounds, so their ratio is measured in one run.
 */
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { findRoot } from './root'
import { openModelForCli } from '../src/cli/model-source'
import { runTrajectory } from '../src/core/sampler/runner'
import type { SamplerMode, ReverseScheme, SamplerParams } from '../src/core/sampler/params'
import type { NoiseKind } from '../src/core/rng/normals'
import { PHASES, phaseShares, type PhaseTimes } from '../src/core/sampler/timing'

const argv = process.argv.slice(2)
const arg = (name: string, fallback: string): string => {
  const i = argv.indexOf(`--${name}`)
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : fallback
}

export interface PhaseRow {
  R: number
  steps: number
  stepsPerSec: number
  timing: PhaseTimes
}

/** runs the shipped model with these sampler settings at each R for ≈ `seconds` and returns the phases */
export async function measurePhases(opts: { mode: SamplerMode; scheme?: ReverseScheme; M: number; Rs: number[]; seconds: number; threads: number; noise?: NoiseKind }): Promise<PhaseRow[]> {
  const root = findRoot()
  const cli = await openModelForCli({ model: path.join(root, 'resources/models/ala2-default.onnx'), align: true, threads: opts.threads })
  try {
    const d = cli.model.dim
    const card = cli.card as { sigmaData?: number; sigmaMin?: number }
    // η = D·Δt with D = 0.0499 Å²/ps (ala2 at 300 K) and Δt = 5 ps, the card's recommended step
    const eta = 0.0498868 * 5
    const sigmaMin = card.sigmaMin ?? 0.05 * (card.sigmaData ?? 0.5)
    const rows: PhaseRow[] = []
    for (const R of opts.Rs) {
      const init = new Float32Array(R * d)
      const pool = cli.initPool.length / d
      for (let r = 0; r < R; r++) init.set(cli.initPool.subarray((r % pool) * d, (r % pool + 1) * d), r * d)
      const base: SamplerParams = { mode: opts.mode, scheme: opts.scheme, eta, denoiseSteps: opts.M, sigmaMin, replicas: R, frames: 2, innerSteps: 1, seed: 11, trustRegion: cli.trustRegion, ...(opts.noise ? { noise: opts.noise } : {}) }
      // one short run to warm up and size the real one to ≈ `seconds`
      const warm = await runTrajectory(cli.model, { ...base, innerSteps: 2 }, init)
      const perStep = warm.timing!.totalMs / 2
      const steps = Math.max(2, Math.round((1000 * opts.seconds) / perStep))
      const res = await runTrajectory(cli.model, { ...base, innerSteps: steps }, init)
      rows.push({ R, steps, stepsPerSec: (1000 * steps) / res.timing!.totalMs, timing: res.timing! })
    }
    return rows
  } finally {
    await cli.dispose()
  }
}

/** the markdown table of the rows */
export function phaseTable(rows: PhaseRow[]): string {
  const lines = [
    `| R | adapter steps/s | ${PHASES.map((p) => `${p} %`).join(' | ')} | JavaScript % |`,
    `|---|---|${PHASES.map(() => '---').join('|')}|---|`,
  ]
  for (const r of rows) {
    const sh = phaseShares(r.timing)
    lines.push(`| ${r.R} | ${r.stepsPerSec.toPrecision(3)} | ${PHASES.map((p) => (100 * sh[p]).toFixed(1)).join(' | ')} | ${(100 * (1 - sh.network)).toFixed(1)} |`)
  }
  return lines.join('\n')
}

if (process.argv[1] && /phases\.bench\.m?[jt]s$/.test(process.argv[1])) {
  const mode = arg('mode', 'bridge') as SamplerMode
  const schemeArg = arg('scheme', '')
  const opts = {
    mode,
    scheme: schemeArg ? (schemeArg as ReverseScheme) : undefined,
    M: Number(arg('M', '10')),
    Rs: arg('R', '1,64,1024').split(',').map(Number),
    seconds: Number(arg('seconds', '3')),
    threads: Number(arg('threads', '1')),
  }
  const noises = arg('noise', 'ziggurat').split(',') as NoiseKind[]
  const rounds = Number(arg('rounds', '1'))
  const all: { round: number; noise: NoiseKind; rows: PhaseRow[] }[] = []
  for (let round = 1; round <= rounds; round++) {
    for (const noise of noises) {
      const rows = await measurePhases({ ...opts, noise })
      all.push({ round, noise, rows })
      console.log(`## Phases: shipped ala2 model, ${mode}${mode === 'bridge' ? ` ${opts.scheme ?? 'tweedie'} M = ${opts.M}` : ''}, ${opts.threads} onnxruntime thread(s), ${noise} normals${rounds > 1 ? `, round ${round}` : ''}\n`)
      console.log(phaseTable(rows) + '\n')
    }
  }
  const json = arg('json', '')
  if (json) writeFileSync(json, JSON.stringify({ opts, runs: all }, null, 2))
}
