/**
 * Time series under the viewer (src/renderer/src/viewer/timeseries.ts) on real ala2 snapshots:
 * φ/ψ in degrees against a direct atan2 dihedral written here, a picked distance against
 * Math.hypot, RMSD 0 for the reference itself, missing frames as NaN, and x → frame.
 */
import { describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { readPdb } from '../../../src/core/formats/pdb'
import { computeTimeSeries, frameAtX, pickedKey, timeSeriesDefs, type PickedObservable } from '../../../src/renderer/src/viewer/timeseries'
import { ala2Models } from '../formats/helpers'

const pdb = readPdb(ala2Models(30), 'a.pdb')
const N = 22
const d = 3 * N
const getFrame = (r: number, f: number): Float32Array | undefined => (r === 0 && f < pdb.nFrames ? pdb.frames.subarray(f * d, (f + 1) * d) : undefined)

/** dihedral i-j-k-l in degrees, straight from the definition (IUPAC sign convention: clockwise positive) */
function dihedralDeg(x: Float32Array, i: number, j: number, k: number, l: number): number {
  const p = (a: number): number[] => [x[3 * a]!, x[3 * a + 1]!, x[3 * a + 2]!]
  const sub = (a: number[], b: number[]): number[] => a.map((v, n) => v - b[n]!)
  const cross = (a: number[], b: number[]): number[] => [a[1]! * b[2]! - a[2]! * b[1]!, a[2]! * b[0]! - a[0]! * b[2]!, a[0]! * b[1]! - a[1]! * b[0]!]
  const dot = (a: number[], b: number[]): number => a[0]! * b[0]! + a[1]! * b[1]! + a[2]! * b[2]!
  const b1 = sub(p(j), p(i))
  const b2 = sub(p(k), p(j))
  const b3 = sub(p(l), p(k))
  // φ = atan2(|b2| b1·(b2×b3), (b1×b2)·(b2×b3)) (Blondel & Karplus 1996)
  const y = Math.hypot(b2[0]!, b2[1]!, b2[2]!) * dot(b1, cross(b2, b3))
  return (Math.atan2(y, dot(cross(b1, b2), cross(b2, b3))) * 180) / Math.PI
}

describe('computeTimeSeries', () => {
  const picked: PickedObservable[] = [{ key: pickedKey('distance', [4, 14]), kind: 'distance', atoms: [4, 14], label: 'distance ACE 1 C – ALA 2 C' }]
  const defs = timeSeriesDefs(pdb.topology, picked)
  const reference = pdb.frames.slice(0, d)

  it('offers φ, ψ, RMSD, Rg and the picked observable', () => {
    expect(defs.map((x) => x.key)).toEqual(['phi', 'psi', 'rmsd', 'rg', 'pick:distance:4-14'])
  })

  it('φ and ψ in degrees equal a direct dihedral of atoms 4-6-8-14 and 6-8-14-16; the distance equals hypot', () => {
    const s = computeTimeSeries(getFrame, pdb.nFrames, 0, N, defs, reference)
    const by = Object.fromEntries(s.map((x) => [x.key, x]))
    expect(by.phi!.unit).toBe('°')
    expect(by.rmsd!.unit).toBe('Å')
    for (let f = 0; f < pdb.nFrames; f++) {
      const x = pdb.frames.subarray(f * d, (f + 1) * d)
      // the same dihedral by two formulas in float64 from float32 input: agree to 1e-6°
      expect(Math.abs(by.phi!.values[f]! - dihedralDeg(x, 4, 6, 8, 14))).toBeLessThan(1e-6)
      expect(Math.abs(by.psi!.values[f]! - dihedralDeg(x, 6, 8, 14, 16))).toBeLessThan(1e-6)
      const dist = Math.hypot(x[12]! - x[42]!, x[13]! - x[43]!, x[14]! - x[44]!)
      expect(Math.abs(by['pick:distance:4-14']!.values[f]! - dist)).toBeLessThan(1e-9)
    }
    expect(by.rmsd!.values[0]!).toBeLessThan(1e-6) // frame 0 is the reference
    expect(by.rmsd!.values[5]!).toBeGreaterThan(0.01)
  })

  it('frames not yet there are NaN (a run still streaming)', () => {
    const s = computeTimeSeries(getFrame, pdb.nFrames + 3, 0, N, defs.slice(0, 1), reference)
    expect(Number.isFinite(s[0]!.values[pdb.nFrames - 1]!)).toBe(true)
    expect(Number.isNaN(s[0]!.values[pdb.nFrames]!)).toBe(true)
  })

  it('a picked observable outside the topology is left out, not an error', () => {
    const bad: PickedObservable = { key: 'pick:distance:4-40', kind: 'distance', atoms: [4, 40], label: 'x' }
    expect(timeSeriesDefs(pdb.topology, [bad]).map((x) => x.key)).toEqual(['phi', 'psi', 'rmsd', 'rg'])
  })
})

describe('timeSeriesDefs on a peptide with two residues (ala3)', () => {
  const ala3 = readPdb(readFileSync(path.resolve('resources/examples/ala3/ala3_reference.pdb'), 'utf8'), 'ala3_reference.pdb')
  const atoms = ala3.topology.atoms
  const idx = (resSeq: number, name: string): number => atoms.findIndex((a) => a.resSeq === resSeq && a.name === name)
  it('offers φ/ψ of every residue, the first as phi/psi, the next as phi:ALA3/psi:ALA3, with the right atoms', () => {
    const defs = timeSeriesDefs(ala3.topology, [])
    expect(defs.map((x) => x.key)).toEqual(['phi', 'psi', 'phi:ALA3', 'psi:ALA3', 'rmsd', 'rg'])
    const by = Object.fromEntries(defs.map((x) => [x.key, x]))
    // φ(i) = C(i−1)–N(i)–CA(i)–C(i), ψ(i) = N(i)–CA(i)–C(i)–N(i+1); residues ACE1 ALA2 ALA3 NME4
    expect(by['phi:ALA3']!.obs).toEqual({ kind: 'dihedral', atoms: [idx(2, 'C'), idx(3, 'N'), idx(3, 'CA'), idx(3, 'C')] })
    expect(by['psi:ALA3']!.obs).toEqual({ kind: 'dihedral', atoms: [idx(3, 'N'), idx(3, 'CA'), idx(3, 'C'), idx(4, 'N')] })
    expect(by.phi!.obs).toEqual({ kind: 'dihedral', atoms: [idx(1, 'C'), idx(2, 'N'), idx(2, 'CA'), idx(2, 'C')] })
    const s = computeTimeSeries((r, f) => (r === 0 && f === 0 ? ala3.frames.subarray(0, atoms.length * 3) : undefined), 1, 0, atoms.length, defs, ala3.frames.slice(0, atoms.length * 3))
    const x = ala3.frames.subarray(0, atoms.length * 3)
    const v = Object.fromEntries(s.map((t) => [t.key, t.values[0]!]))
    expect(Math.abs(v['phi:ALA3']! - dihedralDeg(x, idx(2, 'C'), idx(3, 'N'), idx(3, 'CA'), idx(3, 'C')))).toBeLessThan(1e-6)
  })
})

describe('frameAtX', () => {
  it('time in ps → nearest frame, clamped', () => {
    expect(frameAtX(12.4, 100, 5)).toBe(2)
    expect(frameAtX(12.6, 100, 5)).toBe(3)
    expect(frameAtX(-3, 100, 5)).toBe(0)
    expect(frameAtX(1e9, 100, 5)).toBe(99)
    expect(frameAtX(41.6, 100, undefined)).toBe(42)
    expect(frameAtX(NaN, 100, 5)).toBe(0)
  })
})
