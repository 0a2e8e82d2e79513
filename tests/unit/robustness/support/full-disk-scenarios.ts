/**
 * The full-disk scenarios, shared by full-disk.test.ts (a real 3 MiB tmpfs) and
 * full-disk-injected.test.ts (ENOSPC injected into node:fs writes where no tmpfs can be mounted):
 * a full disk during dataset import, a training checkpoint, a run append and an export. Each
 * time: one clear line naming the file and the full disk, the project still opens, and every file
 * that was there before is byte-identical. Then, with space freed, the same operation succeeds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { promises as fs, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import * as ort from 'onnxruntime-node'
import { gunzipSync } from 'node:zlib'
import { UserError } from '../../../../src/core/errors'
import { createProject, openProject } from '../../../../src/services/project/store'
import { importDataset, listDatasets } from '../../../../src/services/datasets'
import { appendRunFrames, createRun, getRunSummary } from '../../../../src/services/runs/store'
import { exportRun } from '../../../../src/services/runs/export'
import { runTrainingJob } from '../../../../src/services/models/train-run'
import type { OrtRuntime } from '../../../../src/core/nn/runtime'
import { params, runRows, sources } from '../../runs/helpers'
import { fileHashes } from './file-hashes'

export interface DiskEnv {
  /** a folder on the disk that fills up */
  root: string
  /** leaves about `leave` bytes of space */
  fill(leave: number): Promise<void>
  /** frees the space again */
  unfill(): Promise<void>
}

export function fullDiskSuite(title: string, env: () => DiskEnv, skip: boolean): void {
  let home: string
  let project: string
  let work: string
  let small: string
  let large: string
  const fill = (leave: number): Promise<void> => env().fill(leave)
  const unfill = (): Promise<void> => env().unfill()


function expectDiskFull(err: unknown, file: RegExp): void {
  expect(err).toBeInstanceOf(UserError)
  const msg = (err as Error).message
  expect(msg.split('\n')).toHaveLength(1)
  expect(msg).toMatch(file)
  expect(msg).toMatch(/the disk is full \((ENOSPC|EDQUOT)\); free some space and try again/)
}

/** the project opens, and no temporary file or folder is left behind */
async function stillOpens(): Promise<void> {
  expect((await openProject(home, 'full')).name).toBe('Full disk')
  const leftovers = Object.keys(fileHashes(project)).filter((f) => /(^|\/)\.[^/]*(tmp|creating)/.test(f))
  expect(leftovers).toEqual([])
}

describe.skipIf(skip)(title, () => {
  beforeAll(async () => {
    home = path.join(env().root, 'home')
    project = path.join(home, 'projects', 'full')
    work = mkdtempSync(path.join(tmpdir(), 'diffmd-full-disk-in-'))
    // real ala2 snapshots: 20 frames (small) and 2000 frames (large: ~530 kB of coordinates)
    const text = gunzipSync(readFileSync('resources/examples/ala2/ala2_snapshots_all.pdb.gz')).toString('latin1')
    const models = text.split(/^ENDMDL[^\n]*\n/m).filter((m) => m.includes('ATOM'))
    const subset = (n: number): string => models.slice(0, n).map((m) => m.replace(/^REMARK[^\n]*\n/gm, '') + 'ENDMDL\n').join('') + 'END\n'
    small = path.join(work, 'small.pdb')
    large = path.join(work, 'large.pdb')
    await fs.writeFile(small, subset(20))
    await fs.writeFile(large, subset(2000))
    await createProject(home, 'Full disk', 'full')
    await importDataset(project, [small])
  })
  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true })
  })

  it('dataset import: refused in one line, nothing half-written, earlier files intact; with space it imports', async () => {
    const before = fileHashes(project)
    await fill(64 * 1024)
    const err = await importDataset(project, [large]).catch((e: unknown) => e)
    expectDiskFull(err, new RegExp(`${project}/datasets/large-`))
    expect(fileHashes(project)).toEqual(before)
    await stillOpens()
    await unfill()
    const m = await importDataset(project, [large])
    expect(m.frames).toBe(2000)
    expect((await listDatasets(project)).map((d) => d.frames).sort()).toEqual([20, 2000])
  })

  it('run append: the batch is refused, the frames stored before stay byte-identical, the run resumes with space', async () => {
    const run = await createRun(home, { projectId: 'full', params: params({ replicas: 2, frames: 20000 }) }, sources())
    const row = 2 * 9
    await appendRunFrames(home, 'full', run.id, 0, new Uint8Array(runRows(0, 10, 2).buffer))
    const before = fileHashes(project)
    await fill(16 * 1024)
    // 8000 frames × 72 bytes = 576 kB: far more than is free
    const err = await appendRunFrames(home, 'full', run.id, 10, new Uint8Array(runRows(10, 8000, 2).buffer)).catch((e: unknown) => e)
    expectDiskFull(err, new RegExp(`run .*frames\\.f32: the disk is full`))
    expect((err as Error).message).toMatch(/the 10 frames stored before are kept; resume the run when there is space/)
    expect(fileHashes(project)).toEqual(before)
    expect(statSync(path.join(run.path, 'frames.f32')).size).toBe(10 * row * 4)
    await stillOpens()
    await unfill()
    expect(await appendRunFrames(home, 'full', run.id, 10, new Uint8Array(runRows(10, 8000, 2).buffer))).toEqual({ framesStored: 8010, written: 8000 })
    expect((await getRunSummary(home, 'full', run.id)).framesStored).toBe(8010)
  })

  it('export: refused in one line, no partial export file, earlier files intact; with space it exports', async () => {
    const run = (await fs.readdir(path.join(project, 'runs'))).filter((n) => !n.startsWith('.'))[0]!
    const before = fileHashes(project)
    await fill(16 * 1024)
    const err = await exportRun(home, 'full', run, 'dcd').catch((e: unknown) => e)
    expectDiskFull(err, /\.(dcd|pdb)/)
    // the exports folder may now exist (empty); no file in it
    const after = fileHashes(project)
    expect(after).toEqual(before)
    await stillOpens()
    await unfill()
    const res = await exportRun(home, 'full', run, 'dcd')
    expect(res.frames).toBe(8010)
  })

  it('training checkpoint: the job fails in one line and the previous checkpoint stays byte-identical', async () => {
    const dir = path.join(project, 'models', 'toy')
    await fs.mkdir(dir, { recursive: true })
    const ckFile = path.join(dir, 'train-checkpoint.bin')
    await fs.writeFile(ckFile, Buffer.alloc(4096, 7)) // an earlier checkpoint
    const before = fileHashes(project)
    await fill(4 * 1024)
    const frames = new Float32Array(600)
    for (let i = 0; i < frames.length; i++) frames[i] = Math.sin(i * 1.7) + (i % 2 ? 1.5 : -1.5)
    const job = runTrainingJob(ort as unknown as OrtRuntime, {
      data: { frames, nFrames: 300, dim: 2 },
      options: { arch: 'score-mlp', width: 64, depth: 2, embDim: 16, steps: 20, batch: 16, lr: 1e-3, seed: 1, evalEvery: 10, valSamples: 32, bandSamples: 8, patience: 0 },
      checkpointFile: ckFile,
    })
    const err = await job.catch((e: unknown) => e)
    expectDiskFull(err, /train-checkpoint\.bin/)
    expect(fileHashes(project)).toEqual(before)
    await stillOpens()
    await unfill()
  })
})
}
