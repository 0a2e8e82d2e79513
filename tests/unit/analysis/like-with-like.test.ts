/**
 * referenceLikeWithLike (src/core/analysis/like-with-like.ts) against an independent computation:
 * segments cut by hand (explicit index arithmetic), the pooled-mean unit-vector ACF by the direct
 * O(n·k) sum written out here, Sokal's τ_int by its defining loop; and on the shipped GROMACS φ/ψ
 * series, the figures its authors computed independently for 10-ns segments at 10 ps
 * (resources/examples/ala2/README.md: 18 segments, τ_int φ 364 ps, ψ 486 ps).
 */
import { describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import { gunzipSync } from 'node:zlib'
import path from 'node:path'
import { referenceLikeWithLike, tauReliability } from '../../../src/core/analysis/like-with-like'
import type { PhiPsiSeriesFile } from '../../../src/core/analysis/kinetics'

const deg = Math.PI / 180

/** a deterministic wandering angle series (degrees), different per seed */
function wander(n: number, seed: number): number[] {
  const out: number[] = []
  let x = seed * 37
  let s = seed * 7919 + 1
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648
    x += ((s / 2147483648) - 0.5) * 40
    out.push(((x + 180) % 360 + 360) % 360 - 180)
  }
  return out
}

/** unit-vector ACF of several series with the mean unit vector of all of them, by the direct sum */
function pooledAcfDirect(series: number[][], maxLag: number): number[][] {
  let c = 0
  let s = 0
  let n = 0
  for (const a of series) {
    for (const v of a) {
      c += Math.cos(v)
      s += Math.sin(v)
      n++
    }
  }
  c /= n
  s /= n
  const m2 = c * c + s * s
  return series.map((a) => {
    const out: number[] = [1]
    for (let k = 1; k <= maxLag; k++) {
      let sum = 0
      for (let t = 0; t + k < a.length; t++) sum += Math.cos(a[t]! - a[t + k]!)
      out.push((sum / (a.length - k) - m2) / (1 - m2))
    }
    return out
  })
}

function sokal(c: number[], dt: number): number {
  let sum = 0.5
  for (let k = 1; k < c.length; k++) {
    sum += c[k]!
    if (k >= 5 * sum) return dt * sum
  }
  return dt * sum
}

describe('referenceLikeWithLike', () => {
  // replica A every 1 ps, replica B every 10 ps (like the shipped file's replicas 1 and 2–3)
  const A = { phi: wander(700, 1), psi: wander(700, 2) }
  const B = { phi: wander(120, 3), psi: wander(120, 4) }
  const file: PhiPsiSeriesFile = {
    replicas: [
      { frame_interval_ps: 1, phi_deg: A.phi, psi_deg: A.psi },
      { frame_interval_ps: 10, phi_deg: B.phi, psi_deg: B.psi },
    ],
  }

  it('cuts segments of the run length and spacing, groups them by the run’s replica count, and averages the run’s estimator', () => {
    // a run of 2 replicas × 12 frames at 5 ps, 100 ps discarded: only replica A fits (5 is not a multiple of 10)
    const got = referenceLikeWithLike(file, { segmentFrames: 12, spacingPs: 5, replicas: 2, discardPs: 100 })!
    // by hand: segments start at 100, 100 + 12·5, …; a segment spans 11·5 = 55 frames, the next starts 60 later
    const segs: number[][] = []
    for (let s = 100; s + 55 < 700; s += 60) segs.push(Array.from({ length: 12 }, (_, f) => A.phi[s + 5 * f]! * deg))
    expect(got.segments).toBe(segs.length)
    expect(got.segments).toBe(10)
    expect(got.replicasPerRun).toBe(2)
    expect(got.runs).toBe(5)
    const perRun: number[][] = []
    for (let g = 0; g < 5; g++) {
      const acfs = pooledAcfDirect(segs.slice(2 * g, 2 * g + 2), 11)
      perRun.push(acfs[0]!.map((v, k) => (v + acfs[1]![k]!) / 2))
    }
    for (let k = 0; k <= 11; k++) {
      const vals = perRun.map((c) => c[k]!)
      const m = vals.reduce((a, b) => a + b, 0) / 5
      const sd = Math.sqrt(vals.reduce((a, b) => a + (b - m) ** 2, 0) / 4)
      expect(got.phi.mean[k]).toBeCloseTo(m, 10)
      expect(got.phi.spread[k]).toBeCloseTo(sd, 10)
      expect(got.phi.lagPs[k]).toBe(5 * k)
    }
    const taus = perRun.map((c) => sokal(c, 5))
    expect(got.phi.tauIntPs).toBeCloseTo(taus.reduce((a, b) => a + b, 0) / 5, 9)
  })

  it('uses every replica whose interval divides the spacing, and none that cannot be cut', () => {
    const at10 = referenceLikeWithLike(file, { segmentFrames: 10, spacingPs: 10, discardPs: 0 })!
    // replica A: span 90 frames, next start +100 → starts 0…600 with 0+90 < 700 → 7; replica B: span 9, next +10 → 12
    expect(at10.segments).toBe(7 + 12)
    expect(at10.replicasPerRun).toBe(1)
    expect(referenceLikeWithLike(file, { segmentFrames: 10, spacingPs: 0.5 })).toBeNull()
    expect(referenceLikeWithLike(file, { segmentFrames: 5000, spacingPs: 1 })).toBeNull()
    expect(() => referenceLikeWithLike(file, { segmentFrames: 1, spacingPs: 1 })).toThrow(/segmentFrames/)
  })

  it('reproduces the GROMACS reference’s documented 10-ns / 10-ps figures', () => {
    const text = gunzipSync(readFileSync(path.resolve('resources/examples/ala2/gromacs_bd_phipsi.json.gz'))).toString('utf8')
    const ref = JSON.parse(text) as PhiPsiSeriesFile
    // all 18 segments in one pseudo-run: the estimator of the README's figures
    const all = referenceLikeWithLike(ref, { segmentFrames: 1000, spacingPs: 10, replicas: 18 })!
    expect(all.segments).toBe(18)
    expect(all.runs).toBe(1)
    // the README quotes whole ps (ψ here 486.5, quoted 486): agree within 1 ps, as kinetics.test.ts does
    expect(Math.abs(all.phi.tauOfMeanPs - 364)).toBeLessThan(1)
    expect(Math.abs(all.psi.tauOfMeanPs - 486)).toBeLessThan(1)
    // a short run of 4 × 300 frames at 5 ps (1.5 ns): GROMACS itself shows a shorter τ there than on
    // 10-ns segments (the finite-length bias the comparison must share)
    const short = referenceLikeWithLike(ref, { segmentFrames: 300, spacingPs: 5, replicas: 4 })!
    expect(short.phi.tauIntPs).toBeLessThan(all.phi.tauOfMeanPs - 50)
    expect(short.runs).toBeGreaterThan(5)
    expect(short.phi.tauSpreadPs).toBeGreaterThan(0)
  })
})

describe('tauReliability', () => {
  it('needs a converged window and a run of 20 τ, judged with the larger τ', () => {
    expect(tauReliability({ runPs: 1495, tauPs: 39, converged: true }).reliable).toBe(true)
    const r = tauReliability({ runPs: 1495, tauPs: 39, converged: true, independentTauPs: 390 })
    expect(r.reliable).toBe(false)
    expect(r.reason).toBe('run 1500 ps < 20 τ ≈ 7800 ps')
    expect(tauReliability({ runPs: 1e5, tauPs: 39, converged: false }).reliable).toBe(false)
    expect(tauReliability({ runPs: 9995, tauPs: 300, converged: true, independentTauPs: 454 }).reliable).toBe(true)
  })
})
