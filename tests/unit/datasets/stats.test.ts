import { describe, expect, it } from 'vitest'
import { coordinateStats, findDuplicates, selectAtoms } from '../../../src/services/datasets'
import { readPdb } from '../../../src/core/formats/pdb'
import { ala2Models, fixture, lcg } from '../formats/helpers'

function bruteForce(x: Float32Array, F: number, N: number, eps: number): { exact: number; near: number } {
  const d = 3 * N
  let exact = 0
  let near = 0
  for (let i = 0; i < F; i++) {
    let copy = false
    for (let j = 0; j < i; j++) {
      let ss = 0
      let same = true
      for (let k = 0; k < d; k++) {
        const v = x[i * d + k]! - x[j * d + k]!
        if (v !== 0) same = false
        ss += v * v
      }
      if (same) copy = true
      else if (Math.sqrt(ss / N) < eps) near++
    }
    if (copy) exact++
  }
  return { exact, near }
}

describe('findDuplicates (bucketed) equals the O(F²) brute force', () => {
  it('on clustered data with many near pairs and exact copies', () => {
    const rnd = lcg(42)
    const F = 1500
    const N = 5
    const x = new Float32Array(F * 3 * N)
    const centres = Array.from({ length: 40 }, () => Array.from({ length: 3 * N }, () => (rnd() - 0.5) * 4))
    for (let f = 0; f < F; f++) {
      if (f > 10 && rnd() < 0.05) {
        x.copyWithin(f * 3 * N, (f - 7) * 3 * N, (f - 6) * 3 * N)
        continue
      }
      const c = centres[Math.floor(rnd() * centres.length)]!
      for (let k = 0; k < 3 * N; k++) x[f * 3 * N + k] = c[k]! + (rnd() - 0.5) * 0.02
    }
    const want = bruteForce(x, F, N, 0.01)
    expect(want.near).toBeGreaterThan(100)
    expect(want.exact).toBeGreaterThan(20)
    const got = findDuplicates(x, F, N, 0.01)
    expect(got).toMatchObject({ exact: want.exact, nearPairs: want.near, capped: false })
    expect(got.comparisons).toBeLessThan((F * (F - 1)) / 2 / 5)
    const capped = findDuplicates(x, F, N, 0.01, 50)
    expect(capped.capped).toBe(true)
    expect(capped.comparisons).toBe(50)
  })
})

describe('coordinateStats', () => {
  it('matches a hand computation', () => {
    // two frames of one atom... of 3 atoms: x differs by ±1 on one coordinate
    const x = new Float32Array([0, 0, 0, 1, 0, 0, 0, 1, 0, 2, 0, 0, 1, 0, 0, 0, 1, 0])
    const s = coordinateStats(x, 2, 3)
    expect(Array.from(s.mean)).toEqual([1, 0, 0, 1, 0, 0, 0, 1, 0])
    expect(Array.from(s.rmsf)).toEqual([1, 0, 0])
    expect(s.sigmaData).toBeCloseTo(Math.sqrt(2 / 18), 12)
  })
})

describe('selectAtoms', () => {
  const ala = readPdb(ala2Models(1), 'a.pdb').topology
  it('all, heavy, backbone, ca on alanine dipeptide', () => {
    expect(selectAtoms(ala, 'all')).toHaveLength(22)
    expect(selectAtoms(ala, 'heavy')).toEqual([0, 4, 5, 6, 8, 10, 14, 15, 16, 18])
    expect(selectAtoms(ala, 'backbone').map((i) => `${ala.atoms[i]!.name}${ala.atoms[i]!.resName}`)).toEqual(['CACE', 'OACE', 'NALA', 'CAALA', 'CALA', 'OALA', 'NNME'])
    expect(selectAtoms(ala, 'ca')).toEqual([8])
  })
  it('water oxygens and calcium ions are not backbone or alpha carbons', () => {
    const t = readPdb(fixture('real_world.pdb'), 'r.pdb').topology
    expect(selectAtoms(t, 'ca').map((i) => `${t.atoms[i]!.resName}${t.atoms[i]!.resSeq}`)).toEqual(['SER51', 'GLY52', 'ALA52', 'LYS1'])
    expect(selectAtoms(t, 'backbone')).toEqual([0, 1, 2, 3, 5, 6, 7, 8, 10, 11])
  })
})
