/**
 * Seed ensembles (core/nn/ensemble.ts, `diffmd ensemble`): the one-file ensemble's score and energy
 * equal the means of its members run separately in onnxruntime-node, its score is still −∇ₓ of its
 * energy (central differences), members of different molecules or kinds are refused with one line,
 * and the CLI writes the file and a card that lists the members, or nothing at all.
 * Tolerances: float32 sums of two O(1) outputs in a different order (≤ 1e-6 relative, 1e-5 used);
 * the finite-difference check on float32 energies with step 1e-2: truncation O(h²·E''') ≈ 1e-4 and
 * rounding ≈ 6e-8·|E|/h ≈ 1e-5, so 2e-3 absolute on scores of O(1).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { mkdtemp, readFile, rm, writeFile, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { exportModelBytes } from '../../../src/core/nn/export'
import { initParams, type ArchConfig } from '../../../src/core/nn/arch'
import { buildEnsembleBytes, ensembleCard, ensembleProblem, type EnsembleMember } from '../../../src/core/nn/ensemble'
import { CARD_FORMAT, CARD_VERSION, type ModelCard } from '../../../src/core/nn/card'
import { sha256Hex } from '../../../src/services/models/hash'
import ensembleCmd from '../../../src/cli/commands/ensemble'
import { UserError } from '../../../src/core/errors'
import { ort, values } from './helpers'
import { decodeModel } from '../../../src/core/nn/onnx-proto'
import { SIGMA_DIM } from '../../../src/core/score/onnx-score'

const d = 6
const B = 5
const stats = { mean: Float32Array.from(values(d, 9, -1, 1)), sigmaData: 0.7 }

function member(arch: ArchConfig['arch'], seed: number, dim = d): EnsembleMember {
  const cfg: ArchConfig = { arch, dim, width: 16, depth: 2, embDim: 8 }
  const params = initParams(cfg, seed)
  // move the output layer off its initial values so the members differ at every σ
  const last = params[params.length - 2]!
  const v = values(last.length, seed + 100, -0.5, 0.5)
  for (let i = 0; i < last.length; i++) last[i] = v[i]!
  const bytes = exportModelBytes(cfg, params, dim === d ? stats : { mean: new Float32Array(dim), sigmaData: 0.7 })
  const card: ModelCard = {
    format: CARD_FORMAT,
    version: CARD_VERSION,
    name: `m${seed}`,
    architecture: { arch, width: 16, depth: 2, embDim: 8, parameters: params.reduce((s, p) => s + p.length, 0) },
    dim,
    aligned: false,
    sigmaData: 0.7,
    sigmaRange: [0.01, 20],
    data: { frames: 10, trainFrames: 9, valFrames: 1 },
    onnx: { sha256: sha256Hex(bytes), bytes: bytes.length, opset: 18, inputs: ['x', 'sigma'], outputs: arch === 'energy-mlp' ? ['score', 'energy'] : ['score'] },
    appVersion: 'test',
    createdAt: '2026-12-01T00:00:00Z',
  }
  return { bytes, card, file: `m${seed}.onnx` }
}

async function run(bytes: Uint8Array, x: Float32Array, sigma: Float32Array): Promise<{ score: Float32Array; energy?: Float32Array }> {
  const s = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 })
  try {
    const out = await s.run({ x: new ort.Tensor('float32', x, [sigma.length, x.length / sigma.length]), sigma: new ort.Tensor('float32', sigma, [sigma.length]) })
    return { score: out.score!.data as Float32Array, energy: out.energy?.data as Float32Array | undefined }
  } finally {
    await s.release()
  }
}

const x = Float32Array.from(values(B * d, 3, -2, 2))
const sigma = Float32Array.of(0.01, 0.1, 0.5, 2, 10)

describe('ensemble graph', () => {
  it('outputs the mean score and mean energy of its members (three energy models)', async () => {
    const ms = [member('energy-mlp', 1), member('energy-mlp', 2), member('energy-mlp', 3)]
    const e = await run(buildEnsembleBytes(ms), x, sigma)
    const parts = await Promise.all(ms.map((m) => run(m.bytes, x, sigma)))
    // the members really differ, so a wrong weighting would show
    expect(Math.abs(parts[0]!.energy![2]! - parts[1]!.energy![2]!)).toBeGreaterThan(1e-3)
    for (let i = 0; i < B * d; i++) {
      const want = (parts[0]!.score[i]! + parts[1]!.score[i]! + parts[2]!.score[i]!) / 3
      expect(Math.abs(e.score[i]! - want)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(want)))
    }
    for (let b = 0; b < B; b++) {
      const want = (parts[0]!.energy![b]! + parts[1]!.energy![b]! + parts[2]!.energy![b]!) / 3
      expect(Math.abs(e.energy![b]! - want)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(want)))
    }
  })

  it('takes sigma[1] for a batch that shares its σ, as its members do, with the same outputs as sigma[B] (docs/speed.md "One σ for the whole batch")', async () => {
    const bytes = buildEnsembleBytes([member('energy-mlp', 1), member('energy-mlp', 2)])
    expect(decodeModel(bytes).graph.inputs.find((i) => i.name === 'sigma')!.shape).toEqual([SIGMA_DIM])
    const s = await ort.InferenceSession.create(bytes)
    const same = new Float32Array(B).fill(0.3)
    const perRow = await s.run({ x: new ort.Tensor('float32', x, [B, d]), sigma: new ort.Tensor('float32', same, [B]) })
    const one = await s.run({ x: new ort.Tensor('float32', x, [B, d]), sigma: new ort.Tensor('float32', same.subarray(0, 1), [1]) })
    expect(Array.from(one.score!.data as Float32Array)).toEqual(Array.from(perRow.score!.data as Float32Array))
    expect(Array.from(one.energy!.data as Float32Array)).toEqual(Array.from(perRow.energy!.data as Float32Array))
    await s.release()
  })

  it("keeps score = −∇ₓ energy (central differences on the ensemble's own energy)", async () => {
    const bytes = buildEnsembleBytes([member('energy-mlp', 4), member('energy-mlp', 5)])
    const x1 = x.subarray(0, d)
    const s1 = Float32Array.of(0.5)
    const h = 1e-2
    const base = await run(bytes, x1, s1)
    for (let i = 0; i < d; i++) {
      const p = Float32Array.from(x1)
      const m = Float32Array.from(x1)
      p[i]! += h
      m[i]! -= h
      const ep = (await run(bytes, p, s1)).energy![0]!
      const em = (await run(bytes, m, s1)).energy![0]!
      expect(Math.abs(-(ep - em) / (2 * h) - base.score[i]!)).toBeLessThan(2e-3)
    }
  })

  it('averages score-only members and then has no energy output', async () => {
    const ms = [member('score-mlp', 6), member('score-mlp', 7)]
    const e = await run(buildEnsembleBytes(ms), x, sigma)
    expect(e.energy).toBeUndefined()
    const parts = await Promise.all(ms.map((m) => run(m.bytes, x, sigma)))
    for (let i = 0; i < B * d; i++) expect(e.score[i]!).toBeCloseTo((parts[0]!.score[i]! + parts[1]!.score[i]!) / 2, 5)
  })

  it('refuses members that cannot be averaged, naming the file', () => {
    expect(ensembleProblem([member('energy-mlp', 1)])).toMatch(/at least 2/)
    expect(ensembleProblem([member('energy-mlp', 1), member('energy-mlp', 2, 9)])).toMatch(/^m2\.onnx: d = 9, but m1\.onnx has d = 6/)
    expect(ensembleProblem([member('energy-mlp', 1), member('score-mlp', 2)])).toMatch(/^m2\.onnx: lacks an energy output/)
    const a = member('energy-mlp', 1)
    const b = member('energy-mlp', 2)
    a.card.aligned = b.card.aligned = true
    a.card.reference = Array.from({ length: d }, (_, i) => i)
    b.card.reference = Array.from({ length: d }, (_, i) => i + 0.5)
    expect(ensembleProblem([a, b])).toMatch(/alignment reference differs/)
    expect(() => buildEnsembleBytes([a, b])).toThrow(/^ensemble: /)
  })

  it("card: sums the parameters, lists the members, drops the first member's self-check", () => {
    const ms = [member('energy-mlp', 1), member('energy-mlp', 2)]
    ms[0]!.card.selfCheck = { createdAt: '', diffusion: 1, mode: 'bridge', denoiseSteps: 10, sigmaMin: 0.01, replicas: 1, nsPerReplica: 1, perDt: [], verdict: 'x' }
    const c = ensembleCard(ms, { sha256: 'abc', bytes: 1, inputs: ['x', 'sigma'], outputs: ['score', 'energy'] }, { appVersion: 't', createdAt: 'now' })
    expect(c.selfCheck).toBeUndefined()
    expect(c.ensemble!.map((m) => m.sha256)).toEqual(ms.map((m) => m.card.onnx.sha256))
    const p = (m: EnsembleMember) => (m.card.architecture as { parameters: number }).parameters
    expect((c.architecture as { parameters: number }).parameters).toBe(p(ms[0]!) + p(ms[1]!))
    expect(c.name).toBe('m1 (ensemble of 2)')
  })
})

describe('diffmd ensemble', () => {
  let dir = ''
  const files: string[] = []
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'diffmd-ensemble-'))
    for (const seed of [1, 2]) {
      const m = member('energy-mlp', seed)
      const f = path.join(dir, `m${seed}.onnx`)
      await writeFile(f, m.bytes)
      await writeFile(path.join(dir, `m${seed}.card.json`), JSON.stringify(m.card))
      files.push(f)
    }
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })
  async function cli(argv: string[]): Promise<number> {
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation(() => true)
    try {
      return await ensembleCmd.run(argv)
    } finally {
      spy.mockRestore()
    }
  }

  it('writes the model and a card whose sha256 and members match', async () => {
    const out = path.join(dir, 'e.onnx')
    expect(await cli([...files, '--out', out])).toBe(0)
    const bytes = new Uint8Array(await readFile(out))
    const card = JSON.parse(await readFile(path.join(dir, 'e.card.json'), 'utf8')) as ModelCard
    expect(card.onnx.sha256).toBe(sha256Hex(bytes))
    expect(card.onnx.outputs).toEqual(['score', 'energy'])
    expect(card.ensemble).toHaveLength(2)
  })

  it('bad input: one line naming the file or flag, and nothing written', async () => {
    const out = path.join(dir, 'bad.onnx')
    await expect(cli([files[0]!, '--out', out])).rejects.toThrow(/give two or more model files/)
    await expect(cli([...files])).rejects.toThrow(/--out FILE\.onnx is required/)
    await expect(cli([...files, '--out', files[0]!])).rejects.toThrow(/is also a member/)
    await expect(cli([files[0]!, path.join(dir, 'none.onnx'), '--out', out])).rejects.toThrow(/none\.onnx: no such file/)
    // a member whose card describes another file
    const stray = path.join(dir, 'stray.onnx')
    await writeFile(stray, (await readFile(files[1]!)).subarray(0, 100))
    await writeFile(path.join(dir, 'stray.card.json'), await readFile(path.join(dir, 'm2.card.json')))
    const err = await cli([files[0]!, stray, '--out', out]).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(UserError)
    expect(String((err as Error).message)).toMatch(/stray\.onnx: its card .* describes a different file/)
    await expect(stat(out)).rejects.toThrow()
    await expect(stat(path.join(dir, 'bad.card.json'))).rejects.toThrow()
  })
})

describe('diffmd train --members', () => {
  let dir = ''
  let data = ''
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'diffmd-members-'))
    // 200 frames of a 3-D correlated Gaussian as a JSON trajectory
    const z = Float32Array.from(values(600, 11, -1.7, 1.7))
    const frames = Array.from({ length: 200 }, (_, f) => [z[3 * f]!, 0.5 * z[3 * f]! + 0.3 * z[3 * f + 1]!, 0.2 * z[3 * f + 2]!])
    data = path.join(dir, 'g3.json')
    await writeFile(data, JSON.stringify({ meta: {}, frames: [frames] }))
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })
  const tiny = ['--width', '8', '--depth', '1', '--emb', '4', '--batch', '16', '--steps', '12', '--eval-every', '6', '--in-process', '--quiet']
  async function train(args: string[]): Promise<number> {
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation(() => true)
    const spyErr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
    try {
      const { default: cmd } = await import('../../../src/cli/commands/train')
      return await cmd.run(['--data', data, ...tiny, ...args])
    } finally {
      spy.mockRestore()
      spyErr.mockRestore()
    }
  }

  it('trains members with seeds S, S+1 (each the model --seed would give) and writes their mean', async () => {
    const out = path.join(dir, 'ens.onnx')
    expect(await train(['--seed', '4', '--members', '2', '--out', out])).toBe(0)
    const m1 = new Uint8Array(await readFile(path.join(dir, 'ens.m1.onnx')))
    const m2 = new Uint8Array(await readFile(path.join(dir, 'ens.m2.onnx')))
    // member 2 is the model `diffmd train --seed 5` writes, bit for bit
    const solo = path.join(dir, 'solo5.onnx')
    expect(await train(['--seed', '5', '--out', solo])).toBe(0)
    expect(sha256Hex(new Uint8Array(await readFile(solo)))).toBe(sha256Hex(m2))
    expect(sha256Hex(m1)).not.toBe(sha256Hex(m2))
    const card = JSON.parse(await readFile(path.join(dir, 'ens.card.json'), 'utf8')) as ModelCard
    expect(card.ensemble!.map((m) => m.seed)).toEqual([4, 5])
    expect(card.ensemble!.map((m) => m.sha256)).toEqual([sha256Hex(m1), sha256Hex(m2)])
    // the ensemble file is the one diffmd ensemble builds from the two members
    const cards = await Promise.all(['ens.m1', 'ens.m2'].map(async (b) => JSON.parse(await readFile(path.join(dir, `${b}.card.json`), 'utf8')) as ModelCard))
    const rebuilt = buildEnsembleBytes([
      { bytes: m1, card: cards[0]!, file: 'ens.m1.onnx' },
      { bytes: m2, card: cards[1]!, file: 'ens.m2.onnx' },
    ], { producerVersion: card.appVersion })
    expect(sha256Hex(new Uint8Array(await readFile(out)))).toBe(sha256Hex(rebuilt))
    expect(card.onnx.sha256).toBe(sha256Hex(rebuilt))
    // --resume keeps finished members (their files are not rewritten)
    const before = (await stat(path.join(dir, 'ens.m1.onnx'))).mtimeMs
    expect(await train(['--seed', '4', '--members', '2', '--out', out, '--resume'])).toBe(0)
    expect((await stat(path.join(dir, 'ens.m1.onnx'))).mtimeMs).toBe(before)
  }, 120_000)

  it('--members and --parallel out of range are one-line errors naming the flag', async () => {
    await expect(train(['--members', '0', '--out', path.join(dir, 'x.onnx')])).rejects.toThrow(/^train: --members must be a whole number from 1 to 16/)
    await expect(train(['--members', '2', '--parallel', '0', '--out', path.join(dir, 'x.onnx')])).rejects.toThrow(/^train: --parallel must be/)
  })
})
