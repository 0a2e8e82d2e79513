/**
 * The real-file corpus (tests/fixtures/real/, SOURCES.md): every file read through the content-
 * based dispatcher and through dataset import, frames × atoms and every coordinate checked against
 * MDTraj's reading (expected.json from make-expected.py), or the expected refusal text.
 * Tolerance 2e-3 Å: the expected values are MDTraj's float32 coordinates rounded to 1e-4 Å (±5e-5)
 * and ours are float32 of the same stored numbers (XTC integers / 1000 nm, %8.3f text, float32 TRR
 * and DCD): |Δ| ≤ 5e-5 + a few float32 ulps at ≤ 10 Å (≈ 1e-6), so 2e-3 only fails on a real error.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { readStructure, readTrajectory, unwrap } from '../../../src/core/formats/snapshots'
import { importDataset, readDataset } from '../../../src/services/datasets'
import { ROOT, expectUserError, expectUserErrorAsync } from './helpers'
import { tempDir } from '../datasets/helpers'

const REAL = path.join(ROOT, 'tests/fixtures/real')
interface Expected {
  frames: number
  atoms: number
  coords: number[][]
  names?: string[]
  resSeq?: number[]
  chain?: string
  spacingPs?: number
  timesPs?: number[]
  cellA?: number[]
}
const EXPECTED = JSON.parse(readFileSync(path.join(REAL, 'expected.json'), 'utf8')) as Record<string, Expected>
const TOL = 2e-3

function bytes(name: string): Uint8Array {
  return new Uint8Array(readFileSync(path.join(REAL, name)))
}

function expectFrames(frames: Float32Array, nFrames: number, exp: Expected, label: string): void {
  expect(nFrames, `${label}: frames`).toBe(exp.frames)
  expect(frames.length, `${label}: values`).toBe(exp.frames * exp.atoms * 3)
  let worst = 0
  for (let f = 0; f < exp.frames; f++) {
    const row = exp.coords[f]!
    for (let k = 0; k < row.length; k++) worst = Math.max(worst, Math.abs(frames[f * row.length + k]! - row[k]!))
  }
  expect(worst, `${label}: largest coordinate difference from MDTraj (Å)`).toBeLessThan(TOL)
}

const STRUCTURES: [string, string][] = [
  ['ala2_top.pdb', 'pdb'],
  ['ala2_top.gro', 'gro'],
  ['ala2_5models.pdb', 'pdb'],
  ['ala2_4.xyz.gz', 'xyz'],
  ['ala2_4.xyz.bz2', 'xyz'],
  ['ala2_3.arc', 'tinker'],
  ['ala2_2.extxyz', 'xyz'],
  ['ala2_2.pqr', 'pqr'],
  ['ala2_3models.cif', 'cif'],
  ['ala2_2models.cif.gz', 'cif'],
  ['nmr_like_ensemble.pdb', 'pdb'],
  ['altloc_overflow.pdb', 'pdb'],
  ['gmx_box.gro', 'gro'],
  ['gmx_window.gro', 'gro'],
  ['biotite_1l2y.gro', 'gro'],
  ['biotite_1l2y_models1-3.pdb', 'pdb'],
  ['biotite_1l2y_models1-3.cif', 'cif'],
  ['biotite_2axd_models1-3.pdb.gz', 'pdb'],
  ['biotite_2axd_models1-3.cif.gz', 'cif'],
]

describe('real corpus: structures read by content match MDTraj', () => {
  for (const [name, format] of STRUCTURES) {
    it(`${name} (${format})`, () => {
      const u = unwrap(bytes(name), name)
      expect(u.kind).toBe(format)
      const r = readStructure(u, name)
      const exp = EXPECTED[name]!
      expect(r.topology.atoms.length).toBe(exp.atoms)
      expectFrames(r.frames, r.nFrames, exp, name)
      if (exp.names) expect(r.topology.atoms.map((a) => a.name)).toEqual(exp.names)
      if (exp.resSeq) expect([...new Set(r.topology.atoms.map((a) => a.resSeq))]).toEqual(exp.resSeq)
      if (exp.chain) expect(new Set(r.topology.atoms.map((a) => a.chainId))).toEqual(new Set([exp.chain]))
      if (exp.timesPs) expect(r.timesPs).toEqual(exp.timesPs)
      if (exp.cellA) expect([r.topology.cell!.a, r.topology.cell!.b, r.topology.cell!.c].map((v) => +v.toFixed(6))).toEqual(exp.cellA)
    })
  }

  it('XYZ with atom names in the first column (MDTraj, Tinker): elements from the names, CA is carbon', () => {
    const elements = ['C', 'H', 'H', 'H', 'C', 'O', 'N', 'H', 'C', 'H', 'C', 'H', 'H', 'H', 'C', 'O', 'N', 'H', 'C', 'H', 'H', 'H']
    for (const name of ['ala2_4.xyz.gz', 'ala2_3.arc']) expect(readStructure(unwrap(bytes(name), name), name).topology.atoms.map((a) => a.element), name).toEqual(elements)
    // element symbols proper: Ca stays calcium
    const ion = readStructure(unwrap(new TextEncoder().encode('3\n\nCa 0 0 0\nCl 2 0 0\nCl -2 0 0\n'), 'i.xyz'), 'i.xyz')
    expect(ion.topology.atoms.map((a) => a.element)).toEqual(['Ca', 'Cl', 'Cl'])
  })

  it('the NMR-style ensemble keeps the atoms common to all models and says what was dropped', () => {
    const r = readStructure(unwrap(bytes('nmr_like_ensemble.pdb'), 'nmr.pdb'), 'nmr.pdb')
    expect(r.warnings.join('\n')).toMatch(/3 models list different atoms; kept the 22 atoms common to all models, dropped 2 atoms: OXT NME A 3 \(only in model 2\), O HOH W 101 \(only in model 3\)/)
  })

  it("biotite's 2axd (NMR; model 1 has no C-terminal OXT): the 1,276 common atoms, and a note naming the OXT", () => {
    for (const name of ['biotite_2axd_models1-3.pdb.gz', 'biotite_2axd_models1-3.cif.gz']) {
      const r = readStructure(unwrap(bytes(name), name), name)
      expect(r.warnings.join('\n')).toContain(`${name}: the 3 models list different atoms; kept the 1,276 atoms common to all models, dropped 1 atom: OXT LYS S 76 (only in models 2–3)`)
    }
  })

  it('alternate locations: one per residue (B, occupancy 0.60, for the whole residue); **** residue numbers accepted with a note', () => {
    const r = readStructure(unwrap(bytes('altloc_overflow.pdb'), 'alt.pdb'), 'alt.pdb')
    const ala = r.topology.atoms.filter((a) => a.resName === 'ALA')
    expect(new Set(ala.filter((a) => a.altLoc !== '').map((a) => a.altLoc))).toEqual(new Set(['B']))
    expect(r.warnings.join('\n')).toMatch(/\*\*\*\*/)
    expect(new Set(r.topology.atoms.filter((a) => a.resName === 'NME').map((a) => a.resSeq))).toEqual(new Set([3]))
  })
})

describe('real corpus: trajectories with their topology match MDTraj', () => {
  const top = readStructure(unwrap(bytes('ala2_top.pdb'), 'top.pdb'), 'top.pdb')
  for (const ext of ['xtc', 'trr']) {
    it(`biotite's 1l2y.${ext} with 1l2y.gro (38 frames × 304 atoms)`, () => {
      const t = readTrajectory(unwrap(bytes(`biotite_1l2y.${ext}`), ext), ext)
      expectFrames(t.frames, t.nFrames, EXPECTED[`biotite_1l2y.${ext}`]!, `1l2y ${ext}`)
    })
  }

  it('gmx_40.trr (written by gmx trjconv)', () => {
    const t = readTrajectory(unwrap(bytes('gmx_40.trr'), 'g.trr'), 'g.trr')
    expectFrames(t.frames, t.nFrames, EXPECTED['gmx_40.trr']!, 'gmx trr')
    expect(t.timesPs!.slice(0, 3)).toEqual([0, 20, 40])
  })
  for (const ext of ['xtc', 'trr', 'dcd']) {
    it(`ala2_40.${ext}`, () => {
      const t = readTrajectory(unwrap(bytes(`ala2_40.${ext}`), `t.${ext}`), `t.${ext}`)
      expect(t.format).toBe(ext)
      expect(t.nAtoms).toBe(top.topology.atoms.length)
      expectFrames(t.frames, t.nFrames, EXPECTED[`ala2_40.${ext}`]!, ext)
    })
  }
})

describe('real corpus: dataset import of trajectory + topology, stride and time window', () => {
  const work = tempDir()
  const project = path.join(work, 'project')
  mkdirSync(project)
  writeFileSync(path.join(project, 'project.json'), '{"name":"test"}\n')
  afterAll(() => rmSync(work, { recursive: true, force: true }))
  const f = (n: string): string => path.join(REAL, n)

  for (const ext of ['xtc', 'trr', 'dcd']) {
    it(`${ext} dropped with its PDB, --stride 7: MDTraj's md.load(stride=7) frames`, async () => {
      const m = await importDataset(project, [f(`ala2_40.${ext}`), f('ala2_top.pdb')], { stride: 7, align: false })
      const exp = EXPECTED[`ala2_40.${ext} stride 7`]!
      const ds = await readDataset(project, m.id)
      expectFrames(ds.coords, m.frames, exp, `${ext} stride 7`)
      const traj = m.sources.find((s) => s.role === 'trajectory')!
      expect(traj.framesInFile).toBe(40)
      expect(m.sources.find((s) => s.role === 'topology')!.name).toBe('ala2_top.pdb')
      // MDTraj's DCD header has the placeholder DELTA = 1 AKMA, NSAVC = 1: no time information
      if (ext !== 'dcd') expect(traj.spacingPs).toBeCloseTo(140, 6)
      else expect(traj.spacingPs).toBeNull()
    })
  }

  for (const ext of ['xtc', 'trr']) {
    it(`${ext} with --top GRO, 100–500 ps, stride 3: the frames and spacing MDTraj's times give`, async () => {
      const m = await importDataset(project, [f(`ala2_40.${ext}`)], { top: f('ala2_top.gro'), beginPs: 100, endPs: 500, stride: 3, align: false })
      const exp = EXPECTED[`ala2_40.${ext} 100-500 ps stride 3`]!
      // the GRO topology stores %8.3f nm; the trajectory's coordinates are what is imported
      expectFrames((await readDataset(project, m.id)).coords, m.frames, exp, `${ext} window`)
      expect(m.sources.find((s) => s.role === 'trajectory')!.spacingPs).toBeCloseTo(exp.spacingPs!, 6)
      expect(m.warnings.join('\n')).toMatch(new RegExp(`kept ${exp.frames} of 40 frames \\(stride 3, 100–500 ps\\); spacing 60 ps`))
    })
  }

  it("biotite's 1l2y.xtc dropped with 1l2y.gro, --stride 5: MDTraj's md.load(stride=5)", async () => {
    const m = await importDataset(project, [f('biotite_1l2y.gro'), f('biotite_1l2y.xtc')], { stride: 5, align: false, select: 'all' })
    const exp = EXPECTED['biotite_1l2y.xtc stride 5']!
    expect(m.atoms.count).toBe(304)
    expectFrames((await readDataset(project, m.id)).coords, m.frames, exp, '1l2y stride 5')
  })

  it('--begin 100 --end 500 --stride 3 keeps the frames `gmx trjconv -b 100 -e 500 -skip 3` keeps', async () => {
    const m = await importDataset(project, [f('ala2_40.xtc'), f('ala2_top.pdb')], { beginPs: 100, endPs: 500, stride: 3, align: false })
    // gmx_window.gro holds GROMACS's choice (frames at 100, 160, …, 460 ps), read by MDTraj
    expectFrames((await readDataset(project, m.id)).coords, m.frames, EXPECTED['gmx_window.gro']!, 'gmx window')
  })

  it('models that differ are matched on the selected atoms: the note names only selected atoms; a difference the selection leaves out is no difference', async () => {
    const nmr = f('nmr_like_ensemble.pdb')
    // default selection: water left out, so only the OXT of model 2 is named
    const all = await importDataset(project, [nmr], { align: false })
    expect(all.warnings.join('\n')).toContain('nmr_like_ensemble.pdb: the 3 models list different atoms; kept the 22 atoms common to all models, dropped 1 selected atom: OXT NME A 3 (only in model 2)')
    const noOxt = await importDataset(project, [nmr], { align: false, select: 'not name OXT' })
    expect(noOxt.warnings.join('\n')).not.toContain('list different atoms')
    expect([noOxt.frames, noOxt.atoms.count]).toEqual([3, 22])
    // three hydrogens renamed in model 1 (3 of 22 atoms, over a tenth): refused with all atoms, accepted with heavy atoms
    const text = readFileSync(f('ala2_5models.pdb'), 'latin1')
    const renamed = text.replace(/^(ATOM {6}2 )( H1 )/m, '$1 HX1').replace(/^(ATOM {6}3 )( H2 )/m, '$1 HX2').replace(/^(ATOM {6}4 )( H3 )/m, '$1 HX3')
    expect(renamed).not.toBe(text)
    const file = path.join(work, 'renamed.pdb')
    writeFileSync(file, renamed)
    await expectUserErrorAsync(importDataset(project, [file]), 'renamed.pdb: the 5 models list different atoms: 3 of the 22 selected atoms of model 1 are not in every model (first: HX1 ACE A 1, only in model 1)')
    const heavy = await importDataset(project, [file], { select: 'heavy', align: false })
    expect([heavy.frames, heavy.atoms.count]).toEqual([5, 10])
    expect(heavy.warnings.join('\n')).not.toContain('list different atoms')
  })

  it('a trajectory alone is refused with what to add; a topology of other atoms names both counts', async () => {
    await expectUserErrorAsync(importDataset(project, [f('ala2_40.dcd')]), 'ala2_40.dcd: is a DCD trajectory (binary), coordinates only; give its topology too')
    await expectUserErrorAsync(importDataset(project, [f('ala2_40.dcd'), f('ala2_top.pdb')], { beginPs: 1 }), 'ala2_40.dcd: has no frame times, so --begin/--end cannot apply')
    const other = path.join(work, 'three.xyz')
    writeFileSync(other, '3\n\nC 0 0 0\nC 1 0 0\nC 0 1 0\n')
    await expectUserErrorAsync(importDataset(project, [f('ala2_40.xtc'), other]), 'ala2_40.xtc: 22 atoms per frame but its topology three.xyz has 3')
  })

  it('mmCIF, PQR, .xyz.gz, .xyz.bz2 and the NMR-style ensemble import as datasets', async () => {
    for (const [name, frames, atoms] of [['ala2_3models.cif', 3, 22], ['ala2_2.pqr', 2, 22], ['ala2_4.xyz.gz', 4, 22], ['ala2_4.xyz.bz2', 4, 22], ['nmr_like_ensemble.pdb', 3, 22]] as const) {
      const m = await importDataset(project, [f(name)], { align: false })
      expect([m.frames, m.atoms.count], name).toEqual([frames, atoms])
      expectFrames((await readDataset(project, m.id)).coords, m.frames, EXPECTED[name]!, `import ${name}`)
    }
  })
})

describe('real corpus: refusals name the format and what to do', () => {
  const cases: [string, string][] = [
    ['two_pdbs.tar', 'two_pdbs.tar: is a tar archive; extract it (tar -xf FILE) and import the files inside'],
    ['ala2_top.zip', 'ala2_top.zip: is a zip archive; extract it (unzip FILE) and import the files inside'],
    ['ala2_top.pdb.xz', 'ala2_top.pdb.xz: is an xz-compressed file; decompress it (xz -d FILE) or recompress it with gzip'],
    ['biotite_1l2y_head.bcif', 'biotite_1l2y_head.bcif: is a BinaryCIF file (binary, MessagePack); BinaryCIF is not read; download or convert it to text mmCIF or PDB'],
    ['head_only.mmtf', 'head_only.mmtf: is an MMTF file (binary, MessagePack); MMTF is not read; download or convert it to mmCIF or PDB'],
  ]
  for (const [name, msg] of cases) {
    it(name, () => {
      expectUserError(() => unwrap(bytes(name), name), msg)
    })
  }
})
