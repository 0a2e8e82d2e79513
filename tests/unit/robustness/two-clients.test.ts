/**
 * Two clients on one project home, as real processes: the cross-process lock (services/fs/lock.ts)
 * serialises read-modify-writes and run appends, breaks locks left by dead processes, refuses with
 * a one-line 'busy' message when a live holder does not let go, and two servers starting at once
 * seed the Examples project once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { bundleClient, runClient } from './support/bundle'
import { withFileLock } from '../../../src/services/fs/lock'
import { createProject, openProject } from '../../../src/services/project/store'
import { createRun, getRunSummary, readRunFrames } from '../../../src/services/runs/store'
import { listDatasets } from '../../../src/services/datasets'
import { params, sources } from '../runs/helpers'

let client: string
let home: string
beforeAll(async () => {
  client = await bundleClient('tests/unit/robustness/support/client.ts')
  home = mkdtempSync(path.join(tmpdir(), 'diffmd-two-clients-'))
}, 120_000)
afterAll(() => rmSync(home, { recursive: true, force: true }))

describe('two processes on one project', () => {
  it('locked read-modify-writes from two processes lose no update (2 × 150 increments = 300)', async () => {
    const file = path.join(home, 'counter.json')
    writeFileSync(file, JSON.stringify({ count: 0 }))
    const a = runClient(client, ['counter', file, '150'])
    const b = runClient(client, ['counter', file, '150'])
    const [ra, rb] = await Promise.all([a.done, b.done])
    expect(ra.stderr + rb.stderr).toBe('')
    expect([ra.code, rb.code]).toEqual([0, 0])
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ count: 300 })
    expect(existsSync(`${file}.lock`)).toBe(false)
  })

  it('concurrent appends to one run from two processes: every frame written once, by one of them, whole', async () => {
    await createProject(home, 'Two clients', 'two')
    const F = 400
    const run = await createRun(home, { projectId: 'two', params: params({ replicas: 2, frames: F }) }, sources())
    const a = runClient(client, ['append', home, 'two', run.id, '1'])
    const b = runClient(client, ['append', home, 'two', run.id, '2'])
    const [ra, rb] = await Promise.all([a.done, b.done])
    expect(ra.stderr + rb.stderr).toBe('')
    const byA = JSON.parse(ra.stdout) as number[]
    const byB = JSON.parse(rb.stdout) as number[]
    // each frame index claimed (reported written) by exactly one process: none written twice, none lost
    const claims = [...byA, ...byB].sort((x, y) => x - y)
    expect(claims).toEqual(Array.from({ length: F }, (_, i) => i))
    // both processes really took part (otherwise this test would not be about concurrency)
    expect(Math.min(byA.length, byB.length)).toBeGreaterThan(0)
    const summary = await getRunSummary(home, 'two', run.id)
    expect(summary.framesStored).toBe(F)
    expect(summary.sizeBytes).toBeGreaterThan(0)
    const { bytes } = await readRunFrames(home, 'two', run.id)
    const rows = new Float32Array(Uint8Array.from(bytes).buffer)
    const row = 2 * 9
    const owner = new Map<number, number>([...byA.map((f) => [f, 1] as const), ...byB.map((f) => [f, 2] as const)])
    for (let f = 0; f < F; f++) {
      const v = owner.get(f)!
      // the whole row is the claimant's: value v·10⁶ + f + i/1000 (float32 of it)
      for (let i = 0; i < row; i++) expect(rows[f * row + i]).toBe(Math.fround(v * 1e6 + f + i / 1000))
    }
    expect(readdirSync(summary.path).filter((n) => n.endsWith('.lock'))).toEqual([])
  })

  it('a lock left by a process that was killed is broken at once; a live holder makes a waiter refuse with one line', async () => {
    const target = path.join(home, 'held.json')
    // a live holder: the waiter gives up after its timeout with a 'busy' message naming the holder
    let heldResolve: () => void
    const held = new Promise<void>((r) => (heldResolve = r))
    const h = runClient(client, ['hold', target, '60000'], (out) => {
      if (out.includes('held')) heldResolve()
    })
    await held
    const err = await withFileLock(target, async () => 'got it', { timeoutMs: 300, label: 'run test' }).catch((e: Error) => e)
    expect(err).toBeInstanceOf(Error)
    expect((err as Error).message).toMatch(new RegExp(`^run test: busy, process ${h.child.pid} is writing it; try again`))
    expect((err as Error).message.split('\n')).toHaveLength(1)
    // kill -9 the holder: its lock file stays behind, and the next caller breaks it
    h.child.kill('SIGKILL')
    await h.done
    expect(existsSync(`${target}.lock`)).toBe(true)
    await expect(withFileLock(target, async () => 'got it', { timeoutMs: 2000 })).resolves.toBe('got it')
    expect(existsSync(`${target}.lock`)).toBe(false)
  })

  it('two servers starting on one fresh home seed the Examples project once', async () => {
    const fresh = mkdtempSync(path.join(tmpdir(), 'diffmd-two-servers-'))
    try {
      const resources = path.resolve('resources')
      const a = runClient(client, ['examples', fresh, resources])
      const b = runClient(client, ['examples', fresh, resources])
      const [ra, rb] = await Promise.all([a.done, b.done])
      expect(ra.stderr + rb.stderr).toBe('')
      expect([ra.code, rb.code]).toEqual([0, 0])
      expect((await openProject(fresh, 'examples')).name).toBe('Examples')
      const ds = await listDatasets(path.join(fresh, 'projects', 'examples'))
      // seeded once: one ala2 (22 atoms) and one ala3 (32 atoms) dataset of 5000 snapshots each, no duplicates
      expect(ds.map((d) => d.dim).sort((x, y) => x - y)).toEqual([66, 96])
      expect(ds.map((d) => d.frames)).toEqual([5000, 5000])
      const models = readdirSync(path.join(fresh, 'projects', 'examples', 'models')).filter((n) => !n.startsWith('.'))
      expect(models).toHaveLength(1)
      expect(readdirSync(path.join(fresh, 'projects')).filter((n) => n !== 'examples')).toEqual([])
    } finally {
      rmSync(fresh, { recursive: true, force: true })
    }
  }, 120_000)
})
