/**
 * `diffmd analyze` through its command module: output keys, frame interval, and the OU answer.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import analyze from '../../../src/cli/commands/analyze'
import simulate from '../../../src/cli/commands/simulate'
import { UserError } from '../../../src/core/errors'

let dir = ''
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'diffmd-an-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

async function capture(fn: () => Promise<number>): Promise<string> {
  let stdout = ''
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk)
    return true
  })
  try {
    expect(await fn()).toBe(0)
    return stdout
  } finally {
    spy.mockRestore()
  }
}

describe('diffmd analyze', () => {
  it('prints the documented keys; OU clean mode: variance v/(1 − η/(2v)) and lag-1 ACF 1 − η/v', async () => {
    // OU, v = 1, clean, η = 0.5: x' = 0.5·x + ξ, stationary variance 4/3, ACF 0.5ⁿ. The default
    // start is N(0, v = 1), not the discrete chain's 4/3; the first frames are skipped (0.5^{2·10} ≈ 1e-6).
    const out = path.join(dir, 'ou.json')
    await capture(() => simulate.run(['--system', 'harmonic', '--mode', 'clean', '--eta', '0.5', '--replicas', '100', '--frames', '410', '--seed', '5', '--out', out]))
    const text = await capture(() => analyze.run(['--in', out, '--observable', 'x0', '--max-lag', '5', '--skip', '10', '--json']))
    const r = JSON.parse(text) as Record<string, unknown>
    for (const key of ['observable', 'acf', 'stderr', 'tauInt', 'mean', 'variance', 'frames', 'replicas', 'dt', 'dtUnit']) expect(r).toHaveProperty(key)
    expect(r.frames).toBe(400)
    expect(r.replicas).toBe(100)
    expect(r.dt).toBe(0.5)
    expect(r.dtUnit).toMatch(/reduced/)
    const acf = r.acf as number[]
    const se = r.stderr as number[]
    expect(acf.length).toBe(6)
    expect(acf[0]).toBe(1)
    // per-replica ACFs with the mean subtracted are biased by ≈ −(1 + A)/((1 − A)·n) = −0.0075 at n = 400
    // (leading order); allow that plus 5 standard errors across replicas
    expect(Math.abs(acf[1]! - 0.5)).toBeLessThan(5 * se[1]! + 0.0075)
    // variance of N = 40 000 samples with 2τ_int(x²) = (1 + A²)/(1 − A²) = 5/3: SE = √(2·(5/3)/N)·(4/3)
    const vst = 4 / 3
    expect(Math.abs((r.variance as number) - vst)).toBeLessThan(5 * Math.sqrt((2 * (5 / 3)) / 40000) * vst)
    // τ_int = Δt·(½ + Σ Aᵏ) = 0.5·(½ + 1) = 0.75 (statistical spread ≈ a few %)
    expect(Math.abs((r.tauInt as number) - 0.75)).toBeLessThan(0.1)
    // human-readable output
    const human = await capture(() => analyze.run(['--in', out, '--observable', 'x0', '--max-lag', '3']))
    expect(human).toMatch(/τ_int = /)
  })

  it('uses ps when the run recorded Δt; geometric observables need d = 3N', async () => {
    const out = path.join(dir, 'ps.json')
    await capture(() => simulate.run(['--system', 'harmonic', '--dim', '6', '--dt', '0.01', '--diffusion', '2', '--temperature', '300', '--inner-steps', '2', '--replicas', '3', '--frames', '20', '--seed', '1', '--out', out]))
    const r = JSON.parse(await capture(() => analyze.run(['--in', out, '--observable', 'rg', '--max-lag', '4', '--json']))) as Record<string, unknown>
    expect(r.dt).toBeCloseTo(0.02, 15)
    expect(r.dtUnit).toBe('ps')
    expect(r.unit).toBe('Å')
    const rm = JSON.parse(await capture(() => analyze.run(['--in', out, '--observable', 'rmsd', '--max-lag', '2', '--json']))) as Record<string, unknown>
    expect((rm.mean as number) > 0).toBe(true)
  })

  it('bad flags name the flag', async () => {
    const file = path.join(dir, 'one.json')
    await writeFile(file, JSON.stringify({ meta: { eta: 0.1 }, frames: [[[0], [1], [2]]] }))
    const cases: [string[], RegExp][] = [
      [['--observable', 'x0', '--max-lag', '1'], /--in is required/],
      [['--in', file, '--observable', 'x3', '--max-lag', '1'], /--observable x3: the trajectory has coordinates x0 … x0/],
      [['--in', file, '--observable', 'phi', '--max-lag', '1'], /--observable phi needs --topology/],
      [['--in', file, '--observable', 'rg', '--max-lag', '1'], /--observable rg needs 3-D atoms/],
      [['--in', file, '--observable', 'x0', '--max-lag', '5'], /--max-lag 5 exceeds the 2 lags available/],
      [['--in', path.join(dir, 'x.dcd'), '--observable', 'x0', '--max-lag', '1'], /--in .*only \.json/],
      [['--in', path.join(dir, 'missing.json'), '--observable', 'x0', '--max-lag', '1'], /--in .*missing\.json: cannot read/],
    ]
    for (const [argv, msg] of cases) {
      const err = await analyze.run(argv).then(() => undefined, (e: unknown) => e)
      expect(err).toBeInstanceOf(UserError)
      expect((err as Error).message).toMatch(msg)
    }
  })
})
