/**
 * `diffmd sweep`: a run, or a grid of runs (models × Δt × seeds), split into shards of replicas and
 * written as a self-contained job folder with a Slurm job-array script; `--run-shard` runs one
 * shard (one array task), `--local` runs them all on this machine (docs/cluster.md).
 */
import { existsSync, promises as fs } from 'node:fs'
import { availableParallelism } from 'node:os'
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import type { Command } from '../main'
import { UserError } from '../../core/errors'
import { VERSION } from '../../core/version'
import { DEFAULT_NOISE } from '../../core/sampler/params'
import { parseArgs, positiveFlag } from '../args'
import { writeFileAtomic, writeJsonAtomic } from '../../services/fs/atomic'
import { findCard } from '../../services/models/open'
import { findBundledWorker } from '../../services/models/worker-path'
import { MANIFEST, SBATCH, readManifest, sbatchScript, shardCheckpointDir, shardFramesFile, type SweepManifest, type SweepRun, type SweepShard } from '../../services/cluster/job'
import { splitReplicas } from '../simulate-threads'
import simulate, { prepareRun } from './simulate'

const usage = `diffmd sweep — many runs (or one big one) as a Slurm job array, or on all local cores

  diffmd sweep --out DIR [--models A.onnx,B.onnx] [--dts 1,2] [--seeds 1,2] [--replica-blocks N]
               [--throttle T] [--threads-per-task C] [--sbatch "OPTION"]… [--submit]  SIMULATE FLAGS…
  diffmd sweep --run-shard DIR --task K      run shard K (what array task K does)
  diffmd sweep --local DIR                   run every unfinished shard here, on all cores

  SIMULATE FLAGS    a diffmd simulate command line without --out (--model or --system, --dt
                    --diffusion or --eta, --replicas, --frames, --seed, …); checked before anything
                    is written
  --models LIST     comma-separated model files: one run per model (instead of --model)
  --dts LIST        comma-separated Δt (ps): one run per Δt (with --diffusion; instead of --dt)
  --seeds LIST      comma-separated seeds: one run per seed (instead of --seed)
  --replica-blocks N  shards per run, each a block of its replicas (default 1; a learned model's
                    blocks are multiples of 8 replicas, 16 for an odd d, so the frames equal one
                    process's bit for bit)
  --throttle T      at most T array tasks at once (sbatch --array=0-(n−1)%T; default 8)
  --threads-per-task C  worker threads (and Slurm --cpus-per-task) per shard (default 1)
  --sbatch OPTION   an extra #SBATCH line, e.g. --sbatch "--partition=cpu" --sbatch "--time=02:00:00"
  --submit          run sbatch on the script (from a Slurm login node)
The folder: manifest.json, models/, runs/ID/init.f32, sweep.sbatch, shards/K/, logs/.
Each task writes shards/K/frames.json and keeps a checkpoint until then: a killed or requeued task
resumes it. diffmd merge DIR joins the shards into one trajectory per run.`

/** sweep's own flags and whether each takes a value */
const OWN: Record<string, 'string' | 'int' | 'boolean'> = {
  out: 'string',
  models: 'string',
  dts: 'string',
  seeds: 'string',
  'replica-blocks': 'int',
  throttle: 'int',
  'threads-per-task': 'int',
  sbatch: 'string',
  submit: 'boolean',
  'run-shard': 'string',
  task: 'int',
  local: 'string',
}
/** simulate flags sweep sets itself */
const RESERVED = ['threads', 'checkpoint', 'checkpoint-every', 'replica-range', 'init-f32', 'json']
/** simulate flags used only to draw the initial states (stored in runs/ID/init.f32) */
const INIT_ONLY = ['init', 'topology', 'align', 'no-align']
const SIMULATE_BOOLEANS = ['json', 'align', 'no-align']

function fail(message: string): never {
  throw new UserError(`sweep: ${message}`, 'bad-flag')
}

/** argv split into sweep's flags (all --sbatch values kept) and the simulate command line */
function splitArgv(argv: string[]): { own: string[]; sbatch: string[]; sim: string[] } {
  const own: string[] = []
  const sbatch: string[] = []
  const sim: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    const eq = a.indexOf('=')
    const name = a.startsWith('--') ? a.slice(2, eq < 0 ? undefined : eq) : ''
    const kind = OWN[name]
    const takesValue = kind !== undefined ? kind !== 'boolean' : a.startsWith('--') && !SIMULATE_BOOLEANS.includes(name)
    const parts = takesValue && eq < 0 && i + 1 < argv.length ? [a, argv[++i]!] : [a]
    if (name === 'sbatch') sbatch.push(eq < 0 ? (parts[1] ?? fail('--sbatch needs a value')) : a.slice(eq + 1))
    else if (kind !== undefined) own.push(...parts)
    else sim.push(...parts)
  }
  return { own, sbatch, sim }
}

/** the simulate flag's value in argv, or undefined */
function valueOf(argv: string[], name: string): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === `--${name}`) return argv[i + 1]
    if (argv[i]!.startsWith(`--${name}=`)) return argv[i]!.slice(name.length + 3)
  }
  return undefined
}

/** argv without the named flags (and their values) */
function without(argv: string[], names: string[]): string[] {
  const out: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    const eq = a.indexOf('=')
    const name = a.startsWith('--') ? a.slice(2, eq < 0 ? undefined : eq) : ''
    if (names.includes(name)) {
      if (eq < 0 && !SIMULATE_BOOLEANS.includes(name)) i++
      continue
    }
    out.push(a)
  }
  return out
}

function list(flag: string, v: string | undefined, kind: 'number' | 'string'): string[] | undefined {
  if (v === undefined) return undefined
  const items = v.split(',').map((s) => s.trim()).filter((s) => s.length > 0)
  if (items.length === 0) fail(`--${flag} is empty (give a comma-separated list)`)
  if (kind === 'number' && items.some((s) => !Number.isFinite(Number(s)))) fail(`--${flag} ${v}: every item must be a number`)
  return items
}

/** node and the diffmd command (bin/diffmd.js beside the CLI bundle), as the job script runs them; DIFFMD_BIN overrides */
function diffmdCommand(): string[] {
  const env = process.env.DIFFMD_BIN
  if (env) return [process.execPath, path.resolve(env)]
  const bundle = findBundledWorker('diffmd.mjs', 'DIFFMD_CLI_BUNDLE')
  const bin = bundle ? path.resolve(path.dirname(bundle), '..', '..', 'bin', 'diffmd.js') : undefined
  if (!bin || !existsSync(bin)) fail('cannot find bin/diffmd.js beside the CLI bundle (out/cli/diffmd.mjs); run `npm run build:cli`, or set DIFFMD_BIN to the diffmd.js the compute nodes run')
  return [process.execPath, bin]
}

async function create(flags: Record<string, string | number | boolean | undefined>, sbatchExtra: string[], sim: string[]): Promise<number> {
  const dir = flags.out as string | undefined
  if (dir === undefined) fail('--out DIR is required (the job folder to write)')
  for (const r of RESERVED) if (valueOf(sim, r) !== undefined || sim.includes(`--${r}`)) fail(`--${r} is set by the sweep itself; leave it out (see diffmd sweep --help)`)
  if (valueOf(sim, 'out') !== undefined) fail('--out names the job folder; the shards write their own frames')
  const models = list('models', flags.models as string | undefined, 'string')
  const dts = list('dts', flags.dts as string | undefined, 'number')
  const seeds = list('seeds', flags.seeds as string | undefined, 'number')
  if (models && valueOf(sim, 'model') !== undefined) fail('give --models or --model, not both')
  if (models && valueOf(sim, 'system') !== undefined) fail('--models runs learned models; leave out --system')
  if (dts && (valueOf(sim, 'dt') !== undefined || valueOf(sim, 'eta') !== undefined)) fail('give --dts or --dt/--eta, not both')
  if (dts && valueOf(sim, 'diffusion') === undefined) fail('--dts needs --diffusion D (Å²/ps): η = D·Δt')
  if (seeds && valueOf(sim, 'seed') !== undefined) fail('give --seeds or --seed, not both')
  const blocks = positiveFlag('sweep', flags, 'replica-blocks', 1)
  const throttle = positiveFlag('sweep', flags, 'throttle', 8)
  const threadsPerTask = positiveFlag('sweep', flags, 'threads-per-task', 1)

  try {
    const names = await fs.readdir(dir)
    if (names.length > 0) fail(`--out ${dir}: the folder is not empty; give a new folder`)
  } catch (err) {
    if (err instanceof UserError) throw err
  }
  await fs.mkdir(path.join(dir, 'models'), { recursive: true })
  await fs.mkdir(path.join(dir, 'logs'), { recursive: true })

  // the grid: each model × Δt × seed, in that order
  const combos: { model?: string; dt?: string; seed?: string }[] = []
  for (const model of models ?? [undefined]) for (const dt of dts ?? [undefined]) for (const seed of seeds ?? [undefined]) combos.push({ model, dt, seed })
  // each file the runs name is copied into the job's models/ once, under `${stem}${n}${ext}`
  const copied = new Map<string, string>()
  const counts = new Map<string, number>()
  const copyOnce = async (file: string, stem: string, ext: string, alongside?: (src: string, rel: string) => Promise<void>): Promise<string> => {
    const src = path.resolve(file)
    let rel = copied.get(src)
    if (rel === undefined) {
      const n = counts.get(stem) ?? 0
      counts.set(stem, n + 1)
      rel = path.join('models', `${stem}${n}${ext}`)
      await fs.copyFile(src, path.join(dir, rel))
      await alongside?.(src, rel)
      copied.set(src, rel)
    }
    return rel
  }
  const runs: SweepRun[] = []
  const shards: SweepShard[] = []
  for (const [i, c] of combos.entries()) {
    let argv = without(sim, [...(c.model ? ['model'] : []), ...(c.dt ? ['dt'] : []), ...(c.seed ? ['seed'] : [])])
    if (c.model) argv.push('--model', c.model)
    if (c.dt) argv.push('--dt', c.dt)
    if (c.seed) argv.push('--seed', c.seed)
    // the job names its noise kind, so a later diffmd with another default runs its shards the same way
    if (valueOf(argv, 'noise') === undefined) argv.push('--noise', DEFAULT_NOISE)
    const prep = await prepareRun([...argv, '--out', 'check.json'])
    const id = `r${i}`
    await fs.mkdir(path.join(dir, 'runs', id), { recursive: true })
    const init = path.join('runs', id, 'init.f32')
    await writeFileAtomic(path.join(dir, init), Buffer.from(prep.init.buffer, prep.init.byteOffset, prep.init.byteLength))
    argv = without(argv, INIT_ONLY)
    if (prep.modelFile !== undefined) {
      const rel = await copyOnce(prep.modelFile, 'm', '.onnx', async (src, to) => {
        const card = await findCard(src)
        if (card) await fs.copyFile(card.file, path.join(dir, to.replace(/\.onnx$/, '.card.json')))
      })
      argv = [...without(argv, ['model']), '--model', rel]
    }
    // the covariance kernel's frames travel with the job like the model (runShardTask resolves the
    // path in the job folder), so a sweep from another folder or machine finds them
    const mhFrames = valueOf(argv, 'mh-frames-f32')
    if (mhFrames !== undefined) argv = [...without(argv, ['mh-frames-f32']), '--mh-frames-f32', await copyOnce(mhFrames, 'mh-frames', '.f32')]
    const label = [c.model ? `model=${path.basename(c.model)}` : '', c.dt ? `dt=${c.dt}` : '', c.seed ? `seed=${c.seed}` : ''].filter(Boolean).join(' ') || 'run'
    runs.push({ id, label, args: argv, replicas: prep.replicas, frames: prep.frames, dim: prep.dim, init })
    for (const [a, n] of splitReplicas(0, prep.replicas, blocks, prep.quantum)) shards.push({ task: shards.length, run: id, replicaStart: a, replicaCount: n })
  }
  const manifest: SweepManifest = { format: 'diffmd-sweep', version: 1, createdBy: `diffmd ${VERSION}`, createdAt: new Date().toISOString(), threadsPerTask, throttle, runs, shards }
  await writeJsonAtomic(path.join(dir, MANIFEST), manifest)
  const script = path.join(dir, SBATCH)
  await writeFileAtomic(script, sbatchScript(dir, manifest, diffmdCommand(), sbatchExtra))
  await fs.chmod(script, 0o755)
  process.stdout.write(`wrote ${dir}: ${runs.length} run${runs.length === 1 ? '' : 's'}, ${shards.length} shard${shards.length === 1 ? '' : 's'} (array tasks 0-${shards.length - 1}, at most ${throttle} at once); submit with: sbatch ${script}\n`)
  if (flags.submit) {
    const r = spawnSync('sbatch', ['--parsable', script], { encoding: 'utf8' })
    if (r.error) throw new UserError(`sweep --submit: cannot run sbatch (${(r.error as NodeJS.ErrnoException).code ?? r.error.message}); submit from a Slurm login node, or run diffmd sweep --local ${dir}`, 'unavailable')
    if (r.status !== 0) throw new UserError(`sweep --submit: sbatch failed: ${(r.stderr || r.stdout).trim().split('\n')[0]}`, 'unavailable')
    process.stdout.write(`submitted job ${r.stdout.trim()}\n`)
  }
  return 0
}

/** runs shard `task` of the job folder: resumes its checkpoint, leaves frames.json when done */
export async function runShardTask(dir: string, task: number, threads?: number): Promise<number> {
  const m = await readManifest(dir)
  const shard = m.shards[task]
  if (!shard || shard.task !== task) fail(`--task ${task}: the job has tasks 0 … ${m.shards.length - 1}`)
  const run = m.runs.find((r) => r.id === shard.run)
  if (!run) fail(`${dir}/${MANIFEST}: shard ${task} names run ${shard.run}, which is not in the manifest`)
  const out = shardFramesFile(dir, task)
  try {
    await fs.access(out)
    process.stdout.write(`shard ${task} is already done (${out})\n`)
    return 0
  } catch {
    // not done yet
  }
  const args = run.args.slice()
  const mi = args.indexOf('--model')
  if (mi >= 0) args[mi + 1] = path.resolve(dir, args[mi + 1]!)
  // the covariance down kernel's frames travel in the job folder too
  const fi = args.indexOf('--mh-frames-f32')
  if (fi >= 0) args[fi + 1] = path.resolve(dir, args[fi + 1]!)
  return simulate.run([
    ...args,
    '--init-f32', path.resolve(dir, run.init),
    '--replica-range', `${shard.replicaStart}:${shard.replicaCount}`,
    '--threads', String(threads ?? m.threadsPerTask),
    '--checkpoint', shardCheckpointDir(dir, task),
    '--out', out,
  ])
}

const cmd: Command = {
  summary: 'split runs into shards: a Slurm job array, or all local cores',
  usage,
  async run(argv) {
    const { own, sbatch, sim } = splitArgv(argv)
    const { flags } = parseArgs('sweep', own, { ...OWN, sbatch: 'string' })
    if (flags['run-shard'] !== undefined) {
      if (sim.length) fail(`--run-shard takes only --task (got ${sim[0]})`)
      if (flags.task === undefined) fail('--run-shard DIR needs --task K (Slurm: --task "$SLURM_ARRAY_TASK_ID")')
      const task = flags.task as number
      if (!Number.isInteger(task) || task < 0) fail(`--task must be a whole number ≥ 0 (got ${task})`)
      return runShardTask(flags['run-shard'] as string, task)
    }
    if (flags.local !== undefined) {
      if (sim.length) fail(`--local takes no simulate flags (got ${sim[0]}); they are in the job folder`)
      const dir = flags.local as string
      const m = await readManifest(dir)
      const threads = availableParallelism()
      for (const s of m.shards) {
        const code = await runShardTask(dir, s.task, Math.max(threads, m.threadsPerTask))
        if (code !== 0) return code
      }
      process.stdout.write(`all ${m.shards.length} shards of ${dir} are done; join them with: diffmd merge ${dir}\n`)
      return 0
    }
    return create(flags, sbatch, sim)
  },
}
export default cmd
