/**
 * Noise kinds (docs/random-numbers.md "Which kind a run uses"): new runs use ziggurat normals and
 * record it; a checkpoint written before noise kinds (no `noise` key) continues with Box–Muller,
 * bit for bit what the uninterrupted old run made; a named kind that contradicts the checkpoint
 * or a --checkpoint folder is refused in one line; bad kinds are refused by name.
 */
import { describe, expect, it } from 'vitest'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { runTrajectory } from '../../../src/core/sampler/runner'
import { validateParams, type SamplerParams } from '../../../src/core/sampler/params'
import { checkpointFromJson, checkpointToJson, type Checkpoint } from '../../../src/core/sampler/checkpoint'
import { HarmonicModel } from '../../../src/core/score/analytic/harmonic'
import { checkpointFolderNoise, openCheckpointDir } from '../../../src/cli/checkpoint-dir'
import { gaussianInit } from './stats'

const model = new HarmonicModel({ kappa: 1.5, beta: 1, dim: 3 })
const base: SamplerParams = { mode: 'bridge', eta: 0.1, innerSteps: 2, denoiseSteps: 5, sigmaMin: 0.05, replicas: 3, frames: 9, seed: 11 }
const init = gaussianInit(3, 3, 1, 4)

async function checkpointAt(params: SamplerParams, frame: number): Promise<Checkpoint> {
  let cp: Checkpoint | undefined
  await runTrajectory(model, { ...params, frames: frame + 1 }, init, { checkpointEvery: frame, onCheckpoint: (c) => {
    cp = c
  } })
  return checkpointFromJson(checkpointToJson(cp!), 'test')
}

describe('noise kinds', () => {
  it('a new run uses ziggurat normals and records them in its metadata and checkpoints', async () => {
    const dflt = await runTrajectory(model, base, init)
    const zig = await runTrajectory(model, { ...base, noise: 'ziggurat' }, init)
    const bm = await runTrajectory(model, { ...base, noise: 'box-muller' }, init)
    expect(Array.from(dflt.trajectory.data)).toEqual(Array.from(zig.trajectory.data))
    expect(Array.from(dflt.trajectory.data)).not.toEqual(Array.from(bm.trajectory.data))
    expect(dflt.trajectory.meta.noise).toBe('ziggurat')
    expect(bm.trajectory.meta.noise).toBe('box-muller')
    expect((await checkpointAt(base, 4)).params.noise).toBe('ziggurat')
  })

  it('a checkpoint from before noise kinds resumes with Box–Muller, equal to the uninterrupted old run', async () => {
    const old = await runTrajectory(model, { ...base, noise: 'box-muller' }, init)
    const cp = await checkpointAt({ ...base, noise: 'box-muller' }, 4)
    delete cp.params.noise // as written by an earlier version
    const resumed = await runTrajectory(model, base, init, { resumeFrom: cp })
    expect(resumed.trajectory.meta.noise).toBe('box-muller')
    const d = 3
    const F = base.frames
    // resumed frames 4 … 8 of each replica against the old run's
    for (let r = 0; r < base.replicas; r++) {
      const got = resumed.trajectory.data.subarray(r * 5 * d, (r + 1) * 5 * d)
      const want = old.trajectory.data.subarray((r * F + 4) * d, (r * F + 9) * d)
      expect(Array.from(got)).toEqual(Array.from(want))
    }
    await expect(runTrajectory(model, { ...base, noise: 'ziggurat' }, init, { resumeFrom: cp })).rejects.toThrow(/checkpoint was written with noise = box-muller, this run has ziggurat/)
  })

  it('refuses an unknown kind by name', () => {
    expect(() => validateParams(model, { ...base, noise: 'gauss' as never })).toThrow(/^noise \(--noise\) must be one of box-muller, ziggurat \(got 'gauss'\)$/)
  })

  it('a --checkpoint folder from before noise kinds continues with Box–Muller; a contradicting --noise is refused', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'diffmd-noise-'))
    try {
      const first = await openCheckpointDir(dir, { ...base, noise: 'box-muller' }, 3, 'harmonic', init, 4)
      await first.remove().catch(() => undefined)
      // a settings.json as an earlier version wrote it: no noise key
      await openCheckpointDir(dir, { ...base, noise: 'box-muller' }, 3, 'harmonic', init, 4)
      const file = path.join(dir, 'settings.json')
      const settings = JSON.parse(await readFile(file, 'utf8')) as { sampler: Record<string, unknown> }
      expect(settings.sampler.noise).toBe('box-muller')
      delete settings.sampler.noise
      await writeFile(file, JSON.stringify(settings))
      const p: SamplerParams = { ...base }
      await openCheckpointDir(dir, p, 3, 'harmonic', init, 4)
      expect(p.noise).toBe('box-muller')
      await expect(openCheckpointDir(dir, { ...base, noise: 'ziggurat' }, 3, 'harmonic', init, 4)).rejects.toThrow(/holds a run with another noise \("box-muller" vs "ziggurat"\)/)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
  it('a threaded --checkpoint folder names its kind from its replica blocks, Box–Muller when they predate kinds', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'diffmd-noise-'))
    try {
      expect(await checkpointFolderNoise(dir)).toBeUndefined()
      expect(await checkpointFolderNoise(path.join(dir, 'absent'))).toBeUndefined()
      // a block folder as simulate --threads makes it (replicas-A-B/settings.json)
      const block = path.join(dir, 'replicas-0-2')
      await mkdir(block)
      await openCheckpointDir(block, { ...base, noise: 'ziggurat' }, 3, 'harmonic', init, 4)
      expect(await checkpointFolderNoise(dir)).toBe('ziggurat')
      const file = path.join(block, 'settings.json')
      const settings = JSON.parse(await readFile(file, 'utf8')) as { sampler: Record<string, unknown> }
      delete settings.sampler.noise
      await writeFile(file, JSON.stringify(settings))
      expect(await checkpointFolderNoise(dir)).toBe('box-muller')
      // a one-thread folder answers from its own settings
      expect(await checkpointFolderNoise(block)).toBe('box-muller')
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
