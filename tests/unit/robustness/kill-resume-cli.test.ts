/**
 * kill -9 of a real `diffmd simulate --checkpoint` process, twice, then the same command again:
 * the trajectory is bit-identical to an uninterrupted run with the same seed (every frame once, in
 * order, none lost or duplicated), and the checkpoint folder is gone afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { trajectoryFromJson } from '../../../src/core/trajectory'

// the bin shim runs the bundle that `npm ci` (prepare) and `npm test` build
const built = existsSync('out/cli/diffmd.mjs')
const R = 16
const D = 8
const F = 10_000
const ROW = R * D * 4
const ARGS = ['simulate', '--system', 'double-well', '--dim', String(D), '--eta', '0.001', '--replicas', String(R), '--frames', String(F), '--seed', '3']

let dir: string
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'diffmd-kill-cli-'))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function framesOnDisk(ck: string): number {
  try {
    return Math.floor(statSync(path.join(ck, 'frames.f32')).size / ROW)
  } catch {
    return 0
  }
}

/** starts the command, waits until `atLeast` frames are on disk, kill -9s it; resolves with the frames on disk after the kill */
async function killMidway(out: string, ck: string, atLeast: number): Promise<number> {
  const child = spawn(process.execPath, ['bin/diffmd.js', ...ARGS, '--out', out, '--checkpoint', ck, '--checkpoint-every', '500'], { stdio: 'ignore' })
  const exited = new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_c, s) => r(s)))
  const t0 = Date.now()
  while (framesOnDisk(ck) < atLeast) {
    if (child.exitCode !== null) throw new Error('the run ended before it could be killed; make it longer')
    if (Date.now() - t0 > 60_000) throw new Error('no frames reached the disk within 60 s')
    await new Promise((r) => setTimeout(r, 5))
  }
  child.kill('SIGKILL')
  expect(await exited).toBe('SIGKILL')
  return framesOnDisk(ck)
}

describe.skipIf(!built)('diffmd simulate --checkpoint survives kill -9', () => {
  it('two kills mid-run, then the same command: frames bit-identical to an uninterrupted run', async () => {
    const ref = path.join(dir, 'ref.json')
    const r0 = spawnSync(process.execPath, ['bin/diffmd.js', ...ARGS, '--out', ref], { encoding: 'utf8' })
    expect(r0.status, r0.stderr).toBe(0)

    const out = path.join(dir, 'resumed.json')
    const ck = path.join(dir, 'ck')
    const first = await killMidway(out, ck, 1500)
    const second = await killMidway(out, ck, first + 1500)
    // both kills landed mid-run, and the second attempt continued where the first left off
    expect(first).toBeGreaterThanOrEqual(1500)
    expect(second).toBeGreaterThan(first)
    expect(second).toBeLessThan(F)
    expect(existsSync(out)).toBe(false)

    const r1 = spawnSync(process.execPath, ['bin/diffmd.js', ...ARGS, '--out', out, '--checkpoint', ck, '--checkpoint-every', '500'], { encoding: 'utf8' })
    expect(r1.status, r1.stderr).toBe(0)
    expect(r1.stderr).toMatch(new RegExp(`resuming from frame ${second - 1} stored in`))
    const a = trajectoryFromJson(readFileSync(ref, 'utf8'), ref)
    const b = trajectoryFromJson(readFileSync(out, 'utf8'), out)
    expect([b.replicas, b.frames, b.dim]).toEqual([R, F, D])
    // bit-identical: compare the float32 bit patterns
    const ua = new Uint32Array(a.data.buffer, a.data.byteOffset, a.data.length)
    const ub = new Uint32Array(b.data.buffer, b.data.byteOffset, b.data.length)
    let firstDiff = -1
    for (let i = 0; i < ua.length && firstDiff < 0; i++) if (ua[i] !== ub[i]) firstDiff = i
    expect(firstDiff).toBe(-1)
    expect(ub.length).toBe(ua.length)
    // the checkpoint folder's files are removed once the output is written
    expect(existsSync(ck)).toBe(false)
  }, 180_000)

  it('refuses to resume a checkpoint folder with other settings in one line naming the setting', async () => {
    const ck = path.join(dir, 'ck2')
    const out = path.join(dir, 'other.json')
    await killMidway(out, ck, 100)
    const other = ARGS.map((a, i) => (ARGS[i - 1] === '--seed' ? '4' : a))
    const r = spawnSync(process.execPath, ['bin/diffmd.js', ...other, '--out', out, '--checkpoint', ck], { encoding: 'utf8' })
    expect(r.status).toBe(2)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toMatch(/holds a run with another seed \(3 vs 4\); resume with the same settings, or give another folder/)
    expect(existsSync(out)).toBe(false)
  }, 120_000)
})
