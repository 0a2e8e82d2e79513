import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { dispatch } from '../../../src/services/dispatch'
import { EventHub, type ServiceContext, type ServiceEvent } from '../../../src/services/context'
import { writePdb } from '../../../src/core/formats/pdb'
import { TOPOLOGY } from '../runs/helpers'

let home: string
let ctx: ServiceContext
let events: ServiceEvent[]
let projectId: string
beforeEach(async () => {
  home = mkdtempSync(path.join(tmpdir(), 'diffmd-api-'))
  const hub = new EventHub()
  events = []
  hub.subscribe((e) => events.push(e))
  ctx = { home, transport: 'http', resourcesDir: path.resolve('resources'), emit: hub.emit }
  projectId = ((await dispatch(ctx, 'project.create', { name: 'P' })) as { id: string }).id
})
afterEach(() => rmSync(home, { recursive: true, force: true }))

/** a multi-model PDB of the 3-atom test topology with small random displacements */
function snapshots(file: string, n: number, seed = 1): string {
  let s = seed
  const rnd = (): number => ((s = (s * 16807) % 2147483647) / 2147483647) - 0.5
  const frames = new Float32Array(n * 9)
  const base = [0, 0, 0, 1.46, 0, 0, 2.0, 1.4, 0]
  for (let f = 0; f < n; f++) for (let i = 0; i < 9; i++) frames[f * 9 + i] = base[i]! + 0.2 * rnd()
  const p = path.join(home, file)
  writeFileSync(p, writePdb(TOPOLOGY, frames, n))
  return p
}

type Manifest = { id: string; name: string; frames: number; dim: number; sizeBytes: number; hasReference: boolean; rmsf?: number[] }

describe('dataset API', () => {
  it('imports with progress events, lists with sizes, returns topology and coordinates, renames and deletes', async () => {
    const file = snapshots('snaps.pdb', 30)
    // import ids are chosen by the server; one the client made up is refused
    await expect(dispatch(ctx, 'dataset.import', { projectId, paths: [file], importId: 'imp1' })).rejects.toThrow(/not issued by dataset.prepareImport/)
    const { importId } = (await dispatch(ctx, 'dataset.prepareImport', {})) as { importId: string }
    expect(importId).toMatch(/^import-[0-9a-f]{24}$/)
    const res = (await dispatch(ctx, 'dataset.import', { projectId, paths: [file], importId, name: 'Three atoms' })) as { manifest: Manifest; errors: unknown[] }
    // an issued id is good for one import only
    await expect(dispatch(ctx, 'dataset.import', { projectId, paths: [file], importId })).rejects.toThrow(/already used/)
    expect(res.errors).toEqual([])
    expect(res.manifest).toMatchObject({ name: 'Three atoms', frames: 30, dim: 9, hasReference: false })
    // fields the API does not name pass through from the datasets service
    expect(res.manifest.rmsf).toHaveLength(3)
    const progress = events.filter((e) => e.topic === 'dataset.import.progress').map((e) => e.payload as { importId: string; done?: boolean })
    expect(progress.length).toBeGreaterThan(0)
    expect(progress.every((p) => p.importId === importId)).toBe(true)
    expect(progress.at(-1)!.done).toBe(true)

    const list = (await dispatch(ctx, 'dataset.list', { projectId })) as Manifest[]
    expect(list.map((d) => d.id)).toEqual([res.manifest.id])
    expect(list[0]!.sizeBytes).toBeGreaterThan(30 * 9 * 4)

    const got = (await dispatch(ctx, 'dataset.get', { projectId, datasetId: res.manifest.id })) as { topologyPdb: string; coordsBase64: string }
    expect(got.topologyPdb).toMatch(/ATOM {6}1 {2}N {3}ALA/)
    const coords = new Float32Array(Uint8Array.from(Buffer.from(got.coordsBase64, 'base64')).buffer)
    expect(coords.length).toBe(30 * 9)
    expect(coords.every(Number.isFinite)).toBe(true)
    const bare = (await dispatch(ctx, 'dataset.get', { projectId, datasetId: res.manifest.id, coords: false })) as { coordsBase64: string }
    expect(bare.coordsBase64).toBe('')

    expect(((await dispatch(ctx, 'dataset.reference', { projectId, datasetId: res.manifest.id })) as { reference: unknown }).reference).toBeNull()
    expect(((await dispatch(ctx, 'dataset.rename', { projectId, datasetId: res.manifest.id, name: 'Renamed' })) as Manifest).name).toBe('Renamed')
    await dispatch(ctx, 'dataset.delete', { projectId, datasetId: res.manifest.id })
    expect(await dispatch(ctx, 'dataset.list', { projectId })).toEqual([])
  })

  it('returns a one-line error naming the broken file and imports nothing', async () => {
    const good = snapshots('good.pdb', 10)
    const bad = path.join(home, 'broken.pdb')
    writeFileSync(bad, 'ATOM      1  N   ALA A   1      xx.xxx   0.000   0.000  1.00  0.00           N\nEND\n')
    const res = (await dispatch(ctx, 'dataset.import', { projectId, paths: [good, bad] })) as { manifest: unknown; errors: { path: string; message: string }[] }
    expect(res.manifest).toBeNull()
    expect(res.errors).toHaveLength(1)
    expect(res.errors[0]!.path).toBe(bad)
    expect(res.errors[0]!.message).toContain('broken.pdb')
    expect(res.errors[0]!.message).not.toContain('\n')
    expect(await dispatch(ctx, 'dataset.list', { projectId })).toEqual([])
  })

  it('refuses malformed requests at the boundary', async () => {
    await expect(dispatch(ctx, 'dataset.import', { projectId, paths: [] })).rejects.toThrowError(/dataset\.import: paths/)
    await expect(dispatch(ctx, 'dataset.get', { projectId, datasetId: '../x' })).rejects.toThrowError(/datasetId/)
  })
})
