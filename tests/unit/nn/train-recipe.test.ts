/**
 * The training recipe end to end through `diffmd train` (in process): the consistency term, EMA and
 * antithetic pairs are the defaults for energy models, recorded in the card; flags override them;
 * bad values are one-line UserErrors naming the flag. Plus a checkpoint round trip that keeps the
 * EMA, and the resumed run equals the uninterrupted one with all options on.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import train from '../../../src/cli/commands/train'
import { UserError } from '../../../src/core/errors'
import { trainModel, DEFAULT_RECIPE, type TrainCheckpoint, type TrainOptions } from '../../../src/core/nn/trainer'
import { decodeTrainCheckpoint, encodeTrainCheckpoint } from '../../../src/core/nn/checkpoint'
import type { ModelCard } from '../../../src/core/nn/card'
import type { OrtRuntime } from '../../../src/core/nn/runtime'
import { NormalStream } from '../../../src/core/rng/normals'
import { ort } from './helpers'

let dir = ''
let data = ''
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'diffmd-recipe-'))
  // 300 frames of a 3-D correlated Gaussian, as a JSON trajectory (not aligned)
  const z = new Float32Array(300 * 3)
  new NormalStream(4, 0).fill(z)
  const frames = Array.from({ length: 300 }, (_, f) => [z[3 * f]!, 0.5 * z[3 * f]! + 0.3 * z[3 * f + 1]!, 0.2 * z[3 * f + 2]!])
  data = path.join(dir, 'g3.json')
  await writeFile(data, JSON.stringify({ meta: {}, frames: [frames] }))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

async function run(args: string[]): Promise<ModelCard> {
  const out = path.join(dir, `m${Math.random().toString(36).slice(2, 8)}.onnx`)
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation(() => true)
  const spyErr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
  try {
    expect(await train.run(['--data', data, '--out', out, '--width', '16', '--depth', '2', '--emb', '4', '--batch', '32', '--in-process', '--quiet', ...args])).toBe(0)
  } finally {
    spy.mockRestore()
    spyErr.mockRestore()
  }
  return JSON.parse(await readFile(out.replace(/\.onnx$/, '.card.json'), 'utf8')) as ModelCard
}

describe('diffmd train: the recipe', () => {
  it('defaults to an energy model with the consistency term, EMA and antithetic pairs, all in the card', async () => {
    const card = await run(['--steps', '30'])
    expect(card.architecture).toMatchObject({ arch: DEFAULT_RECIPE.arch })
    const t = card.training!
    expect(t.ema).toBe(DEFAULT_RECIPE.ema)
    expect(t.antithetic).toBe(true)
    expect(t.consistency!.weight).toBe(DEFAULT_RECIPE.consistency.weight)
    // σ range in Å = [0.02, 4]·σ_data
    expect(t.consistency!.sigmaRange[0] / card.sigmaData!).toBeCloseTo(0.02, 12)
    expect(t.consistency!.sigmaRange[1] / card.sigmaData!).toBeCloseTo(4, 12)
    expect(t.consistency!.trainPenalty).toBeGreaterThan(0)
  }, 120_000)

  it('flags override it; a score model has no consistency entry', async () => {
    const card = await run(['--steps', '20', '--consistency', '0.5', '--consistency-sigma-max', '0.3', '--ema', '0', '--no-antithetic', '--head', 'bounded'])
    expect(card.architecture).toMatchObject({ head: 'bounded' })
    expect(card.training!.ema).toBeUndefined()
    expect(card.training!.antithetic).toBeUndefined()
    expect(card.training!.consistency!.weight).toBe(0.5)
    expect(card.training!.consistency!.sigmaRange[1]).toBeCloseTo(0.3, 6)
    expect(card.training!.consistency!.probes).toBeUndefined()
    const two = await run(['--steps', '20', '--consistency-probes', '2', '--consistency-spread', '4'])
    expect(two.training!.consistency!.probes).toBe(2)
    expect(two.training!.consistency!.spread).toBe(4)
    expect(two.training!.consistency!.trainPenalty).not.toBeNull()
    const score = await run(['--steps', '20', '--arch', 'score-mlp'])
    expect(score.training!.consistency).toBeUndefined()
  }, 120_000)

  it('bad values are one-line UserErrors naming the flag', async () => {
    const bad = async (args: string[], re: RegExp) => {
      const err = await train.run(['--data', data, '--out', path.join(dir, 'x.onnx'), '--steps', '5', ...args]).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(UserError)
      expect((err as Error).message).toMatch(re)
      expect((err as Error).message.split('\n')).toHaveLength(1)
    }
    await bad(['--ema', '1'], /--ema/)
    await bad(['--consistency', '-1'], /--consistency/)
    await bad(['--consistency-probes', '3'], /--consistency-probes must be 1 or 2/)
    await bad(['--consistency-spread', '0.5'], /--consistency-spread must be a factor ≥ 1/)
    await bad(['--arch', 'score-mlp', '--consistency', '0.1'], /--consistency needs --arch energy-mlp/)
    await bad(['--consistency-sigma-min', '0.5', '--consistency-sigma-max', '0.1'], /--consistency-sigma-max/)
    await bad(['--head', 'wide'], /--head/)
  }, 60_000)
})

describe('checkpoints with the full recipe', () => {
  it('keep the EMA, and a resumed run equals the uninterrupted one bit for bit', async () => {
    const z = new Float32Array(200 * 2)
    new NormalStream(6, 0).fill(z)
    const d = { frames: z, nFrames: 200, dim: 2 }
    const o: TrainOptions = { arch: 'energy-mlp', width: 8, depth: 2, embDim: 4, steps: 40, batch: 16, seed: 2, evalEvery: 20, patience: 0, ema: 0.9, antithetic: true, consistency: { weight: 0.05, groups: 2, groupSize: 4 } }
    const rt = ort as unknown as OrtRuntime
    const full = await trainModel(rt, d, o)
    let mid: TrainCheckpoint | null = null
    await trainModel(rt, d, { ...o }, { onCheckpoint: (ck) => void (ck.step === 20 && (mid = decodeTrainCheckpoint(encodeTrainCheckpoint(ck)))) })
    expect(mid).not.toBeNull()
    expect(mid!.ema).toHaveLength(full.params.length)
    const resumed = await trainModel(rt, d, o, {}, mid!)
    resumed.params.forEach((p, i) => expect(Array.from(p)).toEqual(Array.from(full.params[i]!)))
    // the kept parameters are the EMA, not the raw weights
    expect(Array.from(full.checkpoint.ema![0]!)).not.toEqual(Array.from(full.checkpoint.params[0]!))
  }, 120_000)
})
