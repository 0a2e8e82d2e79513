import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { createProject } from '../../../src/services/project/store'
import { appendRunFrames, createRun } from '../../../src/services/runs/store'
import { exportRun, toTrajectory } from '../../../src/services/runs/export'
import { readDcd } from '../../../src/core/formats/dcd'
import { readPdb } from '../../../src/core/formats/pdb'
import { readXyz } from '../../../src/core/formats/xyz'
import { D, params, runRows, sources } from './helpers'
import { timeCalibrationOf } from '../../../src/api/selfcheck'

let home: string
let projectId: string
beforeEach(async () => {
  home = mkdtempSync(path.join(tmpdir(), 'diffmd-export-'))
  projectId = (await createProject(home, 'P')).id
})
afterEach(() => rmSync(home, { recursive: true, force: true }))

async function runWithFrames(n: number) {
  const run = await createRun(home, { projectId, name: 'export me', params: params({ replicas: 2, frames: 50, dtPerFrame: 2 }) }, sources())
  const rows = runRows(0, n, 2)
  await appendRunFrames(home, projectId, run.id, 0, new Uint8Array(rows.buffer))
  return { run, rows }
}

/** replica r's frames from time-major rows, as [n, d] */
function replicaOf(rows: Float32Array, n: number, r: number, R = 2): Float32Array {
  const out = new Float32Array(n * D)
  for (let t = 0; t < n; t++) out.set(rows.subarray((t * R + r) * D, (t * R + r + 1) * D), t * D)
  return out
}

/** a model whose card holds a check: 5 ps flagged at −18 ± 9 %, 2 ps recommended (and the run sources with it) */
function checkedModel() {
  const card = {
    selfCheck: {
      createdAt: '2026-12-03T04:00:00.000Z', diffusion: 0.05, mode: 'bridge', denoiseSteps: 10, sigmaMin: 0.03, replicas: 16, nsPerReplica: 5,
      perDt: [{ dtPs: 5, equilibriumOk: true, kineticsOk: false, jsd: 0.01, timescaleError: Math.log(0.82), timescaleSe: 0.09 }],
      recommendedDtPs: 2,
      verdict: 'Recommended Δt: 2 ps',
    },
  }
  const src = sources()
  return { card, withCard: { ...src, model: { ...src.model, card } } }
}

describe('run.export', () => {
  it('reorders time-major rows into replica-major trajectories', () => {
    const rows = runRows(0, 3, 2)
    const t = toTrajectory(rows, 3, 2, D, {})
    expect(Array.from(t.data.subarray(0, 3 * D))).toEqual(Array.from(replicaOf(rows, 3, 0)))
    expect(Array.from(t.data.subarray(3 * D))).toEqual(Array.from(replicaOf(rows, 3, 1)))
  })

  it('writes a DCD of one replica (plus its topology PDB) that reads back to the stored frames', async () => {
    const { run, rows } = await runWithFrames(7)
    const res = await exportRun(home, projectId, run.id, 'dcd', 1)
    expect(res.path).toBe(path.join(run.path, 'exports', 'export_me_r1.dcd'))
    expect(res.paths).toContain(path.join(run.path, 'exports', 'export_me_r1.top.pdb'))
    expect(res.frames).toBe(7)
    const dcd = readDcd(new Uint8Array(readFileSync(res.path)), res.path)
    expect(dcd.nFrames).toBe(7)
    expect(dcd.nAtoms).toBe(3)
    const want = replicaOf(rows, 7, 1)
    for (let i = 0; i < want.length; i++) expect(dcd.frames[i]).toBeCloseTo(want[i]!, 4)
    const top = readPdb(readFileSync(path.join(run.path, 'exports', 'export_me_r1.top.pdb'), 'utf8'), 'top.pdb')
    expect(top.topology.atoms.map((a) => a.name)).toEqual(['N', 'CA', 'C'])
  })

  it('writes a multi-model PDB of all replicas and an XYZ, with provenance', async () => {
    const { run, rows } = await runWithFrames(4)
    const pdb = await exportRun(home, projectId, run.id, 'pdb', undefined, 'concatenated')
    expect(path.basename(pdb.path)).toBe('export_me_concatenated.pdb')
    const text = readFileSync(pdb.path, 'utf8')
    expect(text).toContain('REMARK')
    expect(text).toContain('CONCATENATED: 2 independent replicas, not one continuous run')
    const parsed = readPdb(text, pdb.path)
    expect(parsed.nFrames).toBe(8) // 2 replicas × 4 frames, one after the other
    const want0 = replicaOf(rows, 4, 0)
    for (let i = 0; i < want0.length; i++) expect(parsed.frames[i]).toBeCloseTo(want0[i]!, 2)
    const xyz = await exportRun(home, projectId, run.id, 'xyz', 0)
    const x = readXyz(readFileSync(xyz.path, 'utf8'), xyz.path)
    expect(x.nFrames).toBe(4)
    const prov = pdb.paths.find((p) => p.endsWith('.json'))
    expect(prov).toBeDefined()
    expect(readFileSync(prov!, 'utf8')).toContain('"mode": "bridge"')
  })

  it("a run keeps its model's self-check on its Δt, and its exports say it (docs/self-check.md \"Using the verdict\")", async () => {
    const { withCard } = checkedModel()
    // 5-ps frames of one step each: the check's flagged 5 ps; 4-ps frames of two 2-ps steps: vouched for
    const five = await createRun(home, { projectId, name: 'five', params: params({ dtPerFrame: 5, innerSteps: 1 }) }, withCard)
    expect(five.selfCheck).toEqual({
      recommendedDtPs: 2,
      checkedOn: '2026-12-03',
      outside: true,
      line: "the model's self-check (2026-12-03) recommends Δt ≤ 2 ps per adapter step; at 5 ps it found the kinetic time scale −18 ± 9 % against Δt → 0, not shown within tolerance",
    })
    const two = await createRun(home, { projectId, name: 'two', params: params({ dtPerFrame: 4, innerSteps: 2 }) }, withCard)
    expect(two.selfCheck).toEqual({ recommendedDtPs: 2, checkedOn: '2026-12-03', outside: false, line: null })
    expect((await createRun(home, { projectId, name: 'none', params: params() }, sources())).selfCheck).toBeNull()
    for (const [run, said] of [
      [five, '"selfCheck": "not vouched for: the model\'s self-check (2026-12-03) recommends Δt ≤ 2 ps per adapter step; at 5 ps it found'],
      [two, '"selfCheck": "vouched for (recommended Δt 2 ps, checked 2026-12-03)"'],
    ] as const) {
      await appendRunFrames(home, projectId, run.id, 0, new Uint8Array(runRows(0, 2, 2).buffer))
      const out = await exportRun(home, projectId, run.id, 'pdb', 0)
      expect(readFileSync(out.paths.find((p) => p.endsWith('.json'))!, 'utf8')).toContain(said)
    }
  })

  it('a calibrated run records its calibration, takes the calibrated step width, and its exports say so (docs/self-check.md "Calibrated time")', async () => {
    const { card, withCard } = checkedModel()
    const timeCalibration = timeCalibrationOf(card)!
    const run = await createRun(home, { projectId, name: 'five-cal', params: params({ dtPerFrame: 5, innerSteps: 1, D: 0.05, timeCalibration }) }, withCard)
    expect(run.params.timeCalibration).toEqual(timeCalibration)
    const x = run.derived.eta / 0.05
    expect(x * Math.pow(0.82, -x / 5)).toBeCloseTo(5, 9)
    expect(run.derived.calibration!.nominalDtPs).toBeCloseTo(x, 12)
    expect(run.selfCheck).toEqual({ recommendedDtPs: 2, checkedOn: '2026-12-03', outside: false, line: null })
    await appendRunFrames(home, projectId, run.id, 0, new Uint8Array(runRows(0, 2, 2).buffer))
    const out = await exportRun(home, projectId, run.id, 'pdb', 0)
    const prov = readFileSync(out.paths.find((p) => p.endsWith('.json'))!, 'utf8')
    expect(prov).toContain(`"timeCalibration": "calibrated by the model's self-check of 2026-12-03: each 5-ps step is as wide as an uncalibrated ${Number(x.toPrecision(4))}-ps one (time ± `)
    expect(prov).toContain('"selfCheck": "vouched for')
    // beyond the calibrated range (5/0.82 = 6.1 ps): refused in one line, nothing made
    await expect(createRun(home, { projectId, name: 'seven-cal', params: params({ dtPerFrame: 7, innerSteps: 1, D: 0.05, timeCalibration }) }, withCard)).rejects.toThrowError(
      "Δt per adapter step 7 ps is beyond the self-check's calibrated range (up to 6.098 ps): use a smaller Δt or more adapter steps per frame, or switch calibrated time off"
    )
  })

  it('refuses a run without frames and a replica that does not exist', async () => {
    const run = await createRun(home, { projectId, params: params() }, sources())
    await expect(exportRun(home, projectId, run.id, 'dcd')).rejects.toThrowError(/no frames stored yet/)
    const { run: r2 } = await runWithFrames(2)
    await expect(exportRun(home, projectId, r2.id, 'dcd', 5)).rejects.toThrowError(/replica 5 does not exist \(the run has replicas 0…1\)/)
  })

  it("all replicas: one file per replica by default, never replacing an earlier export", async () => {
    const { run, rows } = await runWithFrames(5)
    const a = await exportRun(home, projectId, run.id, 'dcd')
    expect(a.trajectories.map((f) => path.basename(f))).toEqual(['export_me_r0.dcd', 'export_me_r1.dcd'])
    expect(a.paths.map((f) => path.basename(f))).toContain('export_me.top.pdb')
    for (const r of [0, 1]) {
      const dcd = readDcd(new Uint8Array(readFileSync(a.trajectories[r]!)), 'x.dcd')
      expect(dcd.nFrames).toBe(5)
      const want = replicaOf(rows, 5, r)
      for (let i = 0; i < want.length; i++) expect(dcd.frames[i]).toBeCloseTo(want[i]!, 4)
    }
    const b = await exportRun(home, projectId, run.id, 'dcd')
    expect(b.trajectories.map((f) => path.basename(f))).toEqual(['export_me-2_r0.dcd', 'export_me-2_r1.dcd'])
    expect(b.paths.map((f) => path.basename(f))).toContain('export_me-2.top.pdb')
    const p1 = await exportRun(home, projectId, run.id, 'pdb', 0)
    const p2 = await exportRun(home, projectId, run.id, 'pdb', 0)
    expect([p1.path, p2.path].map((f) => path.basename(f))).toEqual(['export_me_r0.pdb', 'export_me_r0-2.pdb'])
    expect(readPdb(readFileSync(p1.path, 'utf8'), 'a.pdb').nFrames).toBe(5)
  })
})
