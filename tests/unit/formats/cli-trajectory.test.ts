/**
 * `diffmd dataset import` with a trajectory and its topology: --top, --stride, --begin/--end, the
 * frames kept and the spacing printed; bad flags are one-line errors (docs/formats.md).
 * Expected frames: MDTraj's times of ala2_40.xtc are 0, 20, …, 780 ps (tests/fixtures/real/SOURCES.md);
 * 100–700 ps holds frames 5…35 (31 frames), every 5th of them is 5, 10, …, 35: 7 frames, 100 ps apart.
 */
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest'
import { rmSync } from 'node:fs'
import path from 'node:path'
import cmd from '../../../src/cli/commands/dataset'
import { ROOT, expectUserErrorAsync } from './helpers'
import { capture, tempDir } from '../datasets/helpers'

const REAL = path.join(ROOT, 'tests/fixtures/real')
const work = tempDir('diffmd-cli-traj-')
afterAll(() => rmSync(work, { recursive: true, force: true }))
afterEach(() => vi.restoreAllMocks())

describe('diffmd dataset import: trajectories with a topology', () => {
  it('--top GRO --stride 5 --begin 100 --end 700: 7 of 40 frames, spacing 100 ps', async () => {
    const io = capture()
    const project = path.join(work, 'p1')
    expect(await cmd.run(['import', path.join(REAL, 'ala2_40.xtc'), '--top', path.join(REAL, 'ala2_top.gro'), '--stride', '5', '--begin', '100', '--end', '700', '--project', project, '--json'])).toBe(0)
    const res = JSON.parse(io.out()) as { frames: number; atoms: number; sources: { name: string; role: string; frames: number; framesInFile: number; spacingPs: number | null }[]; warnings: string[] }
    expect(res.frames).toBe(7)
    expect(res.atoms).toBe(22)
    expect(res.sources.map((s) => [s.name, s.role, s.frames])).toEqual([
      ['ala2_top.gro', 'topology', 0],
      ['ala2_40.xtc', 'trajectory', 7],
    ])
    expect(res.sources[1]!.framesInFile).toBe(40)
    expect(res.sources[1]!.spacingPs).toBeCloseTo(100, 6)
    expect(res.warnings).toContain('ala2_40.xtc: kept 7 of 40 frames (stride 5, 100–700 ps); spacing 100 ps')
  })

  it('the text output names the topology and the frames kept of each trajectory', async () => {
    const io = capture()
    expect(await cmd.run(['import', path.join(REAL, 'ala2_40.trr'), path.join(REAL, 'ala2_top.pdb'), '--stride', '4', '--project', path.join(work, 'p2')])).toBe(0)
    expect(io.out()).toContain('  frames: 10\n')
    expect(io.out()).toContain('  topology: ala2_top.pdb\n  source: ala2_40.trr (10 of 40 frames, spacing 80 ps)\n')
  })

  it('bad --stride, --end before --begin, and a window on a file without times are one-line errors', async () => {
    const p = path.join(work, 'p3')
    const xtc = path.join(REAL, 'ala2_40.xtc')
    const top = path.join(REAL, 'ala2_top.pdb')
    await expectUserErrorAsync(cmd.run(['import', xtc, top, '--stride', '0', '--project', p]), 'dataset import: --stride 0 must be a whole number ≥ 1')
    await expectUserErrorAsync(cmd.run(['import', xtc, top, '--begin', '500', '--end', '100', '--project', p]), 'dataset import: --end 100 ps is before --begin 500 ps')
    await expectUserErrorAsync(cmd.run(['import', path.join(REAL, 'ala2_5models.pdb'), '--begin', '10', '--project', p]), 'ala2_5models.pdb: has no frame times, so --begin/--end cannot apply')
    await expectUserErrorAsync(cmd.run(['import', xtc, top, path.join(REAL, 'ala2_top.gro'), '--project', p]), 'say which is the topology with --top FILE')
  })
})
