/**
 * The app's per-residue φ/ψ choice (src/renderer/src/analysis/run-analysis.ts, docs/peptides.md):
 * the residue picker's list and the observables of the picked residue; ala2 keeps its reference keys.
 */
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { readPdb } from '../../../src/core/formats/pdb'
import { coreRates, residueLabels, standardObservables } from '../../../src/renderer/src/analysis/run-analysis'

const ROOT = path.resolve(__dirname, '../../..')
const read = (rel: string) => readPdb(readFileSync(path.join(ROOT, rel), 'latin1'), path.basename(rel))

describe('standardObservables per residue', () => {
  it('ala2: one residue, φ/ψ with the GROMACS reference keys as before', () => {
    const a = read('resources/examples/ala2/ala2_reference.pdb')
    expect(residueLabels(a.topology, a.frames)).toEqual(['ALA2'])
    const defs = standardObservables(a.topology, a.frames)
    expect(defs.map((d) => [d.key, d.label, d.referenceKey])).toEqual([
      ['phi', 'φ ALA2', 'phi_unitvector'],
      ['psi', 'ψ ALA2', 'psi_unitvector'],
      ['rmsd', 'RMSD (heavy atoms)', 'rmsd_heavy_nm'],
      ['rg', 'Rg', 'rg_all_nm'],
    ])
    expect(standardObservables(a.topology)).toEqual(defs)
  })
  it('ala3: two residues; the picked one supplies φ/ψ, without reference keys', () => {
    const a = read('resources/examples/ala3/ala3_reference.pdb')
    expect(residueLabels(a.topology, a.frames)).toEqual(['ALA2', 'ALA3'])
    const second = standardObservables(a.topology, a.frames, 1).slice(0, 2)
    expect(second).toEqual([
      { key: 'phi', label: 'φ ALA3', obs: { kind: 'dihedral', atoms: [14, 16, 18, 24] }, angle: true },
      { key: 'psi', label: 'ψ ALA3', obs: { kind: 'dihedral', atoms: [16, 18, 24, 26] }, angle: true },
    ])
    expect(standardObservables(a.topology, a.frames, 0)[0]!.label).toBe('φ ALA2')
    // an index past the list falls back to the first residue
    expect(standardObservables(a.topology, a.frames, 7)[0]!.label).toBe('φ ALA2')
  })
  it('coreRates: a C5 → C7eq → C5 path over 4 frames 1 ps apart, by hand', () => {
    const r = Math.PI / 180
    const phi = [Float64Array.from([-150, -80, -80, -150].map((v) => v * r))]
    const psi = [Float64Array.from([160, 70, 70, 160].map((v) => v * r))]
    // last core C5 for interval [0,1) and C7eq for [1,2), [2,3): 1 ps and 2 ps; one transition each way
    expect(coreRates(phi, psi, 1)).toEqual([
      { key: 'C5_beta->C7eq', ratePerNs: 1 / 0.001, count: 1 },
      { key: 'C7eq->C5_beta', ratePerNs: 1 / 0.002, count: 1 },
    ])
  })
})
