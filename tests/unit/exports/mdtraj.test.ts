/**
 * Cross-checks with MDTraj (an independent reader/writer): our DCD+PDB pair and multi-model PDB
 * open with the same coordinates and atoms, MDTraj's own DCD reads with our reader, and MDTraj's
 * superposition gives the same aligned frames, σ_data and RMSF as importDataset. One Python run
 * does all the MDTraj work. Skipped, with the reason printed, when `/usr/bin/python3 -c 'import
 * mdtraj'` fails (Debian: apt-get install python3-mdtraj).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { writeTrajectory } from '../../../src/services/exports'
import { importDataset, readDataset, type Dataset } from '../../../src/services/datasets'
import { readPdb } from '../../../src/core/formats/pdb'
import { readDcd } from '../../../src/core/formats/dcd'
import type { Trajectory } from '../../../src/core/trajectory'
import { ala2Models } from '../formats/helpers'
import { tempDir } from '../datasets/helpers'

const PY = '/usr/bin/python3'
const probe = spawnSync(PY, ['-c', 'import mdtraj'], { encoding: 'utf8', timeout: 60_000 })
const hasMdtraj = probe.status === 0
if (!hasMdtraj) {
  console.log(`skipping the MDTraj cross-checks: '${PY} -c "import mdtraj"' failed (${(probe.stderr || probe.error?.message || 'no output').trim().split('\n').pop()}); install with apt-get install python3-mdtraj`)
}

const work = tempDir('diffmd-mdtraj-')
afterAll(() => rmSync(work, { recursive: true, force: true }))
const p = (name: string): string => JSON.stringify(path.join(work, name))

interface PyResult {
  dcd: { n_frames: number; n_atoms: number; xyz: number[]; names: string[]; residues: string[]; elements: string[]; plain_n_atoms: number }
  pdb: { n_frames: number; n_atoms: number; xyz: number[] }
  aligned: { xyz: number[]; sigma: number; rmsf: number[] }
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length)
  let m = 0
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!))
  return m
}

describe.skipIf(!hasMdtraj)('MDTraj cross-checks', () => {
  const src = readPdb(ala2Models(25), 'a.pdb')
  const traj: Trajectory = { meta: { dt: 2 }, replicas: 1, frames: 25, dim: 66, data: src.frames }
  let py: PyResult
  let ds: Dataset

  beforeAll(async () => {
    await writeTrajectory(path.join(work, 'x.dcd'), traj, { topology: src.topology })
    await writeTrajectory(path.join(work, 'x_models.pdb'), traj, { topology: src.topology })
    writeFileSync(path.join(work, 'snap.pdb'), ala2Models(400))
    const m = await importDataset(path.join(work, 'proj'), [path.join(work, 'snap.pdb')])
    ds = await readDataset(path.join(work, 'proj'), m.id)
    const script = `
import json, numpy as np, mdtraj as md
top = md.load_pdb(${p('x.top.pdb')}, standard_names=False).topology
a = md.load(${p('x.dcd')}, top=top)
b = md.load(${p('x_models.pdb')})
b.save_dcd(${p('by_mdtraj.dcd')})
t = md.load(${p('snap.pdb')})
t.superpose(t, 0)
x = t.xyz.astype(np.float64) * 10
x -= x[0].mean(axis=0)   # our reference frame is centred at the origin
mean = x.mean(axis=0)
print(json.dumps({
  'dcd': {'n_frames': a.n_frames, 'n_atoms': a.n_atoms, 'xyz': (a.xyz * 10).ravel().tolist(), 'names': [x.name for x in a.topology.atoms],
          'residues': [r.name for r in a.topology.residues], 'elements': [x.element.symbol for x in a.topology.atoms],
          'plain_n_atoms': md.load(${p('x.dcd')}, top=${p('x.top.pdb')}).n_atoms},
  'pdb': {'n_frames': b.n_frames, 'n_atoms': b.n_atoms, 'xyz': (b.xyz * 10).ravel().tolist()},
  'aligned': {'xyz': x.ravel().tolist(), 'sigma': float(np.sqrt(((x - mean) ** 2).mean())),
              'rmsf': np.sqrt(((x - mean) ** 2).sum(axis=2).mean(axis=0)).tolist()},
}))`
    const r = spawnSync(PY, ['-c', script], { encoding: 'utf8', timeout: 120_000, maxBuffer: 64 << 20 })
    if (r.status !== 0) throw new Error(`python failed: ${r.stderr}`)
    py = JSON.parse(r.stdout) as PyResult
  })

  it('our DCD + topology PDB pair opens with the same coordinates and atoms', () => {
    expect(py.dcd.n_frames).toBe(25)
    expect(py.dcd.n_atoms).toBe(22)
    expect(py.dcd.plain_n_atoms).toBe(22) // md.load('x.dcd', top='x.top.pdb') as a user would type it
    expect(py.dcd.names).toEqual(src.topology.atoms.map((a) => a.name))
    expect(py.dcd.residues).toEqual(['ACE', 'ALA', 'NME'])
    expect(py.dcd.elements.join('')).toBe('CHHHCONHCHCHHHCONHCHHH')
    expect(maxDiff(py.dcd.xyz, src.frames)).toBeLessThan(1e-5)
  })

  it('our multi-model PDB opens with the same coordinates', () => {
    expect(py.pdb.n_frames).toBe(25)
    expect(py.pdb.n_atoms).toBe(22)
    expect(maxDiff(py.pdb.xyz, src.frames)).toBeLessThanOrEqual(1e-3)
  })

  it("MDTraj's own DCD reads with our reader, frame for frame", () => {
    const file = path.join(work, 'by_mdtraj.dcd')
    const dcd = readDcd(readFileSync(file), file)
    expect(dcd.nFrames).toBe(25)
    expect(dcd.nAtoms).toBe(22)
    expect(maxDiff(dcd.frames, src.frames)).toBeLessThanOrEqual(1e-3)
  })

  it('importDataset alignment, σ_data and RMSF agree with mdtraj.superpose', () => {
    expect(maxDiff(py.aligned.xyz, ds.coords)).toBeLessThan(2e-3)
    expect(Math.abs(py.aligned.sigma - ds.manifest.sigmaData) / ds.manifest.sigmaData).toBeLessThan(1e-4)
    expect(maxDiff(py.aligned.rmsf, ds.manifest.rmsf)).toBeLessThan(1e-3)
  })
})
