/**
 * Kinetic figures like with like (src/core/analysis/kinetics.ts): exact segmenting, exact counts on
 * hand-made series, and the GROMACS reference reproduced against the figures its authors computed
 * independently (resources/examples/ala2/README.md "Comparing like with like": 10-ns segments at
 * 10-ps spacing, 18 segments: C5→C7eq 1.13 /ns, C7eq→C5 1.11 /ns, τ_int φ 364 ps, ψ 486 ps,
 * unit-vector ACF φ at 50/200/500 ps 0.70/0.49/0.24, ψ at 200/500 ps 0.55/0.30).
 */
import { describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import { gunzipSync } from 'node:zlib'
import path from 'node:path'
import { kineticFigures, missBeyondNoise, referenceKinetics, segmentSeries, subsample, type PhiPsiSeriesFile } from '../../../src/core/analysis/kinetics'
import { angularAcfDirect, pooledUnitMean } from '../../../src/core/analysis/acf'
import { tauInt } from '../../../src/core/analysis/tau-int'

const deg = Math.PI / 180

describe('segmentSeries / subsample', () => {
  it('cuts whole, non-overlapping segments at the requested spacing after the discard', () => {
    const s = Array.from({ length: 100 }, (_, i) => i)
    const segs = segmentSeries(s, 1, { segmentFrames: 4, spacingPs: 3, discardPs: 10 })
    // first segment frames 10,13,16,19; next starts at 22
    expect(Array.from(segs[0]!)).toEqual([10, 13, 16, 19])
    expect(Array.from(segs[1]!)).toEqual([22, 25, 28, 31])
    // segments of span 9 + gap 3 from 10: starts 10,22,…,94? 94+9 = 103 > 99, so the last start is 82
    expect(segs.length).toBe(7)
    expect(Array.from(segs[6]!)).toEqual([82, 85, 88, 91])
  })
  it('refuses a spacing that is not a multiple of the interval', () => {
    expect(() => segmentSeries([1, 2, 3], 2, { segmentFrames: 2, spacingPs: 3 })).toThrow(/whole multiple/)
  })
  it('subsamples every k-th frame', () => {
    expect(Array.from(subsample([0, 1, 2, 3, 4, 5, 6], 3))).toEqual([0, 3, 6])
  })
})

describe('kineticFigures on hand-made series', () => {
  // C5 core: φ −150°, ψ 165°; C7eq core: φ −80°, ψ 75° (inside the reference's core definitions)
  const C5 = [-150 * deg, 165 * deg] as const
  const C7 = [-80 * deg, 75 * deg] as const
  it('counts core-to-core transitions and their rates at the series spacing', () => {
    // 0..9 C5, 10..19 C7eq, 20..29 C5: C5→C7eq once, C7eq→C5 once
    const states = [...Array(10).fill(C5), ...Array(10).fill(C7), ...Array(10).fill(C5)] as (readonly [number, number])[]
    const rep = { phi: states.map((s) => s[0]), psi: states.map((s) => s[1]) }
    const k = kineticFigures([rep, rep], 2)
    // per replica: 29 intervals of 2 ps; label C5 for frames 0–9 and 20–28 (19 intervals), C7eq 10–19 (10)
    expect(k.rateForward.count).toBe(2)
    expect(k.rateBackward.count).toBe(2)
    expect(k.rateForward.value).toBeCloseTo(2 / ((2 * 19 * 2) / 1000), 10)
    expect(k.rateBackward.value).toBeCloseTo(2 / ((2 * 10 * 2) / 1000), 10)
    expect(k.rateForward.stderr).toBeCloseTo(k.rateForward.value / Math.sqrt(2), 10)
  })
  it('ACF at the lags equals the direct unit-vector ACF averaged over replicas', () => {
    const reps = [0, 1, 2].map((r) => {
      const n = 400
      const phi = new Float64Array(n)
      const psi = new Float64Array(n)
      for (let i = 0; i < n; i++) {
        phi[i] = Math.sin(0.05 * i + r) * 2 + 0.3 * Math.cos(0.9 * i * (r + 1))
        psi[i] = Math.cos(0.03 * i - r) * 2.5
      }
      return { phi, psi }
    })
    const k = kineticFigures(reps, 5, [50, 200])
    for (const lag of [50, 200]) {
      // the mean unit vector of all replicas together (kineticFigures' estimator), computed directly
      let c = 0
      let sn = 0
      for (const r of reps) {
        for (const a of r.phi) {
          c += Math.cos(a)
          sn += Math.sin(a)
        }
      }
      const m: [number, number] = [c / 1200, sn / 1200]
      expect(pooledUnitMean(reps.map((r) => r.phi))[0]).toBeCloseTo(m[0], 12)
      const direct = reps.map((r) => angularAcfDirect(r.phi, 40, m)[lag / 5]!)
      const mean = direct.reduce((a, b) => a + b, 0) / 3
      expect(k.acfPhi[String(lag)]!.value).toBeCloseTo(mean, 9)
      const sd = Math.sqrt(direct.reduce((a, b) => a + (b - mean) ** 2, 0) / 2)
      expect(k.acfPhi[String(lag)]!.stderr).toBeCloseTo(sd / Math.sqrt(3), 9)
    }
  })
})

describe('τ_int error by the jackknife over replicas', () => {
  it('equals the leave-one-out spread computed directly from per-replica ACFs', () => {
    const reps = [0, 1, 2, 3].map((r) => {
      const n = 300
      const phi = new Float64Array(n)
      for (let i = 0; i < n; i++) phi[i] = 2 * Math.sin(0.04 * i * (1 + 0.1 * r) + r) + 0.2 * Math.sin(1.7 * i + r)
      return { phi, psi: phi }
    })
    const k = kineticFigures(reps, 10)
    const m = pooledUnitMean(reps.map((r) => r.phi))
    const acfs = reps.map((r) => angularAcfDirect(r.phi, 299, m))
    const taus = acfs.map((_, i) => {
      const others = acfs.filter((__, j) => j !== i)
      const mean = new Float64Array(300).map((__, lag) => others.reduce((a, c) => a + c[lag]!, 0) / others.length)
      return tauInt(mean, 10).tau
    })
    const tbar = taus.reduce((a, b) => a + b, 0) / 4
    const se = Math.sqrt((3 / 4) * taus.reduce((a, b) => a + (b - tbar) ** 2, 0))
    expect(k.tauPhi.stderr).toBeCloseTo(se, 6)
    // identical replicas: no spread
    expect(kineticFigures([reps[0]!, reps[0]!, reps[0]!], 10).tauPhi.stderr).toBeCloseTo(0, 9)
  })
})

describe('the GROMACS BD reference like with like', () => {
  const file = path.resolve(__dirname, '../../../resources/examples/ala2/gromacs_bd_phipsi.json.gz')
  const data = JSON.parse(gunzipSync(readFileSync(file)).toString('utf8')) as PhiPsiSeriesFile
  it('reproduces the figures computed independently on 10-ns segments at 10-ps spacing', () => {
    const ref = referenceKinetics(data, { segmentFrames: 1000, spacingPs: 10, discardPs: 1000 })
    expect(ref.segments).toBe(18)
    // the README quotes two or three significant figures: ACFs and τ agree to the last one quoted.
    // Rates: the counting convention at a segment's start (frames before the first core visit carry
    // no label) can move at most one transition per segment boundary, ≤ 18 of ~200 counted per
    // direction only in the worst case; the figures agree within 0.03 /ns (≈ 3 %, a third of the
    // Poisson error 1/√200 ≈ 7 %).
    expect(Math.abs(ref.rateForward.value - 1.13)).toBeLessThan(0.03)
    expect(Math.abs(ref.rateBackward.value - 1.11)).toBeLessThan(0.03)
    expect(Math.abs(ref.tauPhi.value - 364)).toBeLessThan(1)
    expect(Math.abs(ref.tauPsi.value - 486)).toBeLessThan(1)
    expect(ref.acfPhi['50']!.value).toBeCloseTo(0.7, 2)
    expect(ref.acfPhi['200']!.value).toBeCloseTo(0.49, 2)
    expect(ref.acfPhi['500']!.value).toBeCloseTo(0.24, 2)
    expect(ref.acfPsi['200']!.value).toBeCloseTo(0.55, 2)
    expect(ref.acfPsi['500']!.value).toBeCloseTo(0.3, 2)
  })
})

describe('missBeyondNoise', () => {
  it('counts a miss only when the difference less z combined standard errors still exceeds the tolerance', () => {
    // |1.45 − 1.12| = 0.33; √(0.14² + 0.11²) = 0.17804…; 0.33 − 2·0.17804 = −0.026 < 0.224: within the noise
    expect(missBeyondNoise({ value: 1.45, stderr: 0.14 }, { value: 1.12, stderr: 0.11 }, 0.2 * 1.12)).toBe(false)
    // the same at z = 0.5: 0.33 − 0.089 = 0.241 > 0.224
    expect(missBeyondNoise({ value: 1.45, stderr: 0.14 }, { value: 1.12, stderr: 0.11 }, 0.2 * 1.12, 0.5)).toBe(true)
    // errors 3 and 4 combine to 5: |10 − 0| − 2·5 = 0, not beyond a tolerance of 0; 10.001 is
    expect(missBeyondNoise({ value: 10, stderr: 3 }, { value: 0, stderr: 4 }, 0)).toBe(false)
    expect(missBeyondNoise({ value: 10.001, stderr: 3 }, { value: 0, stderr: 4 }, 0)).toBe(true)
    // sign does not matter; a NaN error gives no allowance
    expect(missBeyondNoise({ value: -10.001, stderr: 3 }, { value: 0, stderr: 4 }, 0)).toBe(true)
    expect(missBeyondNoise({ value: 0.3, stderr: NaN }, { value: 0.24, stderr: NaN }, 0.05)).toBe(true)
    expect(missBeyondNoise({ value: 0.28, stderr: NaN }, { value: 0.24, stderr: NaN }, 0.05)).toBe(false)
  })
})
