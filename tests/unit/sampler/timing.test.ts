/**
 * Per-phase wall time of a run (src/core/sampler/timing.ts, docs/speed.md): the phases add up to
 * the total, a model that takes a known time per call shows up as network time, the timing
 * wrapper returns the model's own results, and `diffmd simulate --json` reports the phases.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { runTrajectory } from '../../../src/core/sampler/runner'
import { PhaseTimer, timedModel, phaseShares, combinePhaseTimes, PHASES } from '../../../src/core/sampler/timing'
import { HarmonicModel } from '../../../src/core/score/analytic/harmonic'
import type { ScoreModel } from '../../../src/core/score/types'
import simulate from '../../../src/cli/commands/simulate'

/** busy-waits `ms` (a sleep would let the event loop run other work inside the measured call) */
function spin(ms: number): void {
  const t = performance.now() + ms
  while (performance.now() < t) {
    /* wait */
  }
}

/** a free particle (score 0) whose score call takes `ms` of wall time, sync or async */
function slowModel(ms: number, async: boolean): ScoreModel {
  return {
    dim: 3, sigmaRange: [0, Infinity], smoothed: true, rigidBody: false, name: 'slow',
    score(_x, _s, batch, out) {
      spin(ms)
      out.fill(0, 0, 3 * batch)
      if (async) return new Promise<void>((resolve) => setTimeout(resolve, 0))
    },
  }
}

describe('phase timing of a run', () => {
  for (const async of [false, true]) {
    it(`a model that takes 2 ms per call is ≥ calls × 2 ms of network time (${async ? 'async' : 'sync'})`, async () => {
      const res = await runTrajectory(slowModel(2, async), { mode: 'bridge', eta: 0.1, denoiseSteps: 3, sigmaMin: 0.01, replicas: 2, frames: 4, innerSteps: 2, seed: 1 }, new Float32Array(6))
      const t = res.timing!
      expect(res.modelCalls).toBe(3 * 2 * 3)
      // each timed call spins ≥ 2 ms inside the measured interval
      expect(t.network).toBeGreaterThanOrEqual(2 * res.modelCalls - 1e-6)
      expect(t.network).toBeLessThanOrEqual(t.totalMs)
      for (const p of PHASES) expect(t[p]).toBeGreaterThanOrEqual(0)
      // other is the remainder, so the phases add up to the total (up to float rounding of ms sums)
      const sum = t.network + t.normals + t.alignment + t.trustRegion + t.other
      expect(Math.abs(sum - t.totalMs)).toBeLessThan(1e-6 * t.totalMs + 1e-9)
      const sh = phaseShares(t)
      expect(sh.network + sh.normals + sh.alignment + sh.trustRegion + sh.other).toBeCloseTo(1, 9)
    })
  }

  it('a rigid-body run in clean mode books alignment and projection time', async () => {
    const ref = Float32Array.from([0, 0, 0, 1.5, 0, 0, 0, 1.2, 0, 0, 0, 1])
    const h = new HarmonicModel({ dim: 12, kappa: 1, beta: 1 })
    const model: ScoreModel = { dim: 12, sigmaRange: [0, Infinity], smoothed: true, rigidBody: true, reference: ref, name: 'rb', score: (x, s, b, o) => h.score(x, s, b, o) }
    const init = new Float32Array(16 * 12)
    for (let r = 0; r < 16; r++) init.set(ref, r * 12)
    const res = await runTrajectory(model, { mode: 'clean', eta: 0.01, denoiseSteps: 1, sigmaMin: 0, replicas: 16, frames: 3, innerSteps: 20, seed: 3 }, init)
    expect(res.timing!.alignment).toBeGreaterThan(0)
    expect(res.timing!.normals).toBeGreaterThan(0)
  })

  it('timedModel returns the model\'s own results and reads its properties through', async () => {
    const h = new HarmonicModel({ dim: 4, kappa: 2, beta: 1 })
    const timer = new PhaseTimer()
    const w = timedModel(h, timer)
    expect(w.dim).toBe(h.dim)
    expect(w.name).toBe(h.name)
    expect(w.smoothed).toBe(h.smoothed)
    const x = Float32Array.from([0.3, -1, 2, 0.5, 1, 1, -2, 0])
    const sig = Float32Array.from([0.1, 0.7])
    const a = new Float32Array(8)
    const b = new Float32Array(8)
    h.score(x, sig, 2, a)
    await w.score(x, sig, 2, b)
    expect(Array.from(b)).toEqual(Array.from(a))
    expect(timer.network).toBeGreaterThan(0)
  })
})

describe('combinePhaseTimes (blocks of replicas run side by side)', () => {
  it('adds each phase over the blocks and keeps the longest wall time', () => {
    const a = { totalMs: 10, network: 6, normals: 1, alignment: 1, trustRegion: 0.5, other: 1.5, overlapped: 0.2 }
    const b = { totalMs: 12, network: 8, normals: 2, alignment: 0, trustRegion: 0.5, other: 1.5, overlapped: 0.1 }
    const c = combinePhaseTimes([a, b])!
    expect(c.totalMs).toBe(12)
    expect(c.network).toBe(14)
    expect(c.normals).toBe(3)
    expect(c.overlapped).toBeCloseTo(0.3, 12)
    // CPU-time phases of two blocks can exceed one wall time: shares are then of the summed busy time
    expect(c.busyMs).toBe(22)
    expect(combinePhaseTimes([undefined, a])).toBeUndefined()
  })
})

describe('diffmd simulate --json reports the phases', () => {
  let dir = ''
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'diffmd-timing-'))
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('timing has every phase, in ms, adding up to the run', async () => {
    let stdout = ''
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stdout += String(chunk)
      return true
    })
    try {
      // one replica: one thread whatever the machine's cores, so this is the sampler's own timing
      const code = await simulate.run(['--system', 'gmm', '--eta', '0.3', '--replicas', '1', '--frames', '5', '--seed', '2', '--out', path.join(dir, 't.json'), '--json'])
      expect(code).toBe(0)
    } finally {
      spy.mockRestore()
    }
    const meta = JSON.parse(stdout.trim().split('\n').pop()!) as { timing: Record<string, number>; seconds: number }
    for (const p of [...PHASES, 'totalMs']) expect(typeof meta.timing[p]).toBe('number')
    expect(meta.timing.network).toBeGreaterThan(0)
    // the sampler's run is part of the command's wall time (seconds, measured around it)
    expect(meta.timing.totalMs).toBeLessThanOrEqual(1000 * meta.seconds + 5)
  })
})
