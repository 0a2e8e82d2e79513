/**
 * `diffmd export --select EXPR` (docs/selection.md): only the selected atoms are written, with their
 * names and their coordinates in every frame; without atom names, or with a bad expression, a
 * one-line UserError.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { exportTrajectoryFile } from '../../../src/services/exports'
import { readPdb } from '../../../src/core/formats/pdb'

const FIXTURE = path.join(__dirname, 'solvated_ala2.pdb')
const work = mkdtempSync(path.join(tmpdir(), 'diffmd-exsel-'))
afterAll(() => rmSync(work, { recursive: true, force: true }))

describe('export --select', () => {
  it('writes the heavy protein atoms of both models, coordinates unchanged', async () => {
    const out = path.join(work, 'heavy.pdb')
    await exportTrajectoryFile(FIXTURE, undefined, 'pdb', out, { select: 'protein and not hydrogen' })
    const src = readPdb(readFileSync(FIXTURE, 'latin1'), 'in.pdb')
    const got = readPdb(readFileSync(out, 'latin1'), 'out.pdb')
    const want = [0, 4, 5, 6, 8, 10, 14, 15, 16, 18]
    expect(got.nFrames).toBe(2)
    expect(got.topology.atoms.map((a) => `${a.name}/${a.resName}`)).toEqual(want.map((i) => `${src.topology.atoms[i]!.name}/${src.topology.atoms[i]!.resName}`))
    for (let f = 0; f < 2; f++)
      want.forEach((i, k) => {
        for (let c = 0; c < 3; c++) expect(got.frames[f * 30 + 3 * k + c]).toBeCloseTo(src.frames[f * 99 + 3 * i + c]!, 3)
      })
  })
  it('a bad expression or no atom selected: one line', async () => {
    await expect(exportTrajectoryFile(FIXTURE, undefined, 'pdb', path.join(work, 'x.pdb'), { select: 'resid 2 to' })).rejects.toThrow(/^export: --select: selection 'resid 2 to': expected a number after 'to' at position 11/)
    await expect(exportTrajectoryFile(FIXTURE, undefined, 'pdb', path.join(work, 'y.pdb'), { select: 'resname GLY' })).rejects.toThrow(/^export: --select 'resname GLY' selects no atom of 33$/)
  })
})
