import { afterAll, afterEach, describe, expect, it, vi } from 'vitest'
import { promises as fsp, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { exportTrajectoryFile, writeTrajectory, writeTrajectorySet } from '../../../src/services/exports'
import { readPdb } from '../../../src/core/formats/pdb'
import { readDcd } from '../../../src/core/formats/dcd'
import { parseXyzComment, readXyz } from '../../../src/core/formats/xyz'
import { trajectoryFromJson, trajectoryToJson, type Trajectory } from '../../../src/core/trajectory'
import cmd from '../../../src/cli/commands/export'
import { ALA2_REF, ala2Models, expectUserErrorAsync } from '../formats/helpers'
import { tempDir } from '../datasets/helpers'

const work = tempDir('diffmd-export-')
afterAll(() => rmSync(work, { recursive: true, force: true }))
afterEach(() => vi.restoreAllMocks())

const ref = readPdb(readFileSync(ALA2_REF, 'latin1'), 'ref.pdb')
const frames = readPdb(ala2Models(12), 'a.pdb').frames
const meta = { mode: 'bridge', seed: 7, T: 300, D: 0.0499, dt: 2, k: 5.01, M: 20 }
const traj: Trajectory = { meta, replicas: 2, frames: 6, dim: 66, data: frames }
const provenance = { modelSha256: 'ab12cd', appVersion: '0.1.0' }

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length)
  let m = 0
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!))
  return m
}
const out = (name: string): string => path.join(work, name)

describe('writeTrajectory by extension', () => {
  it('.pdb: multi-model, replicas one after another, provenance in REMARKs and sidecar', async () => {
    const files = await writeTrajectory(out('t.pdb'), traj, { topology: ref.topology, provenance })
    expect(files).toEqual([out('t.pdb'), out('t.pdb.provenance.json')])
    const text = readFileSync(out('t.pdb'), 'latin1')
    const back = readPdb(text, 't.pdb')
    expect(back.nFrames).toBe(12)
    expect(maxDiff(back.frames, frames)).toBeLessThanOrEqual(5e-4 + 1e-6)
    expect(text).toContain('REMARK   1 modelSha256=ab12cd')
    expect(text).toContain('REMARK   1 meta.seed=7')
    expect(text).toContain('REMARK   1 meta.mode=bridge')
    expect(text).toContain('REMARK   1 replica 1: models 7-12')
    const side = JSON.parse(readFileSync(out('t.pdb.provenance.json'), 'utf8'))
    expect(side).toMatchObject({ app: 'DiffMD Studio', format: 'pdb', files: ['t.pdb'], replicas: [0, 1], framesPerReplica: 6, atoms: 22, provenance, meta, frameIntervalPs: 2 })
  })

  it('.dcd + topology .pdb beside it; coordinates bit-exact', async () => {
    const files = await writeTrajectory(out('t.dcd'), traj, { topology: ref.topology, provenance })
    expect(files).toEqual([out('t.dcd'), out('t.top.pdb'), out('t.dcd.provenance.json')])
    const dcd = readDcd(readFileSync(out('t.dcd')), 't.dcd')
    expect(dcd.nFrames).toBe(12)
    expect(Array.from(dcd.frames)).toEqual(Array.from(frames))
    expect(dcd.header.frameIntervalPs).toBeCloseTo(2, 5)
    expect(dcd.header.titles[1]).toBe('REMARKS replicas=2 frames=6 dim=66')
    expect(dcd.header.titles).toContain('REMARKS meta.seed=7')
    const top = readPdb(readFileSync(out('t.top.pdb'), 'latin1'), 't.top.pdb')
    expect(top.nFrames).toBe(1)
    expect(top.topology.atoms.map((a) => a.name)).toEqual(ref.topology.atoms.map((a) => a.name))
    expect(maxDiff(top.frames, frames.subarray(0, 66))).toBeLessThanOrEqual(5e-4 + 1e-6)
  })

  it('.xyz: comment carries frame, replica and time', async () => {
    await writeTrajectory(out('t.xyz'), traj, { topology: ref.topology })
    const x = readXyz(readFileSync(out('t.xyz'), 'latin1'), 't.xyz')
    expect(x.nFrames).toBe(12)
    expect(x.symbols.join('')).toBe('CHHHCONHCHCHHHCONHCHHH')
    expect(maxDiff(x.frames, frames)).toBeLessThanOrEqual(5e-6 + 1e-6)
    expect(parseXyzComment(x.comments[8]!)).toEqual({ frame: '2', replica: '1', time_ps: '4', source: 'diffmd' })
  })

  it('.json: the JSON trajectory format, bit-exact, one replica on request', async () => {
    await writeTrajectory(out('t.json'), traj, {})
    const back = trajectoryFromJson(readFileSync(out('t.json'), 'utf8'), 't.json')
    expect(back).toEqual(traj)
    expect(readFileSync(out('t.json'), 'utf8')).toBe(trajectoryToJson(traj) + '\n')
    await writeTrajectory(out('r1.json'), traj, { replica: 1 })
    const one = trajectoryFromJson(readFileSync(out('r1.json'), 'utf8'), 'r1.json')
    expect(one.replicas).toBe(1)
    expect(Array.from(one.data)).toEqual(Array.from(frames.subarray(6 * 66)))
  })

  it('analytic trajectories: dummy atoms X, 3 coordinates each, zero-padded', async () => {
    const a: Trajectory = { meta: { system: 'double-well' }, replicas: 1, frames: 3, dim: 4, data: new Float32Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]) }
    await writeTrajectory(out('a.xyz'), a)
    const x = readXyz(readFileSync(out('a.xyz'), 'latin1'), 'a.xyz')
    expect(x.symbols).toEqual(['X', 'X'])
    expect(Array.from(x.frames.subarray(0, 6))).toEqual([1, 2, 3, 4, 0, 0])
    await writeTrajectory(out('a.pdb'), a)
    const p = readPdb(readFileSync(out('a.pdb'), 'latin1'), 'a.pdb')
    expect(p.nFrames).toBe(3)
    expect(p.topology.atoms.map((t) => `${t.name}/${t.resName}`)).toEqual(['X/DUM', 'X/DUM'])
    expect(Array.from(p.frames.subarray(12, 18))).toEqual([9, 10, 11, 12, 0, 0])
    expect(readFileSync(out('a.pdb'), 'latin1')).toContain('dummy atoms: 2 atoms X for 4 coordinates (last atom zero-padded)')
  })

  it('errors leave nothing behind', async () => {
    const dir = path.join(work, 'errs')
    await fsp.mkdir(dir)
    writeFileSync(path.join(dir, 'keep.txt'), 'x')
    const bad = { ...traj, data: frames.slice() }
    bad.data[5 * 66 + 10] = NaN
    await expectUserErrorAsync(writeTrajectory(path.join(dir, 'n.dcd'), bad, { topology: ref.topology }), 'n.dcd: frame 6 atom 4 has a non-finite coordinate (NaN); nothing was written')
    await expectUserErrorAsync(writeTrajectory(path.join(dir, 'n.pdb'), bad, { topology: ref.topology }), 'n.pdb: atom 4 has a non-finite coordinate (NaN)')
    await expectUserErrorAsync(writeTrajectory(path.join(dir, 'r.pdb'), traj, { replica: 2 }), 'r.pdb: replica 2 does not exist (the trajectory has replicas 0–1)')
    await expectUserErrorAsync(writeTrajectory(path.join(dir, 't.pdb'), { ...traj, dim: 60, data: frames.subarray(0, 720) }, { topology: ref.topology }), 't.pdb: the topology has 22 atoms (66 coordinates) but the trajectory has 60 coordinates per frame')
    await expectUserErrorAsync(writeTrajectory(path.join(dir, 't.mol2'), traj), "t.mol2: unknown export format '.mol2'; use .pdb, .dcd, .xyz, .xtc or .json")
    expect(readdirSync(dir)).toEqual(['keep.txt'])
  })

  it('streams: 10⁵ frames go out through bounded writes, never one big string', async () => {
    const F = 100_000
    const data = new Float32Array(3 * F).map((_, k) => (k % 997) * 0.01)
    const big: Trajectory = { meta: {}, replicas: 1, frames: F, dim: 3, data }
    const probe = await fsp.open(out('probe'), 'w')
    const proto = Object.getPrototypeOf(probe) as { write: (...a: unknown[]) => Promise<unknown> }
    await probe.close()
    const sizes: number[] = []
    const orig = proto.write
    vi.spyOn(proto, 'write').mockImplementation(function (this: unknown, ...args: unknown[]) {
      const b = args[0]
      if (b instanceof Uint8Array) sizes.push(typeof args[2] === 'number' ? (args[2] as number) : b.length)
      return orig.apply(this, args)
    })
    await writeTrajectory(out('big.pdb'), big)
    const size = (await fsp.stat(out('big.pdb'))).size
    expect(size).toBeGreaterThan(10e6)
    expect(sizes.length).toBeGreaterThan(8)
    expect(Math.max(...sizes)).toBeLessThanOrEqual(2 ** 20 + 4096)
    const text = readFileSync(out('big.pdb'), 'latin1')
    expect(text.match(/^MODEL/gm)).toHaveLength(F)
  })
})

describe('exportTrajectoryFile and diffmd export', () => {
  it('json → dcd → pdb → xyz → json keeps frames and replicas', async () => {
    await writeTrajectory(out('in.json'), traj, {})
    const f1 = await exportTrajectoryFile(out('in.json'), ALA2_REF, 'dcd', out('c1.dcd'))
    expect(f1).toEqual([out('c1.dcd'), out('c1.top.pdb'), out('c1.dcd.provenance.json')])
    const f2 = await exportTrajectoryFile(out('c1.dcd'), out('c1.top.pdb'), 'pdb', out('c2.pdb'))
    expect(f2[0]).toBe(out('c2.pdb'))
    expect(readFileSync(out('c2.pdb'), 'latin1')).toContain('replica 1: models 7-12')
    await exportTrajectoryFile(out('c2.pdb'), undefined, 'xyz', out('c3.xyz'))
    await exportTrajectoryFile(out('c3.xyz'), undefined, 'json', out('c4.json'))
    const back = trajectoryFromJson(readFileSync(out('c4.json'), 'utf8'), 'c4.json')
    expect(back.replicas).toBe(1) // PDB input carries no replica structure
    expect(back.frames).toBe(12)
    expect(maxDiff(back.data, frames)).toBeLessThanOrEqual(5e-4 + 1e-5)
    await exportTrajectoryFile(out('c1.dcd'), ALA2_REF, 'xyz', out('c5.xyz'), { replica: 1 })
    await exportTrajectoryFile(out('c5.xyz'), undefined, 'json', out('c6.json'))
    const r1 = trajectoryFromJson(readFileSync(out('c6.json'), 'utf8'), 'c6.json')
    expect(r1.frames).toBe(6)
    expect(maxDiff(r1.data, frames.subarray(6 * 66))).toBeLessThanOrEqual(5e-6 + 1e-6)
    // a DCD of two replicas read back as two replicas
    await exportTrajectoryFile(out('c1.dcd'), ALA2_REF, 'json', out('c7.json'))
    expect(trajectoryFromJson(readFileSync(out('c7.json'), 'utf8'), 'c7.json')).toMatchObject({ replicas: 2, frames: 6 })
  })

  it('errors name the file', async () => {
    await writeTrajectory(out('e.json'), traj, {})
    await expectUserErrorAsync(exportTrajectoryFile(out('nope.json'), ALA2_REF, 'pdb', out('x.pdb')), `${out('nope.json')}: no such file`)
    await expectUserErrorAsync(exportTrajectoryFile(out('e.json'), out('a.pdb'), 'pdb', out('x.pdb')), `${out('a.pdb')}: 2 atoms, but e.json has 66 coordinates per frame (22 atoms)`)
    await expectUserErrorAsync(exportTrajectoryFile(out('e.json'), ALA2_REF, 'dcd', out('x.pdb')), `${out('x.pdb')}: the output name must end in .dcd for --format dcd`)
    writeFileSync(out('garbage.json'), Uint8Array.from({ length: 100 }, (_, i) => i))
    await expectUserErrorAsync(exportTrajectoryFile(out('garbage.json'), ALA2_REF, 'pdb', out('x.pdb')), `${out('garbage.json')}: looks like binary data`)
  })

  it('diffmd export --in --topology --format --out prints the files written', async () => {
    await writeTrajectory(out('cli.json'), traj, {})
    let printed = ''
    vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((printed += String(s)), true))
    expect(await cmd.run(['--in', out('cli.json'), '--topology', ALA2_REF, '--format', 'dcd', '--replica', '0', '--out', out('cli.dcd')])).toBe(0)
    expect(printed).toBe([out('cli.dcd'), out('cli.top.pdb'), out('cli.dcd.provenance.json')].join('\n') + '\n')
    expect(readDcd(readFileSync(out('cli.dcd')), 'cli.dcd').nFrames).toBe(6)
    await expectUserErrorAsync(cmd.run(['--in', out('cli.json'), '--out', out('cli.txt')]), "export: --format is required (one of pdb, dcd, xyz, json, xtc)")
  })
})

describe('no export replaces another file (issue 10, defect 1)', () => {
  it('a DCD writes its topology as NAME.top.pdb: a PDB trajectory of the same name keeps its frames', async () => {
    await writeTrajectory(out('same.pdb'), traj, { topology: ref.topology })
    await writeTrajectory(out('same.dcd'), traj, { topology: ref.topology })
    expect(readPdb(readFileSync(out('same.pdb'), 'latin1'), 'same.pdb').nFrames).toBe(12)
    expect(readPdb(readFileSync(out('same.top.pdb'), 'latin1'), 'same.top.pdb').nFrames).toBe(1)
    expect(JSON.parse(readFileSync(out('same.pdb.provenance.json'), 'utf8'))).toMatchObject({ file: 'same.pdb', format: 'pdb', files: ['same.pdb'] })
    expect(JSON.parse(readFileSync(out('same.dcd.provenance.json'), 'utf8'))).toMatchObject({ file: 'same.dcd', format: 'dcd', files: ['same.dcd', 'same.top.pdb'] })
  })

  it("existing: 'unique' gives the whole set a free name (-2, -3, …) and leaves the earlier set as it was", async () => {
    const dir = path.join(work, 'unique')
    const a = await writeTrajectory(path.join(dir, 'u.dcd'), traj, { topology: ref.topology, existing: 'unique' })
    const b = await writeTrajectory(path.join(dir, 'u.dcd'), traj, { topology: ref.topology, existing: 'unique', replica: 1 })
    expect(a.map((f) => path.basename(f))).toEqual(['u.dcd', 'u.top.pdb', 'u.dcd.provenance.json'])
    expect(b.map((f) => path.basename(f))).toEqual(['u-2.dcd', 'u-2.top.pdb', 'u-2.dcd.provenance.json'])
    expect(readDcd(readFileSync(path.join(dir, 'u.dcd')), 'u.dcd').nFrames).toBe(12)
    expect(readDcd(readFileSync(path.join(dir, 'u-2.dcd')), 'u-2.dcd').nFrames).toBe(6)
    expect(JSON.parse(readFileSync(path.join(dir, 'u.dcd.provenance.json'), 'utf8'))).toMatchObject({ file: 'u.dcd', replicas: [0, 1] })
    expect(JSON.parse(readFileSync(path.join(dir, 'u-2.dcd.provenance.json'), 'utf8'))).toMatchObject({ file: 'u-2.dcd', replicas: [1] })
    // a lone topology of that name also blocks the name: its DCD would be paired with the wrong atoms
    writeFileSync(path.join(dir, 'v.top.pdb'), 'not ours')
    const c = await writeTrajectory(path.join(dir, 'v.dcd'), traj, { topology: ref.topology, existing: 'unique' })
    expect(path.basename(c[0]!)).toBe('v-2.dcd')
    expect(readFileSync(path.join(dir, 'v.top.pdb'), 'utf8')).toBe('not ours')
  })

  it('a file that appears after the name was chosen is never replaced, and nothing of the set is left behind', async () => {
    const dir = path.join(work, 'race')
    await fsp.mkdir(dir, { recursive: true })
    writeFileSync(path.join(dir, 'r.top.pdb'), 'theirs')
    await expectUserErrorAsync(
      writeTrajectorySet(traj, 'dcd', [{ file: path.join(dir, 'r.dcd'), replicas: [0] }], { topology: ref.topology, noClobber: true }),
      'r.dcd: a file of this export appeared while it was written; nothing was replaced, export again'
    )
    expect(readdirSync(dir)).toEqual(['r.top.pdb'])
    expect(readFileSync(path.join(dir, 'r.top.pdb'), 'utf8')).toBe('theirs')
  })

  it('one file per replica with one shared topology, or a concatenated file marked as such with its replica boundaries', async () => {
    const dir = path.join(work, 'layout')
    const three: Trajectory = { meta, replicas: 3, frames: 4, dim: 66, data: frames }
    const files = await writeTrajectorySet(three, 'dcd', [0, 1, 2].map((r) => ({ file: path.join(dir, `p_r${r}.dcd`), replicas: [r] })), { topology: ref.topology, topologyFile: path.join(dir, 'p.top.pdb') })
    expect(files.map((f) => path.basename(f))).toEqual(['p_r0.dcd', 'p_r1.dcd', 'p_r2.dcd', 'p.top.pdb', 'p_r0.dcd.provenance.json', 'p_r1.dcd.provenance.json', 'p_r2.dcd.provenance.json'])
    for (const r of [0, 1, 2]) {
      const dcd = readDcd(readFileSync(path.join(dir, `p_r${r}.dcd`)), 'p.dcd')
      expect(dcd.nFrames).toBe(4)
      expect(Array.from(dcd.frames)).toEqual(Array.from(frames.subarray(r * 4 * 66, (r + 1) * 4 * 66)))
      const side = JSON.parse(readFileSync(path.join(dir, `p_r${r}.dcd.provenance.json`), 'utf8'))
      expect(side).toMatchObject({ file: `p_r${r}.dcd`, files: [`p_r${r}.dcd`, 'p.top.pdb'], replicas: [r], concatenated: false, replicaBoundaries: [{ replica: r, firstFrame: 0, frames: 4 }] })
    }
    await writeTrajectory(path.join(dir, 'cat.pdb'), three, { topology: ref.topology })
    const text = readFileSync(path.join(dir, 'cat.pdb'), 'latin1')
    expect(text).toContain('CONCATENATED: 3 independent replicas, not one continuous run')
    expect(text).toContain('replica 2: models 9-12')
    const side = JSON.parse(readFileSync(path.join(dir, 'cat.pdb.provenance.json'), 'utf8'))
    expect(side).toMatchObject({ concatenated: true, replicaBoundaries: [{ replica: 0, firstFrame: 0, frames: 4 }, { replica: 1, firstFrame: 4, frames: 4 }, { replica: 2, firstFrame: 8, frames: 4 }] })
    await writeTrajectory(path.join(dir, 'cat.dcd'), three, { topology: ref.topology })
    expect(readDcd(readFileSync(path.join(dir, 'cat.dcd')), 'cat.dcd').header.titles).toContain('REMARKS CONCATENATED: 3 replicas of 4 frames, not one run')
  })
})
