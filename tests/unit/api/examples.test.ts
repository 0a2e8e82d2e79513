import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { ensureExamplesProject, EXAMPLES_ID, SEED_FILE } from '../../../src/services/project/examples'
import { dispatch } from '../../../src/services/dispatch'
import { EventHub, type ServiceContext } from '../../../src/services/context'

let home: string
let ctx: ServiceContext
beforeAll(() => {
  home = mkdtempSync(path.join(tmpdir(), 'diffmd-examples-'))
  ctx = { home, transport: 'http', resourcesDir: path.resolve('resources'), emit: new EventHub().emit }
})
afterAll(() => rmSync(home, { recursive: true, force: true }))

const hasModel = existsSync(path.resolve('resources/models/ala2-default.onnx'))

type DS = { id: string; name: string; frames: number; dim: number; hasReference: boolean }

describe('Examples project', () => {
  it('is seeded once with the ala2 dataset (all atoms, with its reference) and the default model when shipped', async () => {
    await ensureExamplesProject(ctx)
    const datasets = (await dispatch(ctx, 'dataset.list', { projectId: EXAMPLES_ID })) as DS[]
    expect(datasets).toHaveLength(1)
    expect(datasets[0]).toMatchObject({ frames: 5000, dim: 66, hasReference: true })
    const ref = (await dispatch(ctx, 'dataset.reference', { projectId: EXAMPLES_ID, datasetId: datasets[0]!.id })) as { reference: { acf: { lag_ps: number[] } } }
    expect(ref.reference.acf.lag_ps.length).toBeGreaterThan(100)
    const models = (await dispatch(ctx, 'model.list', { projectId: EXAMPLES_ID })) as { card: { dim: number } }[]
    expect(models).toHaveLength(hasModel ? 1 : 0)
    if (hasModel) expect(models[0]!.card.dim).toBe(66)
    const seeds = JSON.parse(readFileSync(path.join(home, 'projects', EXAMPLES_ID, SEED_FILE), 'utf8'))
    expect(typeof seeds.seeded['ala2-dataset']).toBe('string')
  })

  it('later starts only check (fast), add nothing twice and never bring back what the user deleted or renamed', async () => {
    const [ds] = (await dispatch(ctx, 'dataset.list', { projectId: EXAMPLES_ID })) as DS[]
    await dispatch(ctx, 'dataset.rename', { projectId: EXAMPLES_ID, datasetId: ds!.id, name: 'my ala2' })
    const t0 = performance.now()
    await ensureExamplesProject(ctx)
    expect(performance.now() - t0).toBeLessThan(200)
    let list = (await dispatch(ctx, 'dataset.list', { projectId: EXAMPLES_ID })) as DS[]
    expect(list.map((d) => d.name)).toEqual(['my ala2'])
    await dispatch(ctx, 'dataset.delete', { projectId: EXAMPLES_ID, datasetId: ds!.id })
    await ensureExamplesProject(ctx)
    list = (await dispatch(ctx, 'dataset.list', { projectId: EXAMPLES_ID })) as DS[]
    expect(list).toEqual([])
  })
})
