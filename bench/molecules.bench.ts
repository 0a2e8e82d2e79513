/**
 * Larger molecules (issue 11): wall time and peak memory of the command line as a user runs it —
 * `diffmd dataset import`, `diffmd train` (default recipe: energy-mlp 256×3, batch 512) and
 * `diffmd simulate` (bridge, tweedie, M = 10, 4 replicas) — for a few hundred and a few thousand
 * atoms, CA-only and all-heavy. Each stage runs in its own process under /usr/bin/time (elapsed s,
 * peak RSS). Inputs, built in a temporary folder from bench/data/molecules (README there):
 *   2JUY heavy   the real NMR ensemble of PDB 2JUY (24 models), heavy atoms
 *   ADK CA       PDB 4AKE chain A, alpha carbons; ADK heavy: its heavy atoms; ADK×2 heavy: two copies
 *                (a 3,312-atom test system) — snapshots = the structure + Gaussian noise (σ 0.3 Å,
 *                seeded): timing does not depend on where the snapshots come from
 * The numbers calibrate src/core/limits (estimates shown before training and sampling).
 *
 *   npm run bench:molecules -- [--steps 200] [--frames 50] [--snapshots 500] [--only NAME,NAME] [--json FILE]
 */
import { findRoot } from './root'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir, cpus, totalmem } from 'node:os'
import path from 'node:path'
import { gunzipSync } from 'node:zlib'
import { readPdb, writePdb } from '../src/core/formats/pdb'
import type { Topology } from '../src/core/topology'
import { select } from '../src/core/selection'

const argv = process.argv.slice(2)
const arg = (name: string, fallback: string): string => {
  const i = argv.indexOf(`--${name}`)
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : fallback
}
const root = findRoot()
const steps = Number(arg('steps', '200'))
const frames = Number(arg('frames', '50'))
const snapshots = Number(arg('snapshots', '500'))
const only = arg('only', '')
  .split(',')
  .filter(Boolean)
const jsonOut = arg('json', '')
const cli = path.join(root, 'bin', 'diffmd.js')
const work = mkdtempSync(path.join(tmpdir(), 'diffmd-bench-mol-'))

function readGz(rel: string): ReturnType<typeof readPdb> {
  return readPdb(gunzipSync(readFileSync(path.join(root, 'bench/data/molecules', rel))).toString('latin1'), rel)
}

/** seeded standard normals (xorshift32 + Box–Muller) */
function normals(seed: number): () => number {
  let s = seed >>> 0 || 1
  const u = (): number => {
    s ^= s << 13
    s >>>= 0
    s ^= s >>> 17
    s ^= s << 5
    s >>>= 0
    return (s + 0.5) / 4294967296
  }
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u())
}

/** `n` snapshots: the structure plus N(0, σ²) on every coordinate */
function perturbed(ref: Float32Array, n: number, sigma: number, seed: number): Float32Array {
  const out = new Float32Array(n * ref.length)
  const g = normals(seed)
  for (let f = 0; f < n; f++) for (let i = 0; i < ref.length; i++) out[f * ref.length + i] = ref[i]! + sigma * g()
  return out
}

interface System {
  name: string
  file: string
  select: string
  atoms: number
  frames: number
}

function buildSystems(): System[] {
  const out: System[] = []
  const nmr = readGz('2juy_nmr_ensemble.pdb.gz')
  const nmrFile = path.join(work, '2juy.pdb')
  writeFileSync(nmrFile, writePdb(nmr.topology, nmr.frames, nmr.nFrames))
  out.push({ name: '2JUY heavy (NMR)', file: nmrFile, select: 'heavy', atoms: select(nmr.topology, 'heavy').length, frames: nmr.nFrames })

  const adk = readGz('4ake_chainA_heavy.pdb.gz')
  const adkFile = path.join(work, 'adk.pdb')
  writeFileSync(adkFile, writePdb(adk.topology, perturbed(adk.frames.subarray(0, 3 * adk.topology.atoms.length), snapshots, 0.3, 1), snapshots))
  out.push({ name: 'ADK CA', file: adkFile, select: 'name CA', atoms: select(adk.topology, 'name CA').length, frames: snapshots })
  out.push({ name: 'ADK heavy', file: adkFile, select: 'all', atoms: adk.topology.atoms.length, frames: snapshots })

  // two copies of ADK 50 Å apart (chains A and B): a few thousand atoms
  const n = adk.topology.atoms.length
  const dimer: Topology = { atoms: [...adk.topology.atoms.map((a) => ({ ...a, chainId: 'A' })), ...adk.topology.atoms.map((a) => ({ ...a, chainId: 'B', serial: a.serial + n }))] }
  const ref2 = new Float32Array(6 * n)
  ref2.set(adk.frames.subarray(0, 3 * n))
  for (let i = 0; i < n; i++) {
    ref2[3 * (n + i)] = adk.frames[3 * i]! + 50
    ref2[3 * (n + i) + 1] = adk.frames[3 * i + 1]!
    ref2[3 * (n + i) + 2] = adk.frames[3 * i + 2]!
  }
  const dimerFrames = Math.min(snapshots, 300)
  const dimerFile = path.join(work, 'adk2.pdb')
  writeFileSync(dimerFile, writePdb(dimer, perturbed(ref2, dimerFrames, 0.3, 2), dimerFrames))
  out.push({ name: 'ADK×2 heavy', file: dimerFile, select: 'all', atoms: 2 * n, frames: dimerFrames })
  return out
}

interface Stage {
  seconds: number
  peakMiB: number
  ok: boolean
  note?: string
}

/** runs the CLI under /usr/bin/time: elapsed seconds and peak RSS */
function timed(args: string[]): Stage {
  const r = spawnSync('/usr/bin/time', ['-f', 'TIME %e %M', process.execPath, cli, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 })
  const m = /TIME ([\d.]+) (\d+)\s*$/.exec(r.stderr)
  const ok = r.status === 0
  return { seconds: m ? Number(m[1]) : NaN, peakMiB: m ? Number(m[2]) / 1024 : NaN, ok, ...(ok ? {} : { note: (r.stderr.split('\n').find((l) => l.startsWith('diffmd:')) ?? r.stderr.slice(-300)).trim() }) }
}

const rows: Record<string, unknown>[] = []
for (const sys of buildSystems()) {
  if (only.length && !only.some((o) => sys.name.toLowerCase().includes(o.toLowerCase()))) continue
  const dir = path.join(work, sys.name.replace(/[^A-Za-z0-9]+/g, '_'))
  const project = path.join(dir, 'project')
  const model = path.join(dir, 'model.onnx')
  const traj = path.join(dir, 'traj.dcd')
  const imp = timed(['dataset', 'import', sys.file, '--project', project, '--select', sys.select, '--json'])
  const train = timed(['train', '--data', sys.file, '--select', sys.select, '--steps', String(steps), '--seed', '0', '--out', model, '--quiet'])
  const sim = train.ok
    ? timed(['simulate', '--model', model, '--dt', '5', '--diffusion', '0.0498868', '--temperature', '300', '--replicas', '4', '--frames', String(frames), '--seed', '1', '--out', traj])
    : { seconds: NaN, peakMiB: NaN, ok: false, note: 'no model' }
  const row = {
    system: sys.name,
    atoms: sys.atoms,
    dim: 3 * sys.atoms,
    snapshots: sys.frames,
    import: imp,
    train: { ...train, steps, secondsPerStep: train.seconds / steps },
    sample: { ...sim, frames, replicas: 4, secondsPerFrame: sim.seconds / frames },
  }
  rows.push(row)
  const f = (x: number, d = 1): string => (Number.isFinite(x) ? x.toFixed(d) : '–')
  process.stdout.write(
    `${sys.name.padEnd(18)} N=${String(sys.atoms).padStart(5)}  import ${f(imp.seconds, 2)} s ${f(imp.peakMiB, 0)} MiB${imp.ok ? '' : ` FAILED ${imp.note}`}  |  train ${steps} steps ${f(train.seconds)} s (${f(train.seconds / steps, 3)} s/step) ${f(train.peakMiB, 0)} MiB${train.ok ? '' : ` FAILED ${train.note}`}  |  sample 4×${frames} ${f(sim.seconds)} s (${f(sim.seconds / frames, 3)} s/frame) ${f(sim.peakMiB, 0)} MiB${sim.ok ? '' : ` FAILED ${sim.note}`}\n`
  )
}

const machine = { cpus: cpus().length, cpu: cpus()[0]?.model ?? '?', memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version }
process.stdout.write(`machine: ${machine.cpus} × ${machine.cpu}, ${machine.memoryGiB} GiB, Node ${machine.node}\n`)
if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ machine, steps, frames, rows }, null, 1))
rmSync(work, { recursive: true, force: true })
