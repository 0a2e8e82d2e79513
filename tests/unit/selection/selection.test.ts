/**
 * The selection language (src/core/selection, docs/selection.md) against index lists written out by
 * hand from the atom lists of real topologies: the ala2 reference (resources/examples/ala2), the ala3
 * reference (resources/examples/ala3) and a hand-built solvated ala2 (solvated_ala2.pdb beside this
 * file: ala2 + 3 waters + Na⁺ + Cl⁻ in chain B).
 */
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { readPdb } from '../../../src/core/formats/pdb'
import { parseSelection, select, solventCounts } from '../../../src/core/selection'
import { UserError } from '../../../src/core/errors'

const ROOT = path.resolve(__dirname, '../../..')
const read = (f: string) => readPdb(readFileSync(f, 'latin1'), path.basename(f)).topology
const ala2 = read(path.join(ROOT, 'resources/examples/ala2/ala2_reference.pdb'))
const solv = read(path.join(__dirname, 'solvated_ala2.pdb'))
const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i)

// ala2 atoms (0-based): 0 CH3 1-3 HH3x 4 C 5 O (ACE) | 6 N 7 H 8 CA 9 HA 10 CB 11-13 HB 14 C 15 O (ALA)
// | 16 N 17 H 18 CH3 19-21 HH3x (NME) | solvated: 22-24, 25-27, 28-30 HOH (O H1 H2) | 31 NA | 32 CL
const HYDROGENS_ALA2 = [1, 2, 3, 7, 9, 11, 12, 13, 17, 19, 20, 21]
const HYDROGENS_WATER = [23, 24, 26, 27, 29, 30]

describe('selection keywords on ala2 and solvated ala2', () => {
  it('reads the fixture as 33 atoms', () => {
    expect(solv.atoms).toHaveLength(33)
    expect(solv.atoms[31]!.element).toBe('Na')
    expect(solv.atoms[32]!.element).toBe('Cl')
  })
  const cases: [string, number[]][] = [
    ['all', range(0, 32)],
    ['protein', range(0, 21)],
    ['backbone', [4, 5, 6, 8, 14, 15, 16]],
    ['sidechain', [10, 11, 12, 13]],
    ['water', range(22, 30)],
    ['ion', [31, 32]],
    ['solvent', range(22, 32)],
    ['hydrogen', [...HYDROGENS_ALA2, ...HYDROGENS_WATER]],
    ['heavy', range(0, 32).filter((i) => !HYDROGENS_ALA2.includes(i) && !HYDROGENS_WATER.includes(i))],
    ['ca', [8]],
    ['name CA', [8]],
    ['name O', [5, 15, 22, 25, 28]],
    ['resname ALA NME', range(6, 21)],
    ['resid 2 to 3', range(6, 21)],
    ['resid 1 3', [...range(0, 5), ...range(16, 21)]],
    ['residue 0', range(0, 5)],
    ['index 0 to 9', range(0, 9)],
    ['index 30 to 40', [30, 31, 32]],
    ['serial 1 to 3', [0, 1, 2]],
    ['element C N', [0, 4, 6, 8, 10, 14, 16, 18]],
    ['element cl', [32]],
    ['element NA', [31]],
    ['chain B', range(22, 32)],
    ['heavy and not solvent', [0, 4, 5, 6, 8, 10, 14, 15, 16, 18]],
    ['(backbone or name CB) and resid 2', [6, 8, 10, 14, 15]],
    ['not protein and not water', [31, 32]],
    ['not (protein or water)', [31, 32]],
    ['protein and not backbone and not hydrogen', [0, 10, 18]],
    ['name H*', [...HYDROGENS_ALA2, ...HYDROGENS_WATER]],
    ['name "HH3?"', [1, 2, 3, 19, 20, 21]],
    ['none', []],
    ['NAME ca AND Protein', []], // names match case-sensitively: there is no atom named 'ca'
  ]
  for (const [sel, want] of cases) {
    it(sel, () => expect(select(solv, sel)).toEqual(want))
  }
  it('and binds tighter than or; not tighter than and', () => {
    expect(select(solv, 'water or ion and name CL')).toEqual([...range(22, 30), 32])
    expect(select(solv, '(water or ion) and name CL')).toEqual([32])
    expect(select(solv, 'not water and not ion and not protein')).toEqual([])
  })
  it('the four first selections keep their meaning on ala2', () => {
    expect(select(ala2, 'all')).toEqual(range(0, 21))
    expect(select(ala2, 'heavy')).toEqual([0, 4, 5, 6, 8, 10, 14, 15, 16, 18])
    expect(select(ala2, 'backbone')).toEqual([4, 5, 6, 8, 14, 15, 16])
    expect(select(ala2, 'ca')).toEqual([8])
  })
  it('counts solvent', () => {
    expect(solventCounts(solv)).toEqual({ water: 9, ion: 2 })
    expect(solventCounts(solv, select(solv, 'heavy'))).toEqual({ water: 3, ion: 2 })
    expect(solventCounts(ala2)).toEqual({ water: 0, ion: 0 })
  })
})

describe('selection on ala3 (ACE-ALA-ALA-NME, MDTraj names: the NME methyl carbon is called C)', () => {
  const ala3 = read(path.join(ROOT, 'resources/examples/ala3/ala3_reference.pdb'))
  it('backbone, CA, side chains', () => {
    expect(ala3.atoms).toHaveLength(32)
    // ACE C O | ALA2 N CA C O | ALA3 N CA C O | NME N, C (its methyl, named C as in MDTraj: backbone there too)
    expect(select(ala3, 'backbone')).toEqual([4, 5, 6, 8, 14, 15, 16, 18, 24, 25, 26, 28])
    expect(select(ala3, 'name CA')).toEqual([8, 18])
    expect(select(ala3, 'sidechain')).toEqual([10, 11, 12, 13, 20, 21, 22, 23])
    expect(select(ala3, 'resid 3 and heavy')).toEqual([16, 18, 20, 24, 25])
  })
})

describe('selection errors: one line naming the selection and the position', () => {
  const cases: [string, RegExp][] = [
    ['', /selection '': empty selection .* at position 1/],
    ['resid 2 to', /selection 'resid 2 to': expected a number after 'to' at position 11/],
    ['name CA and', /selection 'name CA and': expected a term after the last word at position 12/],
    ['foo', /selection 'foo': unknown word 'foo' at position 1/],
    ['protein water', /selection 'protein water': unexpected 'water' \(join terms with and \/ or\) at position 9/],
    ['(protein', /selection '\(protein': expected '\)' at position 9/],
    ['protein)', /selection 'protein\)': unmatched '\)' at position 8/],
    ['resid x', /selection 'resid x': 'x' is not a whole number at position 7/],
    ['resid 5 to 2', /range 5 to 2 is empty .* at position 12/],
    ['name', /selection 'name': expected a value after 'name' at position 5/],
    ['and protein', /expected a term before 'and' at position 1/],
    ['name "CA', /unclosed quote " at position 6/],
  ]
  for (const [sel, re] of cases) {
    it(JSON.stringify(sel), () => {
      let err: unknown
      try {
        parseSelection(sel)
      } catch (e) {
        err = e
      }
      expect(err).toBeInstanceOf(UserError)
      const msg = (err as Error).message
      expect(msg).toMatch(re)
      expect(msg).not.toContain('\n')
      expect(msg).toContain('docs/selection.md')
    })
  }
})
