/**
 * `diffmd` — the headless entry: train | simulate | analyze | dataset | export | info.
 * Commands are loaded lazily so `diffmd --help` starts fast and never loads onnxruntime.
 */
import { UserError } from '../core/errors'
import { VERSION } from '../core/version'

export interface Command {
  summary: string
  usage: string
  run(argv: string[]): Promise<number>
}

type Loader = () => Promise<{ default: Command }>

const commands: Record<string, Loader> = {
  info: () => import('./commands/info'),
  simulate: () => import('./commands/simulate'),
  analyze: () => import('./commands/analyze'),
  train: () => import('./commands/train'),
  dataset: () => import('./commands/dataset'),
  export: () => import('./commands/export'),
  check: () => import('./commands/check'),
  sweep: () => import('./commands/sweep'),
  merge: () => import('./commands/merge'),
  ensemble: () => import('./commands/ensemble'),
}

const summaries: Record<string, string> = {
  info: 'version and available runtimes',
  simulate: 'generate a trajectory (analytic system or learned model)',
  analyze: 'autocorrelation, τ_int, mean and variance of an observable',
  train: 'train a score model on snapshots',
  dataset: 'import snapshots (PDB, mmCIF, GRO, PQR, XYZ; DCD/XTC/TRR with a topology) into a project dataset',
  export: 'convert a trajectory to PDB, DCD or XYZ',
  check: 'self-check a model: equilibrium vs its own i.i.d. samples, kinetics at Δt vs Δt/2, recommended Δt',
  sweep: 'split runs into shards: a Slurm job array (sbatch --array), or all local cores',
  merge: "join a sweep's shards into one trajectory per run",
  ensemble: 'average several models of the same snapshots into one (a seed ensemble)',
}

function usage(): string {
  const lines = [`diffmd ${VERSION} — DiffMD Studio command line`, '', 'usage: diffmd <command> [flags]', '', 'commands:']
  for (const [name, summary] of Object.entries(summaries)) lines.push(`  ${name.padEnd(10)} ${summary}`)
  lines.push('', 'diffmd <command> --help shows the flags of a command.')
  return lines.join('\n')
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage() + '\n')
    return 0
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(VERSION + '\n')
    return 0
  }
  const loader = commands[name]
  if (!loader) {
    process.stderr.write(`diffmd: unknown command '${name}' (commands: ${Object.keys(commands).join(', ')}; see diffmd --help)\n`)
    return 2
  }
  try {
    const cmd = (await loader()).default
    if (rest.includes('--help') || rest.includes('-h')) {
      process.stdout.write(`${cmd.usage}\n`)
      return 0
    }
    return await cmd.run(rest)
  } catch (err) {
    if (err instanceof UserError) {
      process.stderr.write(`diffmd: ${err.message}\n`)
      return 2
    }
    const msg = err instanceof Error ? (err.stack ?? err.message) : String(err)
    process.stderr.write(`diffmd: internal error: ${msg}\n`)
    return 1
  }
}
