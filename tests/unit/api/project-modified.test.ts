/**
 * A project's `modified` (the order of the project list) follows changes to what it holds: every
 * request that adds, renames or deletes a dataset, model or run moves it to now; reading does not.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { dispatch } from '../../../src/services/dispatch'
import { EventHub, type ServiceContext } from '../../../src/services/context'
import { writePdb } from '../../../src/core/formats/pdb'
import { TOPOLOGY } from '../runs/helpers'

const PAST = '2000-01-01T00:00:00.000Z'

let home: string
let ctx: ServiceContext
let projectId: string
beforeEach(async () => {
  home = mkdtempSync(path.join(tmpdir(), 'diffmd-modified-'))
  ctx = { home, transport: 'http', resourcesDir: path.resolve('resources'), emit: new EventHub().emit }
  projectId = ((await dispatch(ctx, 'project.create', { name: 'P' })) as { id: string }).id
})
afterEach(() => rmSync(home, { recursive: true, force: true }))

const projectFile = (): string => path.join(home, 'projects', projectId, 'project.json')

/** sets `modified` back to 2000 so that any update is visible whatever the clock's resolution */
function backdate(): void {
  const p = JSON.parse(readFileSync(projectFile(), 'utf8')) as Record<string, unknown>
  writeFileSync(projectFile(), JSON.stringify({ ...p, modified: PAST }))
}

async function modified(): Promise<string> {
  return ((await dispatch(ctx, 'project.open', { id: projectId })) as { modified: string }).modified
}

describe("a project's modified time", () => {
  it('moves on dataset import, rename and delete, and stays put on reads', async () => {
    const frames = new Float32Array(20 * 9)
    for (let f = 0; f < 20; f++) for (let i = 0; i < 9; i++) frames[f * 9 + i] = [0, 0, 0, 1.46, 0, 0, 2.0, 1.4, 0][i]! + 0.01 * ((f * 7 + i * 3) % 11)
    const file = path.join(home, 'snaps.pdb')
    writeFileSync(file, writePdb(TOPOLOGY, frames, 20))

    backdate()
    const { importId } = (await dispatch(ctx, 'dataset.prepareImport', {})) as { importId: string }
    const { manifest } = (await dispatch(ctx, 'dataset.import', { projectId, paths: [file], importId })) as { manifest: { id: string } }
    const afterImport = await modified()
    expect(afterImport > PAST).toBe(true)
    expect(Date.parse(afterImport)).not.toBeNaN()

    backdate()
    await dispatch(ctx, 'dataset.list', { projectId })
    await dispatch(ctx, 'dataset.get', { projectId, datasetId: manifest.id, coords: false })
    expect(await modified()).toBe(PAST)

    await dispatch(ctx, 'dataset.rename', { projectId, datasetId: manifest.id, name: 'renamed' })
    expect((await modified()) > PAST).toBe(true)

    backdate()
    await dispatch(ctx, 'dataset.delete', { projectId, datasetId: manifest.id })
    expect((await modified()) > PAST).toBe(true)
  })

  it('a refused change leaves it alone', async () => {
    backdate()
    await expect(dispatch(ctx, 'dataset.rename', { projectId, datasetId: 'nope', name: 'x' })).rejects.toThrow()
    expect(await modified()).toBe(PAST)
  })
})
