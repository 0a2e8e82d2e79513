import { describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { gunzipSync } from 'node:zlib'
import type { AtomRecord, Topology } from '../../../src/core/topology'
import { backboneDihedrals, seriesOf } from '../../../src/core/analysis/observables'
import { ramachandran } from '../../../src/core/analysis/histogram'
import { jsd } from '../../../src/core/analysis/jsd'
import { basinOf, basinPopulations, coreOf, transitionRates } from '../../../src/core/analysis/basins'
import { kabsch } from '../../../src/core/geometry/kabsch'
import { radiusOfGyration } from '../../../src/core/geometry/internal'

/** the example data shipped with the app (the same files the Examples project is seeded from) */
const DATA = path.resolve(__dirname, '../../../resources/examples/ala2')

/** minimal PDB reading for tests (the real reader belongs to formats/): topology of the first model + all coordinates */
function readPdb(text: string): { top: Topology; frames: Float32Array; nFrames: number } {
  const atoms: AtomRecord[] = []
  const xyz: number[] = []
  let nFrames = 0
  let inFirst = true
  for (const l of text.split('\n')) {
    if (l.startsWith('ATOM') || l.startsWith('HETATM')) {
      xyz.push(Number(l.slice(30, 38)), Number(l.slice(38, 46)), Number(l.slice(46, 54)))
      if (inFirst) {
        atoms.push({
          record: l.startsWith('ATOM') ? 'ATOM' : 'HETATM', serial: Number(l.slice(6, 11)), name: l.slice(12, 16).trim(), altLoc: l.slice(16, 17).trim(),
          resName: l.slice(17, 20).trim(), chainId: l.slice(21, 22).trim(), resSeq: Number(l.slice(22, 26)), iCode: l.slice(26, 27).trim(),
          occupancy: 1, bFactor: 0, element: l.slice(76, 78).trim(),
        })
      }
    } else if (l.startsWith('ENDMDL')) {
      nFrames++
      inFirst = false
    }
  }
  return { top: { atoms }, frames: Float32Array.from(xyz), nFrames: Math.max(nFrames, 1) }
}

const atom = (name: string, resName: string, resSeq: number, chainId = 'A', iCode = ''): AtomRecord => ({
  record: 'ATOM', serial: 0, name, altLoc: '', resName, chainId, resSeq, iCode, occupancy: 1, bFactor: 0, element: name[0]!,
})

describe('backboneDihedrals', () => {
  it('ala2 (ACE-ALA-NME): exactly one φ and one ψ, from the right atoms', () => {
    const { top } = readPdb(readFileSync(`${DATA}/ala2_reference.pdb`, 'utf8'))
    const { phi, psi } = backboneDihedrals(top)
    // 0-based: ACE C = 4, ALA N = 6, CA = 8, C = 14, NME N = 16
    expect(phi).toEqual([{ name: 'φ ALA2', atoms: [4, 6, 8, 14] }])
    expect(psi).toEqual([{ name: 'ψ ALA2', atoms: [6, 8, 14, 16] }])
  })

  it('chains, insertion codes and file order; no dihedral across chains', () => {
    const names = ['N', 'CA', 'C', 'O']
    const atoms: AtomRecord[] = [
      ...names.map((n) => atom(n, 'GLY', 1)),
      ...names.map((n) => atom(n, 'ALA', 1, 'A', 'A')), // 1A follows 1
      ...names.map((n) => atom(n, 'SER', 2)),
      ...names.map((n) => atom(n, 'GLY', 1, 'B')),
      ...names.map((n) => atom(n, 'GLY', 2, 'B')),
      atom('O', 'HOH', 100, 'W'),
    ]
    const { phi, psi } = backboneDihedrals({ atoms })
    expect(phi.map((d) => d.name)).toEqual(['φ A:ALA1A', 'φ A:SER2', 'φ B:GLY2'])
    expect(psi.map((d) => d.name)).toEqual(['ψ A:GLY1', 'ψ A:ALA1A', 'ψ B:GLY1'])
    expect(phi[0]!.atoms).toEqual([2, 4, 5, 6])
    expect(psi[0]!.atoms).toEqual([0, 1, 2, 4])
    expect(phi[2]!.atoms).toEqual([14, 16, 17, 18])
  })
})

describe('seriesOf', () => {
  const { top, frames, nFrames } = readPdb(gunzipSync(readFileSync(`${DATA}/ala2_snapshots_all.pdb.gz`)).toString('utf8'))
  const nAtoms = top.atoms.length
  const ref = readPdb(readFileSync(`${DATA}/ala2_reference.pdb`, 'utf8')).frames

  it('reads 5000 ala2 frames of 22 atoms', () => {
    expect(nAtoms).toBe(22)
    expect(nFrames).toBe(5000)
  })

  it('each observable equals the geometry function frame by frame', () => {
    const d = 3 * nAtoms
    const few = frames.subarray(0, 4 * d)
    const r = seriesOf(few, nAtoms, 4, { kind: 'rmsd' }, ref)
    const rg = seriesOf(few, nAtoms, 4, { kind: 'rg' })
    const heavy = top.atoms.flatMap((a, i) => (a.element === 'H' ? [] : [i]))
    expect(heavy).toHaveLength(10)
    const rh = seriesOf(few, nAtoms, 4, { kind: 'rmsd', atoms: heavy }, ref)
    const rgh = seriesOf(few, nAtoms, 4, { kind: 'rg', atoms: heavy })
    const z = seriesOf(few, nAtoms, 4, { kind: 'coordinate', index: 5 })
    const dist = seriesOf(few, nAtoms, 4, { kind: 'distance', atoms: [6, 8] })
    const ang = seriesOf(few, nAtoms, 4, { kind: 'angle', atoms: [4, 6, 8] })
    for (let f = 0; f < 4; f++) {
      const fr = few.subarray(f * d, (f + 1) * d)
      expect(r[f]).toBeCloseTo(kabsch(fr, ref, nAtoms).rmsd, 10)
      expect(rg[f]).toBeCloseTo(radiusOfGyration(fr, nAtoms), 10)
      const sub = (x: Float32Array): Float32Array => Float32Array.from(heavy.flatMap((i) => [x[3 * i]!, x[3 * i + 1]!, x[3 * i + 2]!]))
      expect(rh[f]).toBeCloseTo(kabsch(sub(fr), sub(ref), 10).rmsd, 6)
      expect(rgh[f]).toBeCloseTo(radiusOfGyration(sub(fr), 10), 6)
      expect(z[f]).toBe(fr[5])
      expect(dist[f]).toBeCloseTo(Math.hypot(fr[24]! - fr[18]!, fr[25]! - fr[19]!, fr[26]! - fr[20]!), 6)
      expect(ang[f]).toBeGreaterThan(1.9)
      expect(ang[f]).toBeLessThan(2.4) // C–N–CA ≈ 120°
    }
    expect(() => seriesOf(few, nAtoms, 4, { kind: 'rmsd' })).toThrow(RangeError)
    expect(() => seriesOf(few, nAtoms, 4, { kind: 'distance', atoms: [0, 22] })).toThrow(RangeError)
  })

  it('the 5000 snapshots against the GROMACS reference: JSD, basin populations and C5 share', () => {
    const { phi: phiDefs, psi: psiDefs } = backboneDihedrals(top)
    const phi = seriesOf(frames, nAtoms, nFrames, { kind: 'dihedral', atoms: phiDefs[0]!.atoms })
    const psi = seriesOf(frames, nAtoms, nFrames, { kind: 'dihedral', atoms: psiDefs[0]!.atoms })
    const refJson = JSON.parse(readFileSync(`${DATA}/gromacs_bd_reference.json`, 'utf8')) as { ramachandran: { probability: number[][] } }
    const p = ramachandran(phi, psi)
    const q = refJson.ramachandran.probability.flat()
    // The 5000 snapshots against the GROMACS reference (docs/science.md "Measured against GROMACS"; bench/RESULTS.md quotes JSD 0.0163). An independent numpy
    // computation (np.histogram2d on linspace(−π, π, 61) edges) gives JSD 0.0162984, partition
    // populations C5 0.4958, C7eq 0.4986, αR 0.0056, αL 0, and core C5/(C5 + C7eq) = 2092/4039 = 0.51795.
    expect(jsd(p, q)).toBeCloseTo(0.0162984, 5)
    const pops = basinPopulations(phi, psi)
    expect(pops).toEqual({ C5_beta: 0.4958, C7eq: 0.4986, alpha_R: 0.0056, alpha_L_C7ax: 0 })
    const pops3 = basinPopulations(phi, psi, 3)
    expect(pops3.C7eq_beta).toBeCloseTo(0.9944, 12)
    let c5 = 0
    let c7 = 0
    for (let t = 0; t < nFrames; t++) {
      const c = coreOf(phi[t]!, psi[t]!)
      if (c === 'C5_beta') c5++
      if (c === 'C7eq') c7++
    }
    expect(c5).toBe(2092)
    expect(c5 + c7).toBe(4039)
  })
})

describe('basins', () => {
  const r = (deg: number): number => (deg * Math.PI) / 180
  it('partition_4 on hand-picked points', () => {
    const cases: [number, number, string][] = [
      [-150, 160, 'C5_beta'], // C5 centre
      [-80, 70, 'C7eq'], // C7eq centre
      [-70, -40, 'alpha_R'],
      [60, 40, 'alpha_L_C7ax'],
      [60, -170, 'alpha_L_C7ax'], // 0 ≤ φ < 120: any ψ
      [130, -60, 'alpha_R'], // φ ≥ 120 counts with φ < 0
      [170, 170, 'C5_beta'], // φ' = −190: 70·(−75) − 90·55 < 0
      [170, -170, 'C5_beta'], // ψ' = 190
      [-10, -130, 'C5_beta'], // ψ' = 230: 70·105 − 90·115 < 0
      [-60, 140, 'C7eq'], // 70·55 − 90·25 > 0
      [-120, 100, 'C7eq'], // 70·(−5) − 90·(−15) > 0
      [-130, 130, 'C5_beta'], // 70·(−15) − 90·15 < 0
    ]
    for (const [phi, psi, basin] of cases) expect(basinOf(r(phi), r(psi)), `${phi},${psi}`).toBe(basin)
    // either side of the bisector point (−106, 122), where 70·9 − 90·7 = 0 (on it: not < 0 → C7eq)
    expect(basinOf(r(-106), r(122.0001))).toBe('C5_beta')
    expect(basinOf(r(-106), r(121.9999))).toBe('C7eq')
    // radians on any branch
    expect(basinOf(r(-150) + 2 * Math.PI, r(160) - 4 * Math.PI)).toBe('C5_beta')
  })

  it('cores_4 on hand-picked points', () => {
    expect(coreOf(r(-150), r(160))).toBe('C5_beta')
    expect(coreOf(r(160), r(-160))).toBe('C5_beta')
    expect(coreOf(r(-80), r(70))).toBe('C7eq')
    expect(coreOf(r(-70), r(-40))).toBe('alpha_R')
    expect(coreOf(r(60), r(0))).toBe('alpha_L_C7ax')
    expect(coreOf(r(-100), r(120))).toBeNull()
    expect(coreOf(r(-40), r(70))).toBeNull()
    expect(coreOf(r(10), r(0))).toBeNull()
  })

  it('core-to-core transition counting and rates on a hand-made trajectory', () => {
    const d = r
    // frame:  0     1     2     3     4     5     6     7     8     9     10
    // core:   —     C5    C5    —     C7    C7    C5    αR    —     αR    C7
    const between: [number, number] = [-100, 120]
    const C5: [number, number] = [-150, 160]
    const C7: [number, number] = [-80, 70]
    const aR: [number, number] = [-70, -40]
    const seq = [between, C5, C5, between, C7, C7, C5, aR, between, aR, C7]
    const traj = { phi: seq.map((p) => d(p[0])), psi: seq.map((p) => d(p[1])) }
    // labels at frames 0…9 (intervals): —, C5×3, C7×2, C5, αR×3 → T(C5) = 4, T(C7) = 2, T(αR) = 3 frames
    // transitions (entry frame − entry frame of A): C5→C7 (4−1 = 3), C7→C5 (6−4 = 2), C5→αR (7−6 = 1), αR→C7 (10−7 = 3)
    const t = transitionRates([traj, traj], 1000) // 1 ns per frame, two identical replicas
    const p = t.pairs
    expect(p['C5_beta->C7eq']).toEqual({ count: 2, timeNs: 8, ratePerNs: 0.25, rateRelStderr: 1 / Math.sqrt(2), upperRatePerNsIfZero: null, mfptNsFromRate: 4, meanFirstPassageNs: 3 })
    expect(p['C5_beta->alpha_R']!.ratePerNs).toBe(0.25)
    expect(p['C5_beta->alpha_R']!.meanFirstPassageNs).toBe(1)
    expect(p['C7eq->C5_beta']!.ratePerNs).toBe(0.5)
    expect(p['C7eq->C5_beta']!.meanFirstPassageNs).toBe(2)
    expect(p['alpha_R->C7eq']!.ratePerNs).toBeCloseTo(1 / 3, 15)
    expect(p['alpha_R->C7eq']!.meanFirstPassageNs).toBe(3)
    expect(p['C7eq->alpha_R']).toEqual({ count: 0, timeNs: 4, ratePerNs: 0, rateRelStderr: null, upperRatePerNsIfZero: 0.25, mfptNsFromRate: null, meanFirstPassageNs: null })
    expect(p['alpha_L_C7ax->C5_beta']!.ratePerNs).toBeNull()
    expect(t.fromState['C5_beta']).toEqual({ count: 4, timeNs: 8, ratePerNs: 0.5 })
    expect(Object.keys(p)).toHaveLength(12)
    // 3-state: C5 and C7eq merge; β entered at 1, αR entered at 7, back at 10
    const t3 = transitionRates([traj], 1000, 3)
    expect(t3.pairs['C7eq_beta->alpha_R']).toMatchObject({ count: 1, timeNs: 6, meanFirstPassageNs: 6 })
    expect(t3.pairs['alpha_R->C7eq_beta']).toMatchObject({ count: 1, timeNs: 3, meanFirstPassageNs: 3 })
    // 1-ps frames: rates per ns scale by 1000
    expect(transitionRates([traj], 1).pairs['C5_beta->C7eq']!.ratePerNs).toBe(250)
  })
})
