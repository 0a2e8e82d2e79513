/**
 * φ/ψ of every residue (docs/peptides.md) against an independent computation: phipsi_reference.json,
 * written by phipsi_reference.py beside this file (its own PDB parsing, atoms by residue number and
 * name, MDTraj's arctan2 dihedral formula in numpy) for the first 100 snapshots of the ala2 and
 * ala3 examples. Tolerance: both read the same 3-decimal coordinates; ours holds them in float32
 * (relative error 6e-8 on |x| ≤ 10 Å, ≤ 1e-6 Å), which moves a dihedral over ~1.5 Å bonds by
 * ≲ 1e-6/1.5 rad ≈ 4e-5°; the JSON is rounded to 1e-4°. 1e-3° covers both with a margin.
 */
import { readFileSync } from 'node:fs'
import { gunzipSync } from 'node:zlib'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { readPdb } from '../../../src/core/formats/pdb'
import { backboneDihedrals, seriesOf } from '../../../src/core/analysis/observables'
import { analyseResidues, peptideResidues, residueSeries } from '../../../src/core/analysis/residues'
import { basinPopulations, transitionRates } from '../../../src/core/analysis/basins'
import { tauInt } from '../../../src/core/analysis/tau-int'

const ROOT = path.resolve(__dirname, '../../..')
interface RefResidue {
  residue: string
  phi_atoms: number[]
  psi_atoms: number[]
  phi_deg: number[]
  psi_deg: number[]
}
const REF = JSON.parse(readFileSync(path.join(__dirname, 'phipsi_reference.json'), 'utf8')) as Record<string, { file: string; frames: number; residues: RefResidue[] }>

function load(rel: string, models: number) {
  const text = gunzipSync(readFileSync(path.join(ROOT, rel))).toString('latin1')
  const end = text.split('ENDMDL', models).join('ENDMDL').length + 'ENDMDL\n'.length
  return readPdb(text.slice(0, end), path.basename(rel))
}

function angleDiffDeg(a: number, b: number): number {
  return Math.abs(((a - b + 540) % 360) - 180)
}

describe.each(['ala2', 'ala3'])('φ/ψ of every residue of %s against the independent numpy values', (key) => {
  const ref = REF[key]!
  const pdb = load(ref.file, ref.frames)
  const N = pdb.topology.atoms.length
  const residues = peptideResidues(pdb.topology, pdb.frames.subarray(0, 3 * N))
  it('finds the same residues and atoms', () => {
    expect(pdb.nFrames).toBe(ref.frames)
    expect(residues.map((r) => r.label)).toEqual(ref.residues.map((r) => r.residue))
    residues.forEach((r, i) => {
      expect(r.phi.atoms).toEqual(ref.residues[i]!.phi_atoms)
      expect(r.psi.atoms).toEqual(ref.residues[i]!.psi_atoms)
    })
  })
  it('gives the same angles frame by frame', () => {
    const series = residueSeries([pdb.frames], N, pdb.nFrames, residues)
    let worst = 0
    series.forEach((s, i) => {
      for (let f = 0; f < pdb.nFrames; f++) {
        worst = Math.max(worst, angleDiffDeg((s.phi[0]![f]! * 180) / Math.PI, ref.residues[i]!.phi_deg[f]!), angleDiffDeg((s.psi[0]![f]! * 180) / Math.PI, ref.residues[i]!.psi_deg[f]!))
      }
    })
    expect(worst).toBeLessThan(1e-3)
  })
})

describe('ala2 is unchanged', () => {
  const ala2 = readPdb(readFileSync(path.join(ROOT, 'resources/examples/ala2/ala2_reference.pdb'), 'latin1'), 'ala2_reference.pdb')
  it('one φ and one ψ with the same atoms and names, with or without coordinates', () => {
    const want = { phi: [{ name: 'φ ALA2', atoms: [4, 6, 8, 14] }], psi: [{ name: 'ψ ALA2', atoms: [6, 8, 14, 16] }] }
    expect(backboneDihedrals(ala2.topology)).toEqual(want)
    expect(backboneDihedrals(ala2.topology, ala2.frames)).toEqual(want)
  })
  it('the reference structure sits in C5 (README: φ ≈ −150°, ψ ≈ 165°; numpy: −150.31°, 165.75°)', () => {
    const phi = (seriesOf(ala2.frames, 22, 1, { kind: 'dihedral', atoms: [4, 6, 8, 14] })[0]! * 180) / Math.PI
    const psi = (seriesOf(ala2.frames, 22, 1, { kind: 'dihedral', atoms: [6, 8, 14, 16] })[0]! * 180) / Math.PI
    expect(phi).toBeCloseTo(-150.3107, 3)
    expect(psi).toBeCloseTo(165.7535, 3)
  })
})

describe('bonds: no φ/ψ across a chain break', () => {
  const ala3 = readPdb(readFileSync(path.join(ROOT, 'resources/examples/ala3/ala3_reference.pdb'), 'latin1'), 'ala3_reference.pdb')
  it('both residues when the peptide bonds are there', () => {
    expect(peptideResidues(ala3.topology, ala3.frames).map((r) => r.label)).toEqual(['ALA2', 'ALA3'])
  })
  it('moving ALA3 and NME 10 Å away breaks the ALA2–ALA3 bond: ψ ALA2 and φ ALA3 go', () => {
    const moved = Float32Array.from(ala3.frames)
    for (let i = 16; i < 32; i++) moved[3 * i]! += 10
    const d = backboneDihedrals(ala3.topology, moved)
    expect(d.phi.map((x) => x.name)).toEqual(['φ ALA2'])
    expect(d.psi.map((x) => x.name)).toEqual(['ψ ALA3'])
    expect(peptideResidues(ala3.topology, moved)).toEqual([])
    // names alone (no coordinates) cannot see the break
    expect(backboneDihedrals(ala3.topology).phi).toHaveLength(2)
  })
})

describe('analyseResidues', () => {
  // one residue hops between the C5 core (−150°, 160°) and the C7eq core (−80°, 70°) every 10 frames:
  // 100 frames → 10 sojourns, 9 transitions (5 C5→C7eq, 4 C7eq→C5), populations 1/2 each
  const rad = Math.PI / 180
  const phi = new Float64Array(100)
  const psi = new Float64Array(100)
  for (let f = 0; f < 100; f++) {
    const c5 = Math.floor(f / 10) % 2 === 0
    phi[f] = (c5 ? -150 : -80) * rad
    psi[f] = (c5 ? 160 : 70) * rad
  }
  const [a] = analyseResidues([{ label: 'ALA2', phi: [phi], psi: [psi] }], 2, 20)
  it('populations, counts and rates by hand', () => {
    expect(a!.populations).toEqual({ C5_beta: 0.5, C7eq: 0.5, alpha_R: 0, alpha_L_C7ax: 0 })
    expect(a!.rates.pairs['C5_beta->C7eq']!.count).toBe(5)
    expect(a!.rates.pairs['C7eq->C5_beta']!.count).toBe(4)
    // time in C5 (last core): 5 sojourns × 10 frames = 50 intervals; C7eq: 5 × 10 − 1 (the last frame has no interval) = 49; × 2 ps
    expect(a!.rates.pairs['C5_beta->C7eq']!.ratePerNs).toBeCloseTo(5 / 0.1, 12)
    expect(a!.rates.pairs['C7eq->C5_beta']!.ratePerNs).toBeCloseTo(4 / 0.098, 12)
    expect(a!.populations).toEqual(basinPopulations(phi, psi))
    expect(a!.rates).toEqual(transitionRates([{ phi, psi }], 2))
  })
  it('ACF of the square wave: 1 at lag 0, anti-correlated at the half period (10 frames), correlated again at the period (20)', () => {
    expect(a!.phi.acf[0]).toBeCloseTo(1, 12)
    expect(a!.phi.acf).toHaveLength(21)
    expect(a!.phi.acf[10]!).toBeLessThan(-0.5)
    expect(a!.phi.acf[20]!).toBeGreaterThan(0.5)
    expect(a!.phi.tauInt).toBeCloseTo(tauInt(Float64Array.from(a!.phi.acf), 2).tau, 12)
  })
})
