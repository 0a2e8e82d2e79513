/**
 * Size limits and the time/memory estimates shown before training and sampling (src/core/limits,
 * docs/peptides.md "Larger molecules"). The parameter count is checked against the network's own
 * definition (src/core/nn/arch.ts); the estimates against the bench:molecules measurements they were
 * fitted to (bench/RESULTS.md), within the ±30 % the module promises; counts and texts exactly.
 */
import { describe, expect, it } from 'vitest'
import { paramCount as archParams } from '../../../src/core/nn/arch'
import { describeEstimate, estimateSampling, estimateTraining, formatDuration, MAX_ATOMS, paramCount, verdictOf } from '../../../src/core/limits'

describe('paramCount', () => {
  it('equals the network definition for both architectures and several sizes', () => {
    for (const atoms of [3, 22, 214, 3312])
      for (const arch of ['energy-mlp', 'score-mlp'] as const)
        for (const [width, depth, embDim] of [
          [256, 3, 32],
          [64, 2, 8],
        ] as const)
          expect(paramCount({ atoms, arch, width, depth, embDim })).toBe(archParams({ arch, dim: 3 * atoms, width, depth, embDim }))
  })
})

describe('estimateTraining against bench:molecules (200 steps, batch 512, energy-mlp 256×3)', () => {
  // measured s/step (bench/RESULTS.md): 214 atoms 0.106, 1,656 atoms 0.687, 3,312 atoms 1.936; peak 337 / 743 / 1213 MiB
  const cases: [number, number, number][] = [
    [214, 0.106, 337],
    [1656, 0.687, 743],
    [3312, 1.936, 1213],
  ]
  for (const [atoms, perStep, mib] of cases) {
    it(`${atoms} atoms`, () => {
      const e = estimateTraining({ atoms, steps: 200 })
      expect(Math.abs(e.secondsPerStep / perStep - 1)).toBeLessThan(0.3)
      expect(Math.abs(e.memoryMiB / mib - 1)).toBeLessThan(0.3)
    })
  }
  it('linear in steps, growing with atoms and batch', () => {
    const a = estimateTraining({ atoms: 500, steps: 100 })
    const b = estimateTraining({ atoms: 500, steps: 300 })
    expect(b.seconds - a.seconds).toBeCloseTo(200 * a.secondsPerStep, 9)
    expect(estimateTraining({ atoms: 600, steps: 100 }).seconds).toBeGreaterThan(a.seconds)
    expect(estimateTraining({ atoms: 500, steps: 100, batch: 1024 }).memoryMiB).toBeGreaterThan(a.memoryMiB)
  })
})

describe('estimateSampling', () => {
  it('counts network evaluations: replicas × (frames − 1) × inner steps × M × 2 (tweedie)', () => {
    expect(estimateSampling({ atoms: 22, replicas: 4, frames: 101, denoiseSteps: 10 }).evaluations).toBe(4 * 100 * 10 * 2)
    expect(estimateSampling({ atoms: 22, replicas: 2, frames: 11, denoiseSteps: 5, innerSteps: 3 }).evaluations).toBe(2 * 10 * 3 * 5 * 2)
  })
  it('within 30 % of the 3,312-atom run (0.298 s per frame of 4 replicas, M = 10) and above the smaller ones', () => {
    const perFrame = (atoms: number) => (estimateSampling({ atoms, replicas: 4, frames: 1001 }).seconds - 1) / 1000
    expect(Math.abs(perFrame(3312) / 0.298 - 1)).toBeLessThan(0.3)
    expect(perFrame(1656)).toBeGreaterThan(0.064)
    expect(perFrame(214)).toBeGreaterThan(0.027)
  })
})

describe('verdicts and the line shown', () => {
  it('thresholds', () => {
    expect(verdictOf(100, 3600)).toBe('ok')
    expect(verdictOf(100, 3601)).toBe('slow')
    expect(verdictOf(100, 86401)).toBe('hopeless')
    expect(verdictOf(MAX_ATOMS + 1, 10)).toBe('unsupported')
    expect(verdictOf(MAX_ATOMS, 10)).toBe('ok')
  })
  it('formatDuration', () => {
    expect(formatDuration(0.2)).toBe('1 s')
    expect(formatDuration(89)).toBe('89 s')
    expect(formatDuration(90)).toBe('2 min')
    expect(formatDuration(5399)).toBe('90 min')
    expect(formatDuration(5400)).toBe('1.5 h')
    expect(formatDuration(172800)).toBe('2.0 days')
  })
  it('texts name the size, the time, and what to do', () => {
    expect(describeEstimate('training', 22, 300, 300).line).toBe('training 22 atoms: about 5 min on one CPU thread of the benchmark machine, about 300 MiB of memory')
    const slow = describeEstimate('training', 1656, 4 * 3600, 743)
    expect(slow.verdict).toBe('slow')
    expect(slow.line).toBe('training 1,656 atoms: about 4.0 h on one CPU thread of the benchmark machine, about 740 MiB of memory — over an hour; validated on peptides of up to 32 atoms (docs/peptides.md)')
    const hopeless = describeEstimate('sampling', 3312, 3 * 86400)
    expect(hopeless.line).toBe("sampling 3,312 atoms: about 3.0 days on one CPU thread of the benchmark machine — more than a day: select fewer atoms (e.g. --select 'name CA' or 'backbone'; docs/selection.md), or fewer steps/frames")
    expect(describeEstimate('training', 20000, 10, 5000).line).toMatch(/^training 20,000 atoms: .*4\.9 GiB of memory; DiffMD Studio supports at most 5,000 atoms: select fewer atoms/)
  })
})

describe('diffmd train says the cost first and refuses what it does not support', () => {
  it(`a ${MAX_ATOMS + 1}-atom file is refused before any training, naming the limit and what to do`, async () => {
    const { mkdtempSync, writeFileSync, rmSync, existsSync } = await import('node:fs')
    const { tmpdir } = await import('node:os')
    const path = await import('node:path')
    const { writePdb } = await import('../../../src/core/formats/pdb')
    const train = (await import('../../../src/cli/commands/train')).default
    const dir = mkdtempSync(path.join(tmpdir(), 'diffmd-limits-'))
    try {
      const n = MAX_ATOMS + 1
      const atoms = Array.from({ length: n }, (_, i) => ({ record: 'HETATM' as const, serial: i + 1, name: 'C1', altLoc: '', resName: 'MOL', chainId: 'A', resSeq: 1 + Math.floor(i / 10), iCode: '', occupancy: 1, bFactor: 0, element: 'C' }))
      const frames = new Float32Array(2 * 3 * n).map((_, k) => (k % 97) * 0.37 + (k >= 3 * n ? 0.1 * Math.sin(k) : 0))
      const file = path.join(dir, 'big.pdb')
      writeFileSync(file, writePdb({ atoms }, frames, 2))
      const out = path.join(dir, 'm.onnx')
      await expect(train.run(['--data', file, '--steps', '10', '--out', out, '--quiet'])).rejects.toThrow(/^train: .*big\.pdb: training 5,001 atoms: about .* DiffMD Studio supports at most 5,000 atoms: select fewer atoms/)
      expect(existsSync(out)).toBe(false)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
