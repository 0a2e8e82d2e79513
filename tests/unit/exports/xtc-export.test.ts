/**
 * XTC export through writeTrajectory: the .xtc, its topology NAME.top.pdb and the provenance
 * sidecar; read back with our reader within XTC precision (0.0005 nm = 0.005 Å at precision 1000,
 * plus float32 rounding) and — where `/usr/bin/python3 -c 'import mdtraj'` works — by
 * mdtraj.load('x.xtc', top='x.top.pdb') as a user would type it (skipped with the reason otherwise).
 */
import { afterAll, describe, expect, it } from 'vitest'
import { readFileSync, rmSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { writeTrajectory } from '../../../src/services/exports'
import { readPdb } from '../../../src/core/formats/pdb'
import { readXtc } from '../../../src/core/formats/xtc'
import type { Trajectory } from '../../../src/core/trajectory'
import { ALA2_REF, ala2Models } from '../formats/helpers'
import { tempDir } from '../datasets/helpers'

const work = tempDir('diffmd-xtc-export-')
afterAll(() => rmSync(work, { recursive: true, force: true }))

const ref = readPdb(readFileSync(ALA2_REF, 'latin1'), 'ref.pdb')
const frames = readPdb(ala2Models(12), 'a.pdb').frames
const traj: Trajectory = { meta: { frameIntervalPs: 2.5 }, replicas: 2, frames: 6, dim: 66, data: frames }
/** XTC keeps x to ±0.5/1000 nm; float32 adds a few ulp of |x| (|x| < 30 Å here) */
const TOL = 0.005 + 1e-5

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length)
  let m = 0
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!))
  return m
}

describe('XTC export', () => {
  it('writes x.xtc, x.top.pdb and the sidecar; our reader gets the frames back within XTC precision', async () => {
    const file = path.join(work, 'x.xtc')
    const files = await writeTrajectory(file, traj, { topology: ref.topology, provenance: { run: 'r1' } })
    expect(files.map((f) => path.basename(f)).sort()).toEqual(['x.top.pdb', 'x.xtc', 'x.xtc.provenance.json'])
    const back = readXtc(readFileSync(file), file)
    expect(back.nAtoms).toBe(22)
    expect(back.nFrames).toBe(12)
    expect(maxDiff(back.frames, frames)).toBeLessThanOrEqual(TOL)
    // step = frame index within its replica, time = frame · 2.5 ps
    expect(Array.from(back.steps)).toEqual([0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5])
    expect(Array.from(back.timesPs)).toEqual([0, 2.5, 5, 7.5, 10, 12.5, 0, 2.5, 5, 7.5, 10, 12.5])
    const top = readPdb(readFileSync(path.join(work, 'x.top.pdb'), 'latin1'), 'x.top.pdb')
    expect(top.topology.atoms.map((a) => a.name)).toEqual(ref.topology.atoms.map((a) => a.name))
    const side = JSON.parse(readFileSync(`${file}.provenance.json`, 'utf8')) as { format: string; files: string[] }
    expect(side.format).toBe('xtc')
    expect(side.files).toContain('x.top.pdb')
  })

  it('one replica', async () => {
    const file = path.join(work, 'r1.xtc')
    await writeTrajectory(file, traj, { topology: ref.topology, replica: 1 })
    const back = readXtc(readFileSync(file), file)
    expect(back.nFrames).toBe(6)
    expect(maxDiff(back.frames, frames.subarray(6 * 66))).toBeLessThanOrEqual(TOL)
  })

  const probe = spawnSync('/usr/bin/python3', ['-c', 'import mdtraj'], { encoding: 'utf8', timeout: 60_000 })
  if (probe.status !== 0) console.log(`skipping the MDTraj XTC export check: '/usr/bin/python3 -c "import mdtraj"' failed; install with apt-get install python3-mdtraj`)
  it.skipIf(probe.status !== 0)("MDTraj opens the pair as typed: md.load('x.xtc', top='x.top.pdb')", async () => {
    const file = path.join(work, 'm.xtc')
    await writeTrajectory(file, traj, { topology: ref.topology })
    const script = `
import json, mdtraj as md
t = md.load(${JSON.stringify(file)}, top=${JSON.stringify(path.join(work, 'm.top.pdb'))})
print(json.dumps({'n_frames': t.n_frames, 'names': [a.name for a in t.topology.atoms], 'res': [r.name for r in t.topology.residues], 'xyz': (t.xyz * 10).astype('float64').ravel().tolist(), 'time': t.time.tolist()}))`
    const r = spawnSync('/usr/bin/python3', ['-c', script], { encoding: 'utf8', timeout: 120_000, maxBuffer: 64 << 20 })
    expect(r.status, r.stderr).toBe(0)
    const py = JSON.parse(r.stdout) as { n_frames: number; names: string[]; res: string[]; xyz: number[]; time: number[] }
    expect(py.n_frames).toBe(12)
    // MDTraj renames atoms to its standard names (HH31 → H1, NME CH3 → C); the backbone keeps its own
    expect(py.names.length).toBe(22)
    expect([4, 6, 8, 14].map((i) => py.names[i])).toEqual(['C', 'N', 'CA', 'C'])
    expect(py.res).toEqual(['ACE', 'ALA', 'NME'])
    expect(maxDiff(py.xyz, frames)).toBeLessThanOrEqual(TOL)
    expect(py.time.slice(0, 3)).toEqual([0, 2.5, 5])
  })
})
