import { describe, expect, it } from 'vitest'
import { parseXyzComment, readXyz, writeXyz, xyzFrameText } from '../../../src/core/formats/xyz'
import { readPdb } from '../../../src/core/formats/pdb'
import { ala2Models, expectUserError, lcg } from './helpers'

describe('XYZ', () => {
  it('reads a hand-written two-frame file', () => {
    const text = '3\nframe=0 replica=0 time_ps=0\nO 0.0 0.0 0.0\nH 0.757 0.586 0.0\nH -0.757 0.586 0.0 extra columns ignored\n3\nframe=1\nO 1 2 3\nH 4 5 6\nH 7 8 9e0\n'
    const r = readXyz(text, 'w.xyz')
    expect(r.nFrames).toBe(2)
    expect(r.symbols).toEqual(['O', 'H', 'H'])
    expect(Array.from(r.frames)).toEqual([0, 0, 0, 0.757, 0.586, 0, -0.757, 0.586, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map(Math.fround))
    expect(parseXyzComment(r.comments[0]!)).toEqual({ frame: '0', replica: '0', time_ps: '0' })
  })

  it('round trip read → write → read within 1e-3 Å (ala2 frames, 100 frames of 22 atoms)', () => {
    const pdb = readPdb(ala2Models(100), 'a.pdb')
    const symbols = pdb.topology.atoms.map((a) => a.element)
    const text = writeXyz(symbols, pdb.frames, pdb.nFrames)
    const back = readXyz(text, 'a.xyz')
    expect(back.nFrames).toBe(100)
    expect(back.symbols).toEqual(symbols)
    let m = 0
    for (let i = 0; i < back.frames.length; i++) m = Math.max(m, Math.abs(back.frames[i]! - pdb.frames[i]!))
    expect(m).toBeLessThanOrEqual(1e-3)
    expect(back.comments[7]).toBe('frame=7')
    const rnd = lcg(11)
    const coords = new Float32Array(9).map(() => (rnd() - 0.5) * 2e4)
    const again = readXyz(xyzFrameText(['C', 'N', 'O'], coords, 'frame=0 replica=3'), 'r.xyz')
    for (let i = 0; i < 9; i++) expect(Math.abs(again.frames[i]! - coords[i]!)).toBeLessThanOrEqual(1e-3)
  })

  it('errors name the file, the line and what was expected', () => {
    expectUserError(() => readXyz('', 'e.xyz'), 'e.xyz: the file is empty')
    expectUserError(() => readXyz('three\nc\nO 0 0 0\n', 'b.xyz'), "b.xyz: line 1: expected the atom count of frame 1 (an integer), got 'three'")
    expectUserError(() => readXyz('2\nc\nO 0 0 0\n', 't.xyz'), 't.xyz: line 4: frame 1 is truncated after 1 of 2 atoms')
    expectUserError(() => readXyz('1\nc\nO 0 zero 0\n', 'n.xyz'), "n.xyz: line 3: y coordinate 'zero' is not a number")
    expectUserError(() => readXyz('1\nc\nO 0 0 0\n2\nc\nO 0 0 0\nH 0 0 0\n', 'm.xyz'), 'm.xyz: line 4: frame 2 has 2 atoms but frame 1 has 1')
    expectUserError(() => readXyz('1\nc\nO 0 0 0\n1\nc\nN 0 0 0\n', 's.xyz'), "s.xyz: line 6: frame 2 atom 1 is 'N' but frame 1 has 'O'")
  })
})
