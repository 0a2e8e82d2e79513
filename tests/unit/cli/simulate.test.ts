/**
 * `diffmd simulate` through its command module: flag errors name the flag; runs write the JSON
 * trajectory format with the documented metadata; the same seed gives the same frames.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import simulate from '../../../src/cli/commands/simulate'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { trajectoryFromJson } from '../../../src/core/trajectory'
import { UserError } from '../../../src/core/errors'
import { betaOf } from '../../../src/core/units/constants'

let dir = ''
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'diffmd-sim-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** runs the command with stdout captured */
async function run(argv: string[]): Promise<{ code: number; stdout: string }> {
  let stdout = ''
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk)
    return true
  })
  try {
    const code = await simulate.run(argv)
    return { code, stdout }
  } finally {
    spy.mockRestore()
  }
}

interface JsonTrajectory {
  meta: Record<string, unknown>
  frames: number[][][]
}

const base = (out: string): string[] => ['--system', 'harmonic', '--dim', '2', '--eta', '0.04', '--replicas', '3', '--frames', '5', '--seed', '7', '--out', out]

describe('diffmd simulate: flag errors', () => {
  const cases: [string, string[], RegExp][] = [
    ['negative η', ['--system', 'harmonic', '--eta', '-0.1', '--replicas', '1', '--frames', '2', '--seed', '1', '--out', 'x.json'], /--eta must be positive/],
    ['negative Δt', ['--system', 'harmonic', '--dt', '-0.002', '--diffusion', '0.1', '--replicas', '1', '--frames', '2', '--seed', '1', '--out', 'x.json'], /--dt must be positive/],
    ['Δt without D', ['--system', 'harmonic', '--dt', '0.002', '--replicas', '1', '--frames', '2', '--seed', '1', '--out', 'x.json'], /--diffusion is required/],
    ['unknown system', ['--system', 'argon', '--eta', '0.1', '--replicas', '1', '--frames', '2', '--seed', '1', '--out', 'x.json'], /--system must be one of harmonic, double-well, mueller-brown, gmm/],
    ['missing --out', ['--system', 'harmonic', '--eta', '0.1', '--replicas', '1', '--frames', '2', '--seed', '1'], /--out is required/],
    ['unknown extension', ['--system', 'harmonic', '--eta', '0.1', '--replicas', '1', '--frames', '2', '--seed', '1', '--out', 'x.txt'], /--out x\.txt: unknown extension '\.txt'/],
    ['bridge on a σ = 0 model', ['--system', 'double-well', '--mode', 'bridge', '--eta', '0.01', '--replicas', '1', '--frames', '2', '--seed', '1', '--out', 'x.json'], /--mode clean or tied/],
    ['missing seed', ['--system', 'harmonic', '--eta', '0.1', '--replicas', '1', '--frames', '2', '--out', 'x.json'], /--seed is required/],
    ['zero replicas', ['--system', 'harmonic', '--eta', '0.1', '--replicas', '0', '--frames', '2', '--seed', '1', '--out', 'x.json'], /--replicas must be positive/],
    ['unknown mode', ['--system', 'harmonic', '--eta', '0.1', '--mode', 'fast', '--replicas', '1', '--frames', '2', '--seed', '1', '--out', 'x.json'], /--mode must be one of bridge, bridge-mh, tied, clean/],
    ['bridge-mh with tweedie', ['--system', 'gmm', '--eta', '0.5', '--mode', 'bridge-mh', '--scheme', 'tweedie', '--replicas', '1', '--frames', '2', '--seed', '1', '--out', 'x.json'], /bridge-mh needs reverse steps with a tractable density: use --scheme em/],
    ['--scheme on a Langevin mode', ['--system', 'harmonic', '--eta', '0.1', '--mode', 'clean', '--scheme', 'em', '--replicas', '1', '--frames', '2', '--seed', '1', '--out', 'x.json'], /--scheme applies to --mode bridge and bridge-mh only/],
    ['unknown scheme', ['--system', 'harmonic', '--eta', '0.1', '--scheme', 'rk4', '--replicas', '1', '--frames', '2', '--seed', '1', '--out', 'x.json'], /--scheme must be one of em, tweedie/],
    ['--kappa on the double well', ['--system', 'double-well', '--kappa', '2', '--eta', '0.1', '--replicas', '1', '--frames', '2', '--seed', '1', '--out', 'x.json'], /--kappa applies to --system harmonic only/],
    ['--tol without --parallel', ['--system', 'harmonic', '--eta', '0.1', '--tol', '1e-4', '--replicas', '1', '--frames', '2', '--seed', '1', '--out', 'x.json'], /--window and --tol need --parallel picard/],
    ['unknown flag', ['--system', 'harmonic', '--speed', '3'], /unknown flag --speed/],
  ]
  for (const [what, argv, message] of cases) {
    it(`${what} → one-line UserError naming the flag`, async () => {
      const err = await simulate.run(argv).then(() => undefined, (e: unknown) => e)
      expect(err).toBeInstanceOf(UserError)
      expect((err as Error).message).toMatch(message)
      expect((err as Error).message).not.toContain('\n')
    })
  }
})

describe('diffmd simulate: runs', () => {
  it('a small harmonic run writes [replica][frame][coordinate] with the sampler metadata', async () => {
    const out = path.join(dir, 'h.json')
    const { code, stdout } = await run(base(out))
    expect(code).toBe(0)
    expect(stdout).toMatch(/wrote .*h\.json: 3 replicas × 5 frames × 2 coordinates/)
    const t = JSON.parse(await readFile(out, 'utf8')) as JsonTrajectory
    expect(t.frames.length).toBe(3)
    for (const rep of t.frames) {
      expect(rep.length).toBe(5)
      for (const fr of rep) expect(fr.length).toBe(2)
    }
    const m = t.meta
    expect(m.system).toBe('harmonic')
    expect(m.mode).toBe('bridge')
    expect(m.eta).toBe(0.04)
    expect(m.k).toBeCloseTo(1 / (2 * 0.04), 12)
    // σ_K² = η + σ_min² (the frames carry σ_min; the adapter adds η)
    expect(m.sigma_K).toBeCloseTo(Math.sqrt(0.04 + 0.05 ** 2), 12)
    expect(m.M).toBe(10) // DEFAULT_DENOISE_STEPS
    expect(m.sigma_min).toBeCloseTo(0.05, 12) // 0.05·σ_data, σ_data = √v = 1
    expect(m.innerSteps).toBe(1)
    expect(m.seed).toBe(7)
    expect(m.replicas).toBe(3)
    expect(m.frames).toBe(5)
    expect(m.rejections).toEqual([0, 0, 0])
    expect(m.modelCalls).toBe(4 * 10)
    expect(m.frame0).toBe('initial state')
    expect(m.frameEta).toBe(0.04)
    expect(m.frameIntervalPs).toBeNull()
    expect(typeof m.version).toBe('string')
    // same seed → same frames
    const out2 = path.join(dir, 'h2.json')
    await run(base(out2))
    const t2 = JSON.parse(await readFile(out2, 'utf8')) as JsonTrajectory
    expect(t2.frames).toEqual(t.frames)
  })

  it('--dt/--diffusion/--temperature set η = DΔt and β = 1/(k_B T); --json prints the metadata', async () => {
    const out = path.join(dir, 'dt.json')
    const { stdout } = await run(['--system', 'double-well', '--dt', '0.002', '--diffusion', '0.5', '--temperature', '300', '--inner-steps', '3', '--replicas', '2', '--frames', '4', '--seed', '3', '--out', out, '--json'])
    const printed = JSON.parse(stdout) as Record<string, unknown>
    expect(printed.out).toBe(out)
    const t = JSON.parse(await readFile(out, 'utf8')) as JsonTrajectory
    expect(t.meta.mode).toBe('clean')
    expect(t.meta.eta).toBeCloseTo(0.001, 15)
    expect(t.meta.dt).toBe(0.002)
    expect(t.meta.D).toBe(0.5)
    expect(t.meta.T).toBe(300)
    expect(t.meta.beta).toBeCloseTo(betaOf(300), 12)
    expect(t.meta.frameIntervalPs).toBeCloseTo(0.006, 15)
    expect(t.meta.modelCalls).toBe(3 * 3)
    expect(printed.modelCalls).toBe(9)
  })

  it('--parallel picard --tol 0 writes the sequential frames', async () => {
    const seqOut = path.join(dir, 'seq.json')
    const parOut = path.join(dir, 'par.json')
    const args = ['--system', 'gmm', '--eta', '0.2', '--denoise-steps', '5', '--replicas', '2', '--frames', '9', '--seed', '11']
    await run([...args, '--out', seqOut])
    await run([...args, '--parallel', 'picard', '--window', '4', '--tol', '0', '--out', parOut])
    const a = JSON.parse(await readFile(seqOut, 'utf8')) as JsonTrajectory
    const b = JSON.parse(await readFile(parOut, 'utf8')) as JsonTrajectory
    expect(b.frames).toEqual(a.frames)
    expect(b.meta.sweeps).toBeGreaterThan(0)
    expect(b.meta.parallel).toEqual({ kind: 'picard', window: 4, tol: 0 })
  })

  it('--init takes the last frame of each replica of a JSON trajectory, or an array of numbers', async () => {
    const first = path.join(dir, 'first.json')
    await run(base(first))
    const t = JSON.parse(await readFile(first, 'utf8')) as JsonTrajectory
    const cont = path.join(dir, 'cont.json')
    await run([...base(cont), '--init', first])
    const c = JSON.parse(await readFile(cont, 'utf8')) as JsonTrajectory
    for (let r = 0; r < 3; r++) expect(c.frames[r]![0]).toEqual(t.frames[r]![4])
    const arr = path.join(dir, 'init.json')
    await writeFile(arr, '[0.5, -0.25]')
    const fromArr = path.join(dir, 'arr.json')
    await run([...base(fromArr), '--init', arr])
    const a = JSON.parse(await readFile(fromArr, 'utf8')) as JsonTrajectory
    for (let r = 0; r < 3; r++) expect(a.frames[r]![0]).toEqual([0.5, -0.25])
    await writeFile(arr, '[1, 2, 3]')
    await expect(run([...base(path.join(dir, 'bad.json')), '--init', arr])).rejects.toThrow(/--init .*3 numbers are not a whole number of frames of 2/)
  })

  it('an unstable run writes the frames so far and fails with the instability message', async () => {
    const out = path.join(dir, 'boom.json')
    const err = await run(['--system', 'double-well', '--beta', '3', '--eta', '0.5', '--replicas', '2', '--frames', '50', '--seed', '2', '--out', out]).then(() => undefined, (e: unknown) => e)
    expect(err).toBeInstanceOf(UserError)
    expect((err as Error).message).toMatch(/unstable at adapter step \d+ .*replica \d.*smaller Δt.*frames so far written/)
    const t = JSON.parse(await readFile(out, 'utf8')) as JsonTrajectory
    expect(t.frames[0]!.length).toBeLessThan(50)
    expect((t.meta.stopped as { reason: string }).reason).toBe('unstable')
  })
})

describe('diffmd simulate --mode bridge-mh', () => {
  it('--json reports the acceptance per replica (in the file metadata too) and the scheme', async () => {
    const out = path.join(dir, 'mh.json')
    const { code, stdout } = await run(['--system', 'gmm', '--eta', '0.5', '--mode', 'bridge-mh', '--denoise-steps', '6', '--replicas', '3', '--frames', '21', '--seed', '4', '--out', out, '--json'])
    expect(code).toBe(0)
    const meta = JSON.parse(stdout) as Record<string, unknown>
    expect(meta.mode).toBe('bridge-mh')
    expect(meta.scheme).toBe('em')
    const acc = meta.acceptance as number[]
    expect(acc.length).toBe(3)
    // 20 steps per replica: every acceptance is a multiple of 1/20 in [0, 1]
    for (const a of acc) expect(Math.abs(a * 20 - Math.round(a * 20))).toBeLessThan(1e-9)
    expect(meta.acceptanceMean).toBeCloseTo(acc.reduce((x, y) => x + y, 0) / 3, 12)
    const t = JSON.parse(await readFile(out, 'utf8')) as JsonTrajectory
    expect(t.meta.acceptance).toEqual(acc)
  })

  it('--mh-kernel covariance on the shipped ala2 model: steps accepted where em accepts none (M = 10, 0.5 ps)', async () => {
    // bench:mh (one step from 256 snapshots): covariance 0.25, em 0.000; here 16 replicas × 10 steps of a
    // chain: a binomial standard error of ≈ 0.035 at 0.25, so > 0.08 is a 5σ-safe floor; em's median
    // ln α is −23, so its acceptance stays below 0.02
    const model = path.resolve(__dirname, '../../../resources/models/ala2-default.onnx')
    const args = (k: string, out: string) => ['--model', model, '--mode', 'bridge-mh', '--mh-kernel', k, '--dt', '0.5', '--diffusion', '0.0498868', '--replicas', '16', '--frames', '11', '--seed', '7', '--threads', '1', '--out', out, '--json']
    const cov = JSON.parse((await run(args('covariance', path.join(dir, 'mh-cov.json')))).stdout) as Record<string, unknown>
    const em = JSON.parse((await run(args('em', path.join(dir, 'mh-em.json')))).stdout) as Record<string, unknown>
    expect(cov.mhKernel).toBe('covariance')
    expect(em.mhKernel).toBe('em')
    expect(cov.acceptanceMean as number).toBeGreaterThan(0.08)
    expect(em.acceptanceMean as number).toBeLessThan(0.02)
  })

  it('--mh-kernel covariance is refused without bridge-mh or without a model\'s training data, and unknown kernels by name', async () => {
    const o = path.join(dir, 'x.json')
    await expect(run(['--system', 'gmm', '--eta', '0.5', '--mode', 'bridge-mh', '--mh-kernel', 'covariance', '--replicas', '1', '--frames', '2', '--seed', '1', '--out', o])).rejects.toThrow(/--mh-kernel covariance needs --model with the training data/)
    const model = path.resolve(__dirname, '../../../resources/models/ala2-default.onnx')
    await expect(run(['--model', model, '--mode', 'bridge', '--mh-kernel', 'covariance', '--dt', '1', '--diffusion', '0.05', '--replicas', '1', '--frames', '2', '--seed', '1', '--out', o])).rejects.toThrow(/use it with --mode bridge-mh/)
    await expect(run(['--system', 'gmm', '--eta', '0.5', '--mode', 'bridge-mh', '--mh-kernel', 'exact', '--replicas', '1', '--frames', '2', '--seed', '1', '--out', o])).rejects.toThrow(/--mh-kernel must be one of em, covariance/)
  })

  it('--mh-frames-f32 gives the covariance its frames: aligned like the model\'s, the training data\'s covariance when they are those frames; bad files and a missing kernel are refused', async () => {
    const model = path.resolve(__dirname, '../../../resources/models/ala2-default.onnx')
    const o = path.join(dir, 'f.json')
    const common = ['--model', model, '--mode', 'bridge-mh', '--mh-kernel', 'covariance', '--dt', '0.5', '--diffusion', '0.0498868', '--replicas', '16', '--frames', '3', '--seed', '3', '--threads', '1', '--json']
    // the training data the card names, written as raw float32 frames (unaligned: the CLI aligns them)
    const { loadTrainingFrames } = await import('../../../src/services/models/training-data')
    const lf = await loadTrainingFrames(path.resolve(__dirname, '../../../resources/examples/ala2/ala2_snapshots_all.pdb.gz'))
    const f32 = path.join(dir, 'mh.f32')
    writeFileSync(f32, Buffer.from(lf.frames.buffer, lf.frames.byteOffset, lf.nFrames * lf.dim * 4))
    // the same frames give the same covariance: its spectrum equals the card's training data's
    // (rounding apart; the 6 rigid-body modes are ~0 either way, and the basis inside that null
    // space is arbitrary, so the chains themselves need not match)
    const { mhPreconditionerFromF32, openModelForCli } = await import('../../../src/cli/model-source')
    const opened = await openModelForCli({ model, align: true, mhCovariance: true })
    const fromCard = opened.mhPreconditioner!
    const fromF32 = await mhPreconditionerFromF32(f32, opened.model, true)
    await opened.dispose()
    const big = Array.from(fromCard.values).filter((v) => v > 1e-9)
    expect(big.length).toBe(66 - 6)
    expect(Array.from(fromF32.values).filter((v) => v > 1e-9).length).toBe(66 - 6)
    fromCard.values.forEach((v, k) => {
      if (v > 1e-9) expect(Math.abs(fromF32.values[k]! - v) / v).toBeLessThan(1e-5)
    })
    // and the run accepts steps with it (0.5 ps, M = 10)
    await run([...common, '--mh-frames-f32', f32, '--out', path.join(dir, 'f32.json')])
    const b = trajectoryFromJson(readFileSync(path.join(dir, 'f32.json'), 'utf8'), 'f32.json')
    expect((b.meta.acceptance as number[]).some((x) => x > 0)).toBe(true)
    await expect(run([...common, '--mh-kernel', 'em', '--mh-frames-f32', f32, '--out', o])).rejects.toThrow(/--mh-frames-f32 gives the covariance down kernel its frames: use it with --mh-kernel covariance/)
    writeFileSync(path.join(dir, 'short.f32'), Buffer.alloc(66 * 4 + 4))
    await expect(run([...common, '--mh-frames-f32', path.join(dir, 'short.f32'), '--out', o])).rejects.toThrow(/short\.f32: holds 268 bytes, not 2 or more frames of d = 66 float32/)
    await expect(run([...common, '--mh-frames-f32', path.join(dir, 'none.f32'), '--out', o])).rejects.toThrow(/--mh-frames-f32 .*none\.f32: cannot read \(ENOENT\)/)
    expect(existsSync(o)).toBe(false)
  })

  it('the summary line prints the acceptance; bridge prints its scheme', async () => {
    const { stdout } = await run(['--system', 'harmonic', '--dim', '2', '--eta', '0.3', '--mode', 'bridge-mh', '--denoise-steps', '4', '--replicas', '2', '--frames', '5', '--seed', '1', '--out', path.join(dir, 'mh2.json')])
    expect(stdout).toMatch(/bridge-mh em, .*Metropolis acceptance \d+\.\d% \(per replica [\d.]+ [\d.]+\)/)
    const b = await run(base(path.join(dir, 'tw.json')))
    expect(b.stdout).toMatch(/\(bridge tweedie, /)
  })
})

describe('diffmd simulate --model: the self-check in the card gives the default Δt (docs/self-check.md "Using the verdict")', () => {
  const repo = path.resolve(__dirname, '../../..')
  /** the shipped model in a folder of its own, its card's check replaced by `selfCheck` (none: removed) */
  async function modelWith(selfCheck: Record<string, unknown> | undefined, name: string): Promise<string> {
    const m = path.join(dir, name)
    await mkdir(path.join(m, 'models'), { recursive: true })
    await mkdir(path.join(m, 'examples/ala2'), { recursive: true })
    await copyFile(path.join(repo, 'resources/models/ala2-default.onnx'), path.join(m, 'models/ala2.onnx'))
    await copyFile(path.join(repo, 'resources/examples/ala2/ala2_snapshots_all.pdb.gz'), path.join(m, 'examples/ala2/ala2_snapshots_all.pdb.gz'))
    const c = JSON.parse(readFileSync(path.join(repo, 'resources/models/ala2-default.card.json'), 'utf8')) as Record<string, unknown>
    if (selfCheck) c.selfCheck = selfCheck
    else delete c.selfCheck
    writeFileSync(path.join(m, 'models/ala2.card.json'), JSON.stringify(c))
    return path.join(m, 'models/ala2.onnx')
  }
  const check = {
    createdAt: '2026-12-03T04:00:00.000Z',
    diffusion: 0.05,
    mode: 'bridge',
    denoiseSteps: 10,
    sigmaMin: 0.04,
    replicas: 16,
    nsPerReplica: 5,
    perDt: [
      { dtPs: 2, equilibriumOk: true, kineticsOk: true, jsd: 0.004, timescaleError: Math.log(0.92), timescaleSe: 0.04 },
      { dtPs: 5, equilibriumOk: true, kineticsOk: false, jsd: 0.006, timescaleError: Math.log(0.82), timescaleSe: 0.09 },
    ],
    recommendedDtPs: 2,
    verdict: 'Recommended Δt: 2 ps',
  }
  async function runErr(argv: string[]): Promise<{ meta: Record<string, unknown>; stderr: string }> {
    let stderr = ''
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stderr += String(chunk)
      return true
    })
    try {
      const { stdout } = await run(argv)
      return { meta: JSON.parse(stdout) as Record<string, unknown>, stderr }
    } finally {
      spy.mockRestore()
    }
  }
  const small = (out: string) => ['--replicas', '2', '--frames', '2', '--seed', '3', '--threads', '1', '--out', out, '--json']

  it('without --dt: the recommended Δt at the check\'s D, said on stderr and kept in the metadata; --diffusion overrides D', async () => {
    const model = await modelWith(check, 'with-check')
    const a = await runErr(['--model', model, '--time-calibration', 'off', ...small(path.join(dir, 'rec.json'))])
    expect(a.meta.dt).toBe(2)
    expect(a.meta.D).toBe(0.05)
    expect(a.meta.frameEta).toBeCloseTo(0.1, 12)
    expect(a.meta.selfCheck).toEqual({ recommendedDtPs: 2, checkedOn: '2026-12-03', outside: false, dtFrom: 'self-check', timeCalibration: null })
    expect(a.stderr).toContain("diffmd: Δt = 2 ps per adapter step, the self-check's recommendation in ala2.onnx's card (2026-12-03), at D = 0.05 Å²/ps\n")
    const b = await runErr(['--model', model, '--diffusion', '0.04', '--time-calibration', 'off', ...small(path.join(dir, 'rec-d.json'))])
    expect(b.meta.dt).toBe(2)
    expect(b.meta.frameEta).toBeCloseTo(0.08, 12)
  })

  it('--dt the check does not vouch for: a note on stderr, outside in the metadata; the recommended Δt: no note', async () => {
    const model = await modelWith(check, 'with-check-2')
    const a = await runErr(['--model', model, '--dt', '5', '--diffusion', '0.05', '--time-calibration', 'off', ...small(path.join(dir, 'five.json'))])
    expect(a.stderr).toContain("diffmd: note: the model's self-check (2026-12-03) recommends Δt ≤ 2 ps per adapter step; at 5 ps it found the kinetic time scale −18 ± 9 % against Δt → 0, not shown within tolerance\n")
    expect(a.meta.selfCheck).toEqual({ recommendedDtPs: 2, checkedOn: '2026-12-03', outside: true, dtFrom: 'flag', timeCalibration: null })
    const b = await runErr(['--model', model, '--dt', '2', '--diffusion', '0.05', '--time-calibration', 'off', ...small(path.join(dir, 'two.json'))])
    expect(b.stderr).not.toContain('note:')
    expect((b.meta.selfCheck as { outside: boolean }).outside).toBe(false)
  })

  it('calibrated time by default: a 5-ps step takes the width that relaxes like 5 ps by the check\'s fit, said on stderr and kept in the metadata', async () => {
    const model = await modelWith(check, 'with-check-cal')
    const a = await runErr(['--model', model, '--dt', '5', '--diffusion', '0.05', ...small(path.join(dir, 'five-cal.json'))])
    // the widest row's fit: ln T falls by ln 0.82 over 5 ps, so a step as wide as x ps relaxes like x·0.82^(−x/5) ps
    const x = (a.meta.frameEta as number) / 0.05
    expect(x * Math.pow(0.82, -x / 5)).toBeCloseTo(5, 9)
    expect(x).toBeLessThan(5)
    expect(a.meta.dt).toBe(5)
    expect(a.meta.frameIntervalPs).toBe(5)
    const sc = a.meta.selfCheck as { outside: boolean; timeCalibration: Record<string, number> }
    expect(sc.outside).toBe(false)
    expect(sc.timeCalibration.nominalDtPs).toBeCloseTo(x, 12)
    expect(sc.timeCalibration.slopePerEta).toBeCloseTo(Math.log(0.82) / 0.25, 12)
    expect(a.stderr).toContain(`diffmd: calibrated time (self-check of 2026-12-03): each 5-ps step is as wide as an uncalibrated ${Number(x.toPrecision(3))}-ps one, time ± `)
    expect(a.stderr).not.toContain('note:')
    // beyond the widest checked step (5/0.82 = 6.1 ps): auto runs uncalibrated and says so; on refuses
    const b = await runErr(['--model', model, '--dt', '7', '--diffusion', '0.05', ...small(path.join(dir, 'seven.json'))])
    expect(b.meta.frameEta).toBeCloseTo(0.35, 12)
    expect(b.stderr).toContain("diffmd: note: time not calibrated: 7 ps is beyond the self-check's calibrated range (up to 6.1 ps)\n")
    const fails = async (argv: string[]) => ((await simulate.run(argv).then(() => undefined, (e: unknown) => e)) as Error).message
    expect(await fails(['--model', model, '--dt', '7', '--diffusion', '0.05', '--time-calibration', 'on', ...small(path.join(dir, 'seven-on.json'))])).toBe(
      "simulate: --dt 7: beyond the self-check's calibrated range (up to 6.1 ps at D = 0.05 Å²/ps); give a smaller --dt or --time-calibration off"
    )
    expect(await fails(['--model', model, '--eta', '0.1', '--time-calibration', 'on', ...small(path.join(dir, 'eta-on.json'))])).toBe('simulate: --time-calibration on needs the step as --dt PS (with --diffusion D), not --eta')
    expect(await fails(['--model', model, '--dt', '2', '--diffusion', '0.05', '--time-calibration', 'sometimes', ...small(path.join(dir, 'bad.json'))])).toBe("simulate: --time-calibration must be one of auto, on, off (got 'sometimes')")
    const none = await modelWith(undefined, 'no-check-cal')
    expect(await fails(['--model', none, '--dt', '2', '--diffusion', '0.05', '--time-calibration', 'on', ...small(path.join(dir, 'none-on.json'))])).toBe(
      "simulate: --time-calibration on: ala2.onnx's card holds no resolved self-check time-scale slope for mode bridge (run diffmd check --model ala2.onnx, longer if its slope is not resolved, or use --time-calibration off)"
    )
    expect(existsSync(path.join(dir, 'seven-on.json'))).toBe(false)
  })

  it('without --dt and without a check in the card: one line that says what to give, and no file', async () => {
    const model = await modelWith(undefined, 'no-check')
    const out = path.join(dir, 'none.json')
    const err = await simulate.run(['--model', model, ...small(out)]).then(() => undefined, (e: unknown) => e)
    expect(err).toBeInstanceOf(UserError)
    expect((err as Error).message).toBe(
      "simulate: give the time step: --eta ETA (Å²) or --dt PS --diffusion D (Å²/ps); ala2.onnx's card holds no self-check recommendation to default to (diffmd check --model ala2.onnx stores one)"
    )
    expect(existsSync(out)).toBe(false)
  })
})
