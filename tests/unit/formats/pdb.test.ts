import { describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import { PdbStreamParser, pdbAtomLine, pdbModelText, readPdb, writePdb } from '../../../src/core/formats/pdb'
import { UserError } from '../../../src/core/errors'
import type { Topology } from '../../../src/core/topology'
import { ALA2_REF, ala2AllText, ala2Models, expectUserError, fixture, lcg } from './helpers'

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length)
  let m = 0
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!))
  return m
}

describe('readPdb: real-world fixtures', () => {
  it('altlocs, insertion codes, chains, TER, HETATM waters and ions, ANISOU, CRYST1', () => {
    const r = readPdb(fixture('real_world.pdb'), 'real_world.pdb')
    expect(r.nFrames).toBe(1)
    const a = r.topology.atoms
    expect(a.map((x) => `${x.name}/${x.resName}/${x.chainId}/${x.resSeq}${x.iCode}/${x.element}`)).toEqual([
      'N/SER/A/51/N', 'CA/SER/A/51/C', 'C/SER/A/51/C', 'O/SER/A/51/O', 'OG/SER/A/51/O',
      'N/GLY/A/52/N', 'CA/GLY/A/52/C',
      'N/ALA/A/52A/N', 'CA/ALA/A/52A/C', 'CB/ALA/A/52A/C',
      'N/LYS/B/1/N', 'CA/LYS/B/1/C',
      'CA/CA/B/101/Ca', 'O/HOH/W/1/O', 'O/HOH/W/2/O',
    ])
    expect(a.map((x) => x.record)).toEqual([...Array(12).fill('ATOM'), 'HETATM', 'HETATM', 'HETATM'])
    // one location for the whole of SER 51: B (mean occupancy (0.40 + 0.70)/2 = 0.55 > A's (0.60 + 0.30)/2 = 0.45),
    // so CA and OG come from the same conformer (before, CA came from A and OG from B)
    expect(a[1]!.altLoc).toBe('B')
    expect(a[1]!.occupancy).toBeCloseTo(0.4, 10)
    expect(a[4]!.altLoc).toBe('B')
    expect(Array.from(r.frames.subarray(3, 6))).toEqual([10.6, 11.6, 12.6].map(Math.fround))
    expect(Array.from(r.frames.subarray(12, 15))).toEqual([9.1, 9.1, 9.1].map(Math.fround))
    expect(Array.from(r.frames.subarray(42, 45))).toEqual([-8.125, 108.25, 999.999].map(Math.fround))
    expect(a[14]!.bFactor).toBe(30)
    expect(a[13]!.serial).toBe(18)
    const alt = r.warnings.filter((w) => w.includes('alternate location'))
    expect(alt).toHaveLength(2)
    expect(alt[0]).toContain("real_world.pdb: line 6: alternate location 'A' of CA SER A 51 dropped (kept 'B' for the whole residue, mean occupancy 0.55)")
    expect(alt[1]).toContain("line 11: alternate location 'A' of OG SER A 51 dropped (kept 'B'")
    expect(r.topology.cell).toEqual({ a: 40, b: 50, c: 60, alpha: 90, beta: 100, gamma: 90, spaceGroup: 'P 1 21 1', z: 2 })
  })

  it('GROMACS style: CRLF, no element columns, hybrid-36 serials and residue numbers, two models', () => {
    const r = readPdb(fixture('gromacs_style_crlf.pdb'), 'g.pdb')
    expect(r.nFrames).toBe(2)
    const a = r.topology.atoms
    expect(a.map((x) => x.serial)).toEqual([99998, 99999, 100000, 100001, 100002, 100003, 100004, 100005, 100006, 100007, 100008])
    expect(a.map((x) => x.resSeq)).toEqual([9999, 9999, 9999, 10000, 10001, 10002, 10003, 10003, 10004, 10004, 10005])
    expect(a.map((x) => x.name)).toEqual(['N', 'CA', '1HB', 'HH31', 'CA', 'FE', 'CL1', 'C1', 'OW', 'HW1', 'CL'])
    // " CA " of ALA is carbon, "CA  " of residue CA is calcium; FE/CL left-aligned are iron/chlorine
    expect(a.map((x) => x.element)).toEqual(['N', 'C', 'H', 'H', 'Ca', 'Fe', 'Cl', 'C', 'O', 'H', 'Cl'])
    expect(r.warnings.some((w) => w.includes('blank or invalid for 11 of 11 atoms'))).toBe(true)
    // model 2, atom 3: x = 2 + 0.25, y = -2 - 0.5, z = 4 + 1
    expect(Array.from(r.frames.subarray(33 + 6, 33 + 9))).toEqual([2.25, -2.5, 5])
  })

  it('ala2 snapshots: 5000 models of 22 atoms; first and last coordinates as in the file', () => {
    const r = readPdb(ala2AllText(), 'ala2.pdb')
    expect(r.nFrames).toBe(5000)
    expect(r.topology.atoms).toHaveLength(22)
    expect(r.frames.length).toBe(5000 * 66)
    expect(Array.from(r.frames.subarray(0, 3))).toEqual([-2.88, 0.573, 1.663].map(Math.fround))
    expect(Array.from(r.frames.subarray(5000 * 66 - 3))).toEqual([0.951, 2.726, -2.153].map(Math.fround))
    expect(r.topology.atoms.map((x) => x.element).join('')).toBe('CHHHCONHCHCHHHCONHCHHH')
    expect(r.warnings).toEqual([])
  })

  it('concatenated single-model files separated by END are several frames', () => {
    const one = readFileSync(ALA2_REF, 'latin1').replace(/^(MODEL|ENDMDL).*\n/gm, '')
    const r = readPdb(one + one + one, 'cat.pdb')
    expect(r.nFrames).toBe(3)
    expect(maxAbsDiff(r.frames.subarray(0, 66), r.frames.subarray(132, 198))).toBe(0)
  })
})

describe('PdbStreamParser', () => {
  it('gives the same frames for any chunking (chunks split lines and CRLF pairs)', () => {
    const text = ala2Models(100).replace(/\n/g, '\r\n')
    const whole = readPdb(text, 'x.pdb')
    const rnd = lcg(7)
    const frames: Float32Array[] = []
    const p = new PdbStreamParser('x.pdb', (c) => frames.push(c))
    for (let pos = 0; pos < text.length; ) {
      const n = 1 + Math.floor(rnd() * 700)
      p.push(text.slice(pos, pos + n))
      pos += n
    }
    const res = p.end()
    expect(res.nFrames).toBe(whole.nFrames)
    expect(res.nFrames).toBe(100)
    const flat = new Float32Array(frames.length * 66)
    frames.forEach((f, i) => flat.set(f, i * 66))
    expect(maxAbsDiff(flat, whole.frames)).toBe(0)
  })

  it('emits each model as soon as its ENDMDL arrives', () => {
    const text = ala2AllText()
    const firstEnd = text.indexOf('ENDMDL')
    let seen = 0
    const p = new PdbStreamParser('x.pdb', () => seen++)
    p.push(text.slice(0, firstEnd))
    expect(seen).toBe(0)
    p.push(text.slice(firstEnd, firstEnd + 7))
    expect(seen).toBe(1)
  })
})

describe('readPdb: errors are one-line UserErrors naming file and line', () => {
  const ref = readFileSync(ALA2_REF, 'latin1')
  it('model with a different atom', () => {
    const lines = ref.split('\n')
    const model2 = ref.slice(ref.indexOf('MODEL'), ref.indexOf('END\n', ref.indexOf('ENDMDL'))).replace(' HH32 ACE', ' HX32 ACE')
    const text = lines.slice(0, -2).join('\n') + '\n' + model2
    expectUserError(() => readPdb(text, 'mix.pdb'), 'mix.pdb: line ', "model 2 atom 3 is 'HX32 ACE A 1' but model 1 has 'HH32 ACE A 1'")
  })
  it('model with a missing atom', () => {
    const model = ref.slice(ref.indexOf('MODEL'), ref.indexOf('ENDMDL') + 7)
    const short = model.replace(/^ATOM {5}22.*\n/m, '')
    expectUserError(() => readPdb(model + short, 'short.pdb'), 'short.pdb: line 49:', 'model 2', 'ends after 21 atoms but model 1 has 22', "first missing atom: 'HH33 NME A 3'")
  })
  it('empty file', () => {
    expectUserError(() => readPdb('', 'empty.pdb'), 'empty.pdb: the file is empty')
    expectUserError(() => readPdb('\n\n  \n', 'blank.pdb'), 'blank.pdb: the file is empty')
  })
  it('binary garbage', () => {
    const bytes = Array.from({ length: 300 }, (_, i) => String.fromCharCode((i * 97 + 13) % 256)).join('')
    expectUserError(() => readPdb(bytes, 'garbage.pdb'), /^garbage\.pdb: line \d+: binary data \(control byte 0x[0-9a-f]{2}\)/)
  })
  it('truncated ATOM line', () => {
    const text = 'ATOM      1  N   ALA A   1      11.104   6.134\n'
    expectUserError(() => readPdb(text, 't.pdb'), 't.pdb: line 1: ATOM record is truncated (46 characters); coordinates need columns 31–54')
  })
  it('non-numeric coordinates', () => {
    const text = ref.replace('  -0.208   0.425', '  -0.208   0.4x5')
    expectUserError(() => readPdb(text, 'nan.pdb'), "nan.pdb: line 10: z coordinate '0.4x5' in columns 47–54 is not a number")
  })
  it('non-numeric residue number', () => {
    expectUserError(() => readPdb('ATOM      1  N   ALA A  #1      11.104   6.134  -6.504  1.00  0.00           N\n', 'r.pdb'), "r.pdb: line 1: residue number '#1'")
  })
  it('an XYZ file renamed .pdb says it looks like XYZ', () => {
    expectUserError(() => readPdb(fixture('xyz_renamed.pdb'), 'xyz_renamed.pdb'), 'xyz_renamed.pdb: no ATOM/HETATM records in 5 line(s); it looks like an XYZ file')
  })
})

describe('writePdb', () => {
  it('reproduces the GROMACS-written ATOM lines of the ala2 reference byte for byte', () => {
    const ref = readFileSync(ALA2_REF, 'latin1')
    const r = readPdb(ref, 'ref.pdb')
    const out = writePdb(r.topology, r.frames, 1)
    const atomLines = (s: string): string[] => s.split('\n').filter((l) => l.startsWith('ATOM'))
    expect(atomLines(out)).toEqual(atomLines(ref))
    expect(atomLines(out)).toHaveLength(22)
  })

  it('round trip read → write → read within 1e-3 Å for the fixtures and random coordinates', () => {
    for (const name of ['real_world.pdb', 'gromacs_style_crlf.pdb']) {
      const a = readPdb(fixture(name), name)
      const text = writePdb(a.topology, a.frames, a.nFrames, { remarks: ['round trip'] })
      const b = readPdb(text, 'out.pdb')
      expect(b.nFrames).toBe(a.nFrames)
      expect(b.topology.atoms.map(({ serial: _s, ...rest }) => rest)).toEqual(a.topology.atoms.map(({ serial: _s, ...rest }) => rest))
      expect(b.topology.cell).toEqual(a.topology.cell)
      expect(maxAbsDiff(a.frames, b.frames)).toBeLessThanOrEqual(1e-3)
    }
    const ala = readPdb(ala2Models(50), 'ala.pdb')
    const rnd = lcg(3)
    const frames = new Float32Array(ala.nFrames * 66).map(() => (rnd() - 0.2) * 1200)
    const back = readPdb(writePdb(ala.topology, frames, ala.nFrames), 'w.pdb')
    expect(back.nFrames).toBe(ala.nFrames)
    expect(maxAbsDiff(frames, back.frames)).toBeLessThanOrEqual(5e-4 + 1e-4)
  })

  it('writes serials > 99 999 and residue numbers > 9 999 in hybrid-36, read back exactly', () => {
    const n = 100_003
    const top: Topology = { atoms: [] }
    for (let i = 0; i < n; i++) {
      top.atoms.push({ record: 'ATOM', serial: 0, name: i % 2 ? 'CA' : 'N', altLoc: '', resName: 'GLY', chainId: 'A', resSeq: 1 + Math.floor(i / 10), iCode: '', occupancy: 1, bFactor: 0, element: i % 2 ? 'C' : 'N' })
    }
    const coords = new Float32Array(3 * n).map((_, k) => (k % 1000) / 8)
    const text = writePdb(top, coords, 1)
    const lines = text.split('\n')
    expect(lines[99_998]!.slice(6, 11)).toBe('99999')
    expect(lines[99_998]!.slice(22, 26)).toBe('A000')
    expect(lines[99_989]!.slice(22, 26)).toBe('9999')
    expect(lines[99_999]!.slice(6, 11)).toBe('A0000')
    expect(lines[100_002]!.slice(6, 11)).toBe('A0003')
    const back = readPdb(text, 'big.pdb')
    expect(back.topology.atoms[100_002]!.serial).toBe(100_003)
    expect(back.topology.atoms[100_002]!.resSeq).toBe(10_001)
    expect(maxAbsDiff(back.frames, coords)).toBe(0)
  })

  it('columns, MODEL records, CRYST1 and REMARKs follow the standard', () => {
    const atom = { record: 'HETATM' as const, serial: 1, name: 'FE', altLoc: '', resName: 'HEM', chainId: 'B', resSeq: 7, iCode: 'C', occupancy: 0.5, bFactor: 12.25, element: 'Fe' }
    expect(pdbAtomLine(atom, 3, 1.5, -22.25, 1000.0004)).toBe('HETATM    3 FE   HEM B   7C      1.500 -22.2501000.000  0.50 12.25          FE  ')
    const top: Topology = { atoms: [atom], cell: { a: 10, b: 20, c: 30, alpha: 90, beta: 90, gamma: 120, spaceGroup: 'P 1', z: 1 } }
    const text = writePdb(top, new Float32Array([1, 2, 3, 4, 5, 6]), 2, { remarks: ['seed=7 T=300'] })
    expect(text.split('\n')).toEqual([
      'REMARK   1 seed=7 T=300',
      'CRYST1   10.000   20.000   30.000  90.00  90.00 120.00 P 1           1',
      'MODEL        1',
      'HETATM    1 FE   HEM B   7C      1.000   2.000   3.000  0.50 12.25          FE  ',
      'TER',
      'ENDMDL',
      'MODEL        2',
      'HETATM    1 FE   HEM B   7C      4.000   5.000   6.000  0.50 12.25          FE  ',
      'TER',
      'ENDMDL',
      'END',
      '',
    ])
    expect(pdbModelText(top, [7, 8, 9])).toBe('HETATM    1 FE   HEM B   7C      7.000   8.000   9.000  0.50 12.25          FE  \nTER\n')
    // coordinates too wide for %8.3f lose decimals but keep their columns; non-finite ones are refused
    expect(pdbAtomLine(atom, 1, -12345.678, 0, 0).slice(30, 38)).toBe('-12345.7')
    expect(() => pdbAtomLine(atom, 1, NaN, 0, 0)).toThrow(RangeError)
  })
})

describe('readPdb fuzz: never throws anything but UserError', () => {
  const ref = readFileSync(ALA2_REF, 'latin1').split('\n')
  const pieces = [...ref, 'MODEL        1', 'ENDMDL', 'END', 'TER', 'CRYST1   10.000   10.000   10.000  90.00  90.00  90.00 P 1           1', 'CRYST1 garbage', 'HETATM', 'ATOM', 'MODEL', '']
  const line = fc.oneof(
    fc.constantFrom(...pieces),
    fc.tuple(fc.constantFrom(...ref), fc.nat(90), fc.string({ maxLength: 4 })).map(([l, at, s]) => l.slice(0, at) + s + l.slice(at + s.length)),
    fc.tuple(fc.constantFrom(...ref), fc.nat(90)).map(([l, at]) => l.slice(0, at)),
    fc.string({ maxLength: 90 }),
    fc.string({ unit: 'binary', maxLength: 90 }),
    fc.tuple(fc.constantFrom('ATOM  ', 'HETATM'), fc.string({ maxLength: 80 })).map(([a, b]) => a + b)
  )
  it('on random mixtures of valid, mutated, truncated and random lines', () => {
    let ok = 0
    let userErrors = 0
    fc.assert(
      fc.property(fc.array(line, { maxLength: 60 }), fc.constantFrom('\n', '\r\n', '\r'), (lines, eol) => {
        try {
          const r = readPdb(lines.join(eol), 'fuzz.pdb')
          expect(r.frames.length).toBe(r.nFrames * 3 * r.topology.atoms.length)
          ok++
        } catch (err) {
          if (!(err instanceof UserError)) throw err
          expect(err.message).not.toMatch(/[\r\n]/)
          expect(err.message.startsWith('fuzz.pdb: ')).toBe(true)
          userErrors++
        }
      }),
      { numRuns: 400, seed: 20240601 }
    )
    expect(ok).toBeGreaterThan(0)
    expect(userErrors).toBeGreaterThan(0)
  })
})
