/**
 * `diffmd analyze` per residue (docs/peptides.md) on the first 100 ala3 snapshots, as 2 replicas ×
 * 50 frames 1 ps apart: populations and φ means against the independent numpy angles of
 * phipsi_reference.json (same frames), residue names in --observable, --atoms for rmsd.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { readFileSync } from 'node:fs'
import { gunzipSync } from 'node:zlib'
import { tmpdir } from 'node:os'
import path from 'node:path'
import analyze from '../../../src/cli/commands/analyze'
import { readPdb, writePdb } from '../../../src/core/formats/pdb'
import { trajectoryToJson } from '../../../src/core/trajectory'
import { basinPopulations } from '../../../src/core/analysis/basins'

const ROOT = path.resolve(__dirname, '../../..')
const REF = JSON.parse(readFileSync(path.join(__dirname, 'phipsi_reference.json'), 'utf8')) as {
  ala3: { residues: { residue: string; phi_deg: number[]; psi_deg: number[] }[] }
}
let dir = ''
let trajFile = ''
let topFile = ''
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'diffmd-anres-'))
  const text = gunzipSync(readFileSync(path.join(ROOT, 'resources/examples/ala3/ala3_snapshots_all.pdb.gz'))).toString('latin1')
  const end = text.split('ENDMDL', 100).join('ENDMDL').length + 'ENDMDL\n'.length
  const pdb = readPdb(text.slice(0, end), 'ala3.pdb')
  expect(pdb.nFrames).toBe(100)
  trajFile = path.join(dir, 'ala3.json')
  await writeFile(trajFile, trajectoryToJson({ meta: { frameIntervalPs: 1 }, replicas: 2, frames: 50, dim: 96, data: pdb.frames }))
  topFile = path.join(dir, 'ala3.pdb')
  await writeFile(topFile, writePdb(pdb.topology, pdb.frames.subarray(0, 96), 1))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

async function run(args: string[]): Promise<string> {
  let out = ''
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => {
    out += String(c)
    return true
  })
  try {
    expect(await analyze.run(args)).toBe(0)
    return out
  } finally {
    spy.mockRestore()
  }
}

describe('diffmd analyze --observable residues', () => {
  it('populations of both residues equal those of the numpy angles', async () => {
    const r = JSON.parse(await run(['--in', trajFile, '--topology', topFile, '--observable', 'residues', '--max-lag', '10', '--json'])) as {
      residues: { residue: string; populations: Record<string, number>; rates: Record<string, { count: number }>; phi: { acf: number[]; tauInt: number } }[]
      dt: number
      dtUnit: string
    }
    expect(r.dt).toBe(1)
    expect(r.dtUnit).toBe('ps')
    expect(r.residues.map((x) => x.residue)).toEqual(['ALA2', 'ALA3'])
    const deg = Math.PI / 180
    REF.ala3.residues.forEach((ref, i) => {
      // frames exactly on a basin border could differ by float32 rounding; none of these 100 is within 1e-3° of one
      const want = basinPopulations(
        ref.phi_deg.map((v) => v * deg),
        ref.psi_deg.map((v) => v * deg)
      )
      expect(r.residues[i]!.populations).toEqual(want)
    })
    expect(r.residues[0]!.phi.acf).toHaveLength(11)
    expect(r.residues[0]!.rates).toHaveProperty('C5_beta->C7eq')
  })
  it('text output: one row per residue', async () => {
    const text = await run(['--in', trajFile, '--topology', topFile, '--observable', 'residues', '--max-lag', '10'])
    expect(text).toMatch(/2 residue\(s\) with φ and ψ, 2 replicas × 50 frames/)
    expect(text).toMatch(/^ALA2 /m)
    expect(text).toMatch(/^ALA3 /m)
  })
  it('phi:ALA3 by residue name: circular mean of the numpy angles', async () => {
    const r = JSON.parse(await run(['--in', trajFile, '--topology', topFile, '--observable', 'phi:ALA3', '--max-lag', '5', '--json'])) as { mean: number; observable: string }
    expect(r.observable).toBe('phi:ALA3 (φ ALA3)')
    const a = REF.ala3.residues[1]!.phi_deg.map((v) => (v * Math.PI) / 180)
    const want = Math.atan2(a.reduce((s, v) => s + Math.sin(v), 0) / a.length, a.reduce((s, v) => s + Math.cos(v), 0) / a.length)
    expect(r.mean).toBeCloseTo(want, 5)
  })
  it('--atoms restricts rmsd to a selection; errors are one line', async () => {
    const r = JSON.parse(await run(['--in', trajFile, '--topology', topFile, '--observable', 'rmsd', '--atoms', 'backbone', '--max-lag', '5', '--json'])) as { observable: string; mean: number }
    expect(r.observable).toBe('rmsd (backbone, 12 atoms)')
    expect(r.mean).toBeGreaterThan(0)
    await expect(analyze.run(['--in', trajFile, '--topology', topFile, '--observable', 'rmsd', '--atoms', 'resid 2 to', '--max-lag', '5'])).rejects.toThrow(/^analyze: --atoms: selection 'resid 2 to': expected a number after 'to' at position 11/)
    await expect(analyze.run(['--in', trajFile, '--topology', topFile, '--observable', 'phi:GLY9', '--max-lag', '5'])).rejects.toThrow(/the topology has 2 phi dihedral\(s\) \(phi:ALA2, phi:ALA3\)/)
    await expect(analyze.run(['--in', trajFile, '--observable', 'residues', '--max-lag', '5'])).rejects.toThrow(/--observable residues needs --topology/)
  })
})
