/**
 * `diffmd simulate --threads N` (docs/cluster.md): replicas split into blocks run by worker threads
 * with their own onnxruntime sessions give the one-thread frames bit for bit, because replica r
 * draws noise stream r whichever block holds it and learned-model blocks start at multiples of 8
 * replicas for an even d (16 for an odd d: onnxruntime's vector kernels). Uneven splits included
 * (R = 5 → 3 + 2; R = 26 → 16 + 10; R = 16 → 8 + 8). A --checkpoint folder resumes with the blocks
 * it holds (checkpointFolderBlocks).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { trajectoryFromJson, type Trajectory } from '../../../src/core/trajectory'
import { blocksOfSize, modelReplicaQuantum, splitReplicas } from '../../../src/cli/simulate-threads'
import { checkpointFolderBlocks } from '../../../src/cli/checkpoint-dir'
import { mkdirSync } from 'node:fs'

// the bin shim runs the bundle (and the worker next to it) that `npm ci` (prepare) and `npm test` build
const built = existsSync('out/cli/diffmd.mjs') && existsSync('out/cli/simulate-worker.mjs')
const MODEL = 'resources/models/ala2-default.onnx'

let dir: string
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'diffmd-threads-'))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function simulate(args: string[]): Trajectory {
  const out = path.join(dir, `t${Math.random().toString(36).slice(2)}.json`)
  const r = spawnSync(process.execPath, ['bin/diffmd.js', 'simulate', ...args, '--out', out], { encoding: 'utf8', timeout: 120_000 })
  // the shipped model's card calibrates time by default (docs/self-check.md "Calibrated time"): one line says so
  expect(r.stderr.replace(/diffmd: (warning: |calibrated time \().*\n/g, '')).toBe('')
  expect(r.status).toBe(0)
  const t = trajectoryFromJson(readFileSync(out, 'utf8'), out)
  if (args.includes('--model') && !args.includes('bridge-mh')) expect(r.stderr).toContain('diffmd: calibrated time (self-check of ')
  return t
}

const bytes = (t: Trajectory): Buffer => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength)

describe('replica blocks', () => {
  it('splits as evenly as the quantum allows; the last block takes the rest', () => {
    expect(splitReplicas(0, 5, 2)).toEqual([[0, 3], [3, 2]])
    expect(splitReplicas(10, 7, 3)).toEqual([[10, 3], [13, 2], [15, 2]])
    expect(splitReplicas(0, 3, 8)).toEqual([[0, 1], [1, 1], [2, 1]])
    expect(splitReplicas(0, 1024, 2, 16)).toEqual([[0, 512], [512, 512]])
    expect(splitReplicas(0, 26, 2, 16)).toEqual([[0, 16], [16, 10]])
    expect(splitReplicas(0, 40, 2, 16)).toEqual([[0, 32], [32, 8]])
    // a learned model's tail block of fewer than 8 replicas joins the one before
    expect(splitReplicas(0, 21, 2, 16)).toEqual([[0, 21]])
    expect(splitReplicas(0, 5, 4, 16)).toEqual([[0, 5]])
    expect(blocksOfSize(70, 32, 16)).toEqual([[0, 32], [32, 38]])
    expect(blocksOfSize(72, 32, 16)).toEqual([[0, 32], [32, 32], [64, 8]])
    expect(blocksOfSize(5, 2)).toEqual([[0, 2], [2, 2], [4, 1]])
    // a learned model's quantum: 8 replicas when d is even (8·d floats is a multiple of 16), else 16
    expect([66, 96, 2, 9, 33].map(modelReplicaQuantum)).toEqual([8, 8, 8, 16, 16])
    expect(splitReplicas(0, 16, 2, modelReplicaQuantum(66))).toEqual([[0, 8], [8, 8]])
    expect(splitReplicas(0, 40, 2, modelReplicaQuantum(66))).toEqual([[0, 24], [24, 16]])
  })
})

describe('a --checkpoint folder made with --threads keeps its blocks', () => {
  it('reads the replica blocks that tile the run, and nothing from a folder that does not', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'diffmd-blocks-'))
    try {
      const made = (name: string, dirs: string[]) => {
        const d = path.join(root, name)
        for (const e of dirs) mkdirSync(path.join(d, e), { recursive: true })
        return d
      }
      // made by an older version with blocks of 16: 32 + 8 of 40 replicas
      expect(await checkpointFolderBlocks(made('old', ['replicas-32-39', 'replicas-0-31']), 0, 40)).toEqual([[0, 32], [32, 8]])
      // a shard's blocks start at its base
      expect(await checkpointFolderBlocks(made('shard', ['replicas-16-23', 'replicas-24-31']), 16, 16)).toEqual([[16, 8], [24, 8]])
      // a gap, an overlap, the wrong total, one block or none: not this run's blocks
      expect(await checkpointFolderBlocks(made('gap', ['replicas-0-7', 'replicas-9-15']), 0, 16)).toBeUndefined()
      expect(await checkpointFolderBlocks(made('overlap', ['replicas-0-8', 'replicas-8-15']), 0, 16)).toBeUndefined()
      expect(await checkpointFolderBlocks(made('short', ['replicas-0-7', 'replicas-8-15']), 0, 24)).toBeUndefined()
      expect(await checkpointFolderBlocks(made('one', ['replicas-0-15']), 0, 16)).toBeUndefined()
      expect(await checkpointFolderBlocks(path.join(root, 'missing'), 0, 16)).toBeUndefined()
    } finally {
      rmSync(root, { recursive: true, force: true })
    }
  })
})

describe.skipIf(!built)('diffmd simulate --threads: bit-identical to one thread', () => {
  it('analytic system, R = 5 split 3 + 2 (and 5 threads of one replica each)', () => {
    const args = ['--system', 'gmm', '--dim', '3', '--eta', '0.05', '--replicas', '5', '--frames', '40', '--seed', '11']
    const one = simulate([...args, '--threads', '1'])
    const two = simulate([...args, '--threads', '2'])
    const five = simulate([...args, '--threads', '5'])
    expect(one.meta.threads).toBe(1)
    expect(two.meta.threads).toBe(2)
    expect(five.meta.threads).toBe(5)
    expect(one.frames).toBe(40)
    expect(bytes(two).equals(bytes(one))).toBe(true)
    expect(bytes(five).equals(bytes(one))).toBe(true)
    expect(two.meta.rejections).toEqual(one.meta.rejections)
    // not a trivially constant trajectory: replicas move and differ from each other
    expect(one.data[39 * 3]).not.toBe(one.data[0])
    expect(one.data[40 * 3]).not.toBe(one.data[0])
  })

  it('--json reports the per-phase timing of a threaded run too (phases summed over the blocks)', () => {
    const out = path.join(dir, 'timed.json')
    const args = ['--system', 'gmm', '--dim', '3', '--eta', '0.05', '--replicas', '4', '--frames', '10', '--seed', '3', '--threads', '2', '--json', '--out', out]
    const r = spawnSync(process.execPath, ['bin/diffmd.js', 'simulate', ...args], { encoding: 'utf8', timeout: 120_000 })
    expect(r.status).toBe(0)
    const meta = JSON.parse(r.stdout.trim().split('\n').pop()!) as { threads: number; timing: Record<string, number> | null }
    expect(meta.threads).toBe(2)
    expect(meta.timing).not.toBeNull()
    for (const p of ['network', 'normals', 'totalMs', 'busyMs']) expect(typeof meta.timing![p], p).toBe('number')
    expect(meta.timing!.network!).toBeGreaterThan(0)
  })

  it.each([
    ['R = 26 split 16 + 10, bridge (tweedie, one call of 2B rows)', '26', '1', []],
    ['R = 26 split 16 + 10, bridge-mh', '26', '1', ['--mode', 'bridge-mh']],
    ['R = 16 split 8 + 8 (blocks of 8 for its even d), bridge (tweedie)', '16', '2', []],
    ['R = 16 split 8 + 8, bridge-mh', '16', '2', ['--mode', 'bridge-mh']],
  ])('the shipped ala2 model, %s', (_name, R, dt, extra) => {
    const args = ['--model', MODEL, '--dt', dt, '--diffusion', '0.01', '--replicas', R, '--frames', '5', '--seed', '5', ...extra]
    const one = simulate([...args, '--threads', '1'])
    const two = simulate([...args, '--threads', '2'])
    expect(two.meta.threads).toBe(2)
    expect(bytes(two).equals(bytes(one))).toBe(true)
    expect(two.meta.modelCalls).toBe(one.meta.modelCalls)
    expect(two.meta.acceptance ?? null).toEqual(one.meta.acceptance ?? null)
  }, 120_000)

  it('--threads 2 --checkpoint DIR: the same frames; the blocks keep their own folders, removed at the end', () => {
    const ck = path.join(dir, 'ck')
    const args = ['--system', 'double-well', '--dim', '2', '--eta', '0.01', '--replicas', '6', '--frames', '30', '--seed', '4']
    const one = simulate([...args, '--threads', '1'])
    const two = simulate([...args, '--threads', '2', '--checkpoint', ck, '--checkpoint-every', '7'])
    expect(bytes(two).equals(bytes(one))).toBe(true)
    expect(existsSync(ck) ? readdirSync(ck) : []).toEqual([])
  })

  it('a threaded --checkpoint run stopped by Ctrl-C resumes with its own blocks whatever --threads says, and equals the uninterrupted run', async () => {
    const ck = path.join(dir, 'ck-resume')
    const out = path.join(dir, 'resumed.json')
    const args = ['--system', 'double-well', '--dim', '2', '--eta', '0.01', '--replicas', '6', '--frames', '4000', '--seed', '8']
    // 2 threads: blocks 0–2 and 3–5; stopped once both blocks have frames on disk
    const child = spawn(process.execPath, ['bin/diffmd.js', 'simulate', ...args, '--threads', '2', '--checkpoint', ck, '--checkpoint-every', '10', '--out', out], { stdio: ['ignore', 'ignore', 'pipe'] })
    const stored = () => (existsSync(ck) ? readdirSync(ck).filter((e) => readdirSync(path.join(ck, e)).length > 1).length : 0)
    const t0 = Date.now()
    while (stored() < 2 && Date.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 50))
    child.kill('SIGINT')
    await new Promise((r) => child.on('exit', r))
    expect(readdirSync(ck).sort()).toEqual(['replicas-0-2', 'replicas-3-5'])
    // resumed with --threads 3 (blocks of 2 would ignore the stored frames): the folder's blocks are used
    const r = spawnSync(process.execPath, ['bin/diffmd.js', 'simulate', ...args, '--threads', '3', '--checkpoint', ck, '--out', out], { encoding: 'utf8', timeout: 120_000 })
    expect(r.status).toBe(0)
    expect(r.stderr).toMatch(/holds 2 replica blocks; resuming them on 2 threads/)
    expect(r.stderr).toMatch(/resumed from frames stored in/)
    const resumed = trajectoryFromJson(readFileSync(out, 'utf8'), out)
    expect(resumed.meta.threads).toBe(2)
    expect(bytes(resumed).equals(bytes(simulate([...args, '--threads', '1'])))).toBe(true)
    expect(existsSync(ck) ? readdirSync(ck) : []).toEqual([])
  }, 180_000)

  it('--replica-range: a learned model (d = 66, even) refuses a block that does not start at a multiple of 8', () => {
    const out = path.join(dir, 'x.json')
    const r = spawnSync(process.execPath, ['bin/diffmd.js', 'simulate', '--model', MODEL, '--dt', '1', '--diffusion', '0.01', '--replicas', '32', '--frames', '2', '--seed', '5', '--replica-range', '4:8', '--out', out], { encoding: 'utf8' })
    expect(r.status).toBe(2)
    expect(r.stderr).toMatch(/--replica-range 4:8: a learned model's blocks start at multiples of 8 replicas/)
  })
})
