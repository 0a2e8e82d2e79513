/**
 * `diffmd simulate --threads N` (docs/cluster.md): replicas split into blocks run by worker threads
 * with their own onnxruntime sessions give the one-thread frames bit for bit, because replica r
 * draws noise stream r whichever block holds it and learned-model blocks start at multiples of 16
 * replicas (onnxruntime's GEMM tiles). Uneven splits included (R = 5 → 3 + 2; R = 26 → 16 + 10).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { trajectoryFromJson, type Trajectory } from '../../../src/core/trajectory'
import { blocksOfSize, splitReplicas } from '../../../src/cli/simulate-threads'

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
  expect(r.stderr.replace(/diffmd: warning: .*\n/g, '')).toBe('')
  expect(r.status).toBe(0)
  return trajectoryFromJson(readFileSync(out, 'utf8'), out)
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
    ['bridge (tweedie, one call of 2B rows)', []],
    ['bridge-mh', ['--mode', 'bridge-mh']],
  ])('the shipped ala2 model, R = 26 split 16 + 10: %s', (_name, extra) => {
    const args = ['--model', MODEL, '--dt', '1', '--diffusion', '0.01', '--replicas', '26', '--frames', '5', '--seed', '5', ...extra]
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

  it('--replica-range: a learned model refuses a block that does not start at a multiple of 16', () => {
    const out = path.join(dir, 'x.json')
    const r = spawnSync(process.execPath, ['bin/diffmd.js', 'simulate', '--model', MODEL, '--dt', '1', '--diffusion', '0.01', '--replicas', '32', '--frames', '2', '--seed', '5', '--replica-range', '8:8', '--out', out], { encoding: 'utf8' })
    expect(r.status).toBe(2)
    expect(r.stderr).toMatch(/--replica-range 8:8: a learned model's blocks start at multiples of 16 replicas/)
  })
})
