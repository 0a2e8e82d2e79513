/**
 * `diffmd sweep` and `diffmd merge` (docs/cluster.md): a grid (Δt × seeds) of runs split into
 * shards of replicas, each shard run as its own process (what a Slurm array task does), one of
 * them killed mid-run and run again; the merged runs equal the single-process runs with the same
 * seeds bit for bit. The shipped model's 40 replicas split 24 + 16 (blocks at multiples of 8 for its even d = 66).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { trajectoryFromJson, type Trajectory } from '../../../src/core/trajectory'
import type { SweepManifest } from '../../../src/services/cluster/job'

const built = existsSync('out/cli/diffmd.mjs') && existsSync('out/cli/simulate-worker.mjs')
const MODEL = 'resources/models/ala2-default.onnx'

let dir: string
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'diffmd-sweep-'))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function diffmd(args: string[], expectCode = 0): { stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['bin/diffmd.js', ...args], { encoding: 'utf8', timeout: 180_000 })
  if (r.status !== expectCode) throw new Error(`diffmd ${args.join(' ')} exited ${r.status}: ${r.stderr}`)
  return { stdout: r.stdout, stderr: r.stderr }
}
const read = (file: string): Trajectory => trajectoryFromJson(readFileSync(file, 'utf8'), file)
const bytes = (t: Trajectory): Buffer => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength)
const manifestOf = (job: string): SweepManifest => JSON.parse(readFileSync(path.join(job, 'manifest.json'), 'utf8')) as SweepManifest

describe.skipIf(!built)('diffmd sweep → shards → diffmd merge', () => {
  it('a Δt × seed grid of an analytic system, 2 shards per run (3 + 2 replicas): merged = single process, bit for bit', () => {
    const job = path.join(dir, 'grid')
    const sim = ['--system', 'gmm', '--dim', '2', '--diffusion', '0.1', '--replicas', '5', '--frames', '30']
    const { stdout } = diffmd(['sweep', '--out', job, '--dts', '0.5,1', '--seeds', '3,4', '--replica-blocks', '2', '--throttle', '3', ...sim])
    expect(stdout).toMatch(/4 runs, 8 shards/)
    const m = manifestOf(job)
    expect(m.runs.map((r) => r.label)).toEqual(['dt=0.5 seed=3', 'dt=0.5 seed=4', 'dt=1 seed=3', 'dt=1 seed=4'])
    expect(m.shards.map((s) => [s.run, s.replicaStart, s.replicaCount])).toEqual([
      ['r0', 0, 3], ['r0', 3, 2], ['r1', 0, 3], ['r1', 3, 2], ['r2', 0, 3], ['r2', 3, 2], ['r3', 0, 3], ['r3', 3, 2],
    ])
    const script = readFileSync(path.join(job, 'sweep.sbatch'), 'utf8')
    expect(script).toMatch(/^#SBATCH --array=0-7%3$/m)
    expect(script).toMatch(/sweep --run-shard \S+ --task "\$SLURM_ARRAY_TASK_ID"$/m)
    // merge before the tasks ran: refused, naming them
    const early = spawnSync(process.execPath, ['bin/diffmd.js', 'merge', job], { encoding: 'utf8' })
    expect(early.status).toBe(2)
    expect(early.stderr).toMatch(/tasks 0, 1, 2, 3, 4, 5, 6, 7 have not finished/)
    // each task as its own process, in a shuffled order
    for (const k of [5, 0, 7, 2, 1, 6, 3, 4]) diffmd(['sweep', '--run-shard', job, '--task', String(k)])
    const { stdout: merged } = diffmd(['merge', job, '--json'])
    const runs = (JSON.parse(merged) as { runs: { id: string; file: string }[] }).runs
    expect(runs.map((r) => r.id)).toEqual(['r0', 'r1', 'r2', 'r3'])
    for (const [i, [dt, seed]] of [['0.5', '3'], ['0.5', '4'], ['1', '3'], ['1', '4']].entries()) {
      const ref = path.join(dir, `ref${i}.json`)
      diffmd(['simulate', ...sim, '--dt', dt!, '--seed', seed!, '--threads', '1', '--out', ref])
      const a = read(ref)
      const b = read(runs[i]!.file)
      expect([b.replicas, b.frames, b.dim]).toEqual([5, 30, 2])
      expect(bytes(b).equals(bytes(a))).toBe(true)
      expect(b.meta.seed).toBe(Number(seed))
      expect(b.meta.dt).toBe(Number(dt))
    }
    // runs differ from each other (the grid is not one run four times)
    expect(bytes(read(runs[0]!.file)).equals(bytes(read(runs[1]!.file)))).toBe(false)
  }, 180_000)

  it('a task killed mid-run and run again resumes its checkpoint; the merged run is still the single-process run', async () => {
    const job = path.join(dir, 'kill')
    const sim = ['--system', 'double-well', '--dim', '8', '--eta', '0.001', '--replicas', '16', '--frames', '4000', '--seed', '3']
    diffmd(['sweep', '--out', job, '--replica-blocks', '2', ...sim])
    const ck = path.join(job, 'shards', '0', 'checkpoint', 'frames.f32')
    const child = spawn(process.execPath, ['bin/diffmd.js', 'sweep', '--run-shard', job, '--task', '0'], { stdio: 'ignore' })
    const exited = new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_c, s) => r(s)))
    const rowBytes = 8 * 8 * 4
    const t0 = Date.now()
    // wait for some frames on disk (the checkpoint appends in batches of 64)
    while (!(existsSync(ck) && statSync(ck).size >= 200 * rowBytes)) {
      if (Date.now() - t0 > 60_000) throw new Error('task 0 wrote no frames in 60 s')
      await new Promise((r) => setTimeout(r, 20))
    }
    child.kill('SIGKILL')
    expect(await exited).toBe('SIGKILL')
    const onDisk = statSync(ck).size / rowBytes
    expect(onDisk).toBeLessThan(4000)
    expect(existsSync(path.join(job, 'shards', '0', 'frames.json'))).toBe(false)
    const again = diffmd(['sweep', '--run-shard', job, '--task', '0'])
    expect(again.stderr).toMatch(/resuming from frame \d+/)
    diffmd(['sweep', '--run-shard', job, '--task', '1'])
    expect(readdirSync(path.join(job, 'shards', '0'))).toEqual(['frames.json'])
    diffmd(['merge', job])
    const ref = path.join(dir, 'kill-ref.json')
    diffmd(['simulate', ...sim, '--threads', '1', '--out', ref])
    expect(bytes(read(path.join(job, 'merged', 'r0.json'))).equals(bytes(read(ref)))).toBe(true)
  }, 180_000)

  it('the shipped model: one run of 40 replicas as shards of 24 + 16 (2 threads each), one task run alone, the rest with --local; self-contained folder', () => {
    const job = path.join(dir, 'model')
    const sim = ['--model', MODEL, '--dt', '1', '--diffusion', '0.01', '--replicas', '40', '--frames', '6', '--seed', '9']
    diffmd(['sweep', '--out', job, '--replica-blocks', '2', '--threads-per-task', '2', ...sim])
    expect(readFileSync(path.join(job, 'sweep.sbatch'), 'utf8')).toMatch(/^#SBATCH --cpus-per-task=2$/m)
    // task 0 on its 2 threads: blocks of 16 + 8 replicas, starting at 0 and 16 of the run
    diffmd(['sweep', '--run-shard', job, '--task', '0'])
    expect(read(path.join(job, 'shards', '0', 'frames.json')).meta.threads).toBe(2)
    const m = manifestOf(job)
    expect(m.shards.map((s) => [s.replicaStart, s.replicaCount])).toEqual([[0, 24], [24, 16]])
    expect(m.runs[0]!.args).toContain('models/m0.onnx')
    expect(readdirSync(path.join(job, 'models')).sort()).toEqual(['m0.card.json', 'm0.onnx'])
    expect(statSync(path.join(job, 'runs', 'r0', 'init.f32')).size).toBe(40 * 66 * 4)
    diffmd(['sweep', '--local', job])
    diffmd(['merge', job])
    const ref = path.join(dir, 'model-ref.json')
    diffmd(['simulate', ...sim, '--threads', '1', '--out', ref])
    expect(bytes(read(path.join(job, 'merged', 'r0.json'))).equals(bytes(read(ref)))).toBe(true)
  }, 180_000)

  it('bridge-mh with the covariance kernel: the --mh-frames-f32 file travels in the job folder; shards merged = one simulate, bit for bit', () => {
    const job = path.join(dir, 'mh')
    const card = JSON.parse(readFileSync('resources/models/ala2-default.card.json', 'utf8')) as { mean: number[] }
    const n = 300
    const frames = new Float32Array(n * 66)
    for (let f = 0; f < n; f++) for (let i = 0; i < 66; i++) frames[f * 66 + i] = card.mean[i]! + 0.05 * Math.sin(1.3 * f + 0.7 * i) + 0.02 * Math.cos(0.37 * f * (i + 1))
    const src = path.join(dir, 'elsewhere', 'frames.f32')
    mkdirSync(path.dirname(src), { recursive: true })
    writeFileSync(src, Buffer.from(frames.buffer))
    const sim = ['--model', MODEL, '--mode', 'bridge-mh', '--mh-kernel', 'covariance', '--mh-frames-f32', src, '--dt', '0.5', '--diffusion', '0.05', '--replicas', '4', '--frames', '5', '--seed', '3']
    diffmd(['sweep', '--out', job, '--replica-blocks', '2', ...sim])
    const m = manifestOf(job)
    expect(m.runs[0]!.args).toContain('models/mh-frames0.f32')
    expect(readFileSync(path.join(job, 'models', 'mh-frames0.f32')).equals(readFileSync(src))).toBe(true)
    // the original may go: the shards read the job's copy
    rmSync(src)
    diffmd(['sweep', '--local', job])
    diffmd(['merge', job])
    const ref = path.join(dir, 'mh-ref.json')
    diffmd(['simulate', ...sim.map((a) => (a === src ? path.join(job, 'models', 'mh-frames0.f32') : a)), '--threads', '1', '--out', ref])
    expect(bytes(read(path.join(job, 'merged', 'r0.json'))).equals(bytes(read(ref)))).toBe(true)
  }, 180_000)

  it('refuses flags the sweep sets itself, a folder in use, and a grid that contradicts the command line', () => {
    const sim = ['--system', 'harmonic', '--eta', '0.1', '--replicas', '2', '--frames', '3', '--seed', '1']
    expect(spawnSync(process.execPath, ['bin/diffmd.js', 'sweep', '--out', path.join(dir, 'x1'), ...sim, '--threads', '2'], { encoding: 'utf8' }).stderr).toMatch(/sweep: --threads is set by the sweep itself/)
    expect(spawnSync(process.execPath, ['bin/diffmd.js', 'sweep', '--out', path.join(dir, 'x2'), '--seeds', '1,2', ...sim], { encoding: 'utf8' }).stderr).toMatch(/give --seeds or --seed, not both/)
    const used = path.join(dir, 'used')
    mkdirSync(used)
    writeFileSync(path.join(used, 'a.txt'), 'x')
    expect(spawnSync(process.execPath, ['bin/diffmd.js', 'sweep', '--out', used, ...sim], { encoding: 'utf8' }).stderr).toMatch(/the folder is not empty/)
    expect(spawnSync(process.execPath, ['bin/diffmd.js', 'merge', path.join(dir, 'nothing')], { encoding: 'utf8' }).stderr).toMatch(/not a sweep job folder/)
  })
})
