import { afterAll, afterEach, describe, expect, it, vi } from 'vitest'
import { rmSync } from 'node:fs'
import path from 'node:path'
import cmd from '../../../src/cli/commands/dataset'
import { main } from '../../../src/cli/main'
import { ALA2_HEAVY } from '../formats/helpers'
import { capture, snapshotDir, tempDir } from './helpers'

const work = tempDir('diffmd-cli-')
afterAll(() => rmSync(work, { recursive: true, force: true }))
afterEach(() => vi.restoreAllMocks())

describe('diffmd dataset', () => {
  it('import --json prints id, frames, atoms and σ_data; list shows it', async () => {
    const project = path.join(work, 'p1')
    let io = capture()
    expect(await cmd.run(['import', ALA2_HEAVY, '--project', project, '--name', 'ala2 heavy', '--json'])).toBe(0)
    const res = JSON.parse(io.out()) as { id: string; frames: number; atoms: number; selection: string; sigmaData: number; path: string }
    expect(res).toMatchObject({ frames: 5000, atoms: 10, selection: 'all', name: 'ala2 heavy' })
    expect(res.sigmaData).toBeGreaterThan(0.3)
    expect(res.sigmaData).toBeLessThan(1)
    expect(res.path).toBe(path.join(project, 'datasets', res.id))
    vi.restoreAllMocks()
    io = capture()
    expect(await cmd.run(['list', '--project', project, '--json'])).toBe(0)
    const list = JSON.parse(io.out()) as { id: string; sigmaData: number }[]
    expect(list.map((d) => [d.id, d.sigmaData])).toEqual([[res.id, res.sigmaData]])
    vi.restoreAllMocks()
    io = capture()
    expect(await cmd.run(['list', '--project', project])).toBe(0)
    expect(io.out()).toMatch(new RegExp(`^${res.id}\\t5000 frames\\t10 atoms \\(all\\)\\tsigma_data ${res.sigmaData.toFixed(4)} Å`))
  })

  it('plain import prints the id first, then frames, atoms, σ_data; --select and --no-align apply', async () => {
    const project = path.join(work, 'p2')
    const io = capture()
    expect(await cmd.run(['import', ALA2_HEAVY, '--project', project, '--select', 'backbone', '--no-align'])).toBe(0)
    const lines = io.out().split('\n')
    expect(lines[0]).toMatch(/^ala2-snapshots-heavy-[0-9a-f]{6}$/)
    expect(lines[1]).toBe('  frames: 5000')
    expect(lines[2]).toBe('  atoms: 7 (backbone of 10)')
    expect(lines[3]).toMatch(/^ {2}sigma_data: \d\.\d{4} Å$/)
    expect(lines[4]).toBe('  not aligned')
  })

  it('errors: through main() a one-line message and exit code 2, project unchanged', async () => {
    const project = path.join(work, 'p3')
    const before = snapshotDir(project)
    const io = capture()
    expect(await main(['dataset', 'import', path.join(work, 'missing.pdb'), '--project', project])).toBe(2)
    expect(io.err()).toBe(`diffmd: ${path.join(work, 'missing.pdb')}: no such file\n`)
    expect(await main(['dataset', 'import', ALA2_HEAVY])).toBe(2)
    expect(io.err()).toContain('diffmd: dataset import: --project is required\n')
    expect(await main(['dataset', 'import', ALA2_HEAVY, '--project', project, '--select', 'resid x'])).toBe(2)
    expect(io.err()).toContain("diffmd: dataset import: selection 'resid x': 'x' is not a whole number at position 7")
    expect(await main(['dataset', 'frobnicate'])).toBe(2)
    expect(io.err()).toContain("dataset: unknown subcommand 'frobnicate'")
    expect(snapshotDir(project)).toEqual(before)
  })
})
