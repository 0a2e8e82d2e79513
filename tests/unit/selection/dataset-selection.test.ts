/**
 * Selections at dataset import (docs/selection.md): water and ions are left out unless the
 * selection names them, and the dataset says so; expressions reach the manifest; a bad expression
 * is a one-line UserError that leaves the project untouched. Fixture: solvated_ala2.pdb (2 models
 * of ala2 + 3 waters + Na⁺ + Cl⁻).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { importDataset } from '../../../src/services/datasets'
import { selectForDataset } from '../../../src/services/datasets/selection'
import { readPdb } from '../../../src/core/formats/pdb'

const FIXTURE = path.join(__dirname, 'solvated_ala2.pdb')
const work = mkdtempSync(path.join(os.tmpdir(), 'diffmd-sel-'))
const project = path.join(work, 'project')
beforeAll(() => {
  mkdirSync(project)
  writeFileSync(path.join(project, 'project.json'), '{"name":"test"}\n')
})
afterAll(() => rmSync(work, { recursive: true, force: true }))

describe('selectForDataset', () => {
  const top = readPdb(readFileSync(FIXTURE, 'latin1'), 'solvated_ala2.pdb').topology
  it('leaves out solvent by default and says how much', () => {
    const r = selectForDataset(top, 'heavy')
    expect(r.indices).toEqual([0, 4, 5, 6, 8, 10, 14, 15, 16, 18])
    expect(r.note).toMatch(/^left out 3 water atoms and 2 ions of selection 'heavy'/)
  })
  it('keeps solvent a selection names, with a note', () => {
    const r = selectForDataset(top, 'protein or water')
    expect(r.indices).toHaveLength(31)
    expect(r.note).toBe("selection 'protein or water' keeps 9 water atoms, as it asks")
  })
  it('a water residue name counts as naming solvent', () => {
    expect(selectForDataset(top, 'resname HOH').indices).toEqual([22, 23, 24, 25, 26, 27, 28, 29, 30])
    expect(selectForDataset(top, 'resname NA').note).toBe("selection 'resname NA' keeps 1 ion, as it asks")
  })
  it('no note when no solvent was picked', () => {
    expect(selectForDataset(top, 'backbone')).toEqual({ indices: [4, 5, 6, 8, 14, 15, 16] })
  })
})

describe('importDataset with selections', () => {
  it('the default leaves out water and ions and records the note', async () => {
    const m = await importDataset(project, [FIXTURE])
    expect(m.atoms.count).toBe(22)
    expect(m.atoms.sourceCount).toBe(33)
    expect(m.atoms.indices).toEqual(Array.from({ length: 22 }, (_, i) => i))
    expect(m.warnings.some((w) => w.startsWith('left out 9 water atoms and 2 ions'))).toBe(true)
  })
  it('an expression reaches the manifest', async () => {
    const m = await importDataset(project, [FIXTURE], { select: 'resid 2 and not hydrogen' })
    expect(m.atoms.selection).toBe('resid 2 and not hydrogen')
    expect(m.atoms.indices).toEqual([6, 8, 10, 14, 15])
  })
  it('a bad expression is a one-line UserError and writes nothing', async () => {
    const before = readdirSync(path.join(project, 'datasets')).sort()
    await expect(importDataset(project, [FIXTURE], { select: 'resid 2 to' })).rejects.toThrow(/^dataset import: selection 'resid 2 to': expected a number after 'to' at position 11/)
    expect(readdirSync(path.join(project, 'datasets')).sort()).toEqual(before)
  })
})

describe('diffmd train --data reads a solvated PDB like a dataset import', () => {
  it('leaves out water and ions by default and says so; a selection that names water keeps it', async () => {
    const { loadTrainingFrames } = await import('../../../src/services/models/training-data')
    const a = await loadTrainingFrames(FIXTURE)
    expect(a.dim).toBe(66)
    expect(a.warnings.some((w) => w.startsWith("left out 9 water atoms and 2 ions of selection 'all'"))).toBe(true)
    const b = await loadTrainingFrames(FIXTURE, { select: 'protein or water' })
    expect(b.dim).toBe(3 * 31)
  })
})
