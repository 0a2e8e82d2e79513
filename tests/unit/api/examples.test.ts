import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
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

/** every file under dir (relative path → size and mtime), to show that a call wrote nothing */
function fileStamps(dir: string): Record<string, string> {
  const out: Record<string, string> = {}
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name)
      if (e.isDirectory()) walk(p)
      else {
        const st = statSync(p)
        out[path.relative(dir, p)] = `${st.size}@${st.mtimeMs}`
      }
    }
  }
  walk(dir)
  return out
}

describe('Examples project', () => {
  it('is seeded once with the ala2 dataset (all atoms, with its reference) and the default model when shipped', async () => {
    await ensureExamplesProject(ctx)
    const datasets = (await dispatch(ctx, 'dataset.list', { projectId: EXAMPLES_ID })) as DS[]
    // ala3 (snapshots only, docs/peptides.md) is seeded first, so ala2 is the newest: the one selected by default
    expect(datasets).toHaveLength(2)
    expect(datasets[0]).toMatchObject({ frames: 5000, dim: 96, hasReference: false })
    expect(datasets[1]).toMatchObject({ frames: 5000, dim: 66, hasReference: true })
    const ref = (await dispatch(ctx, 'dataset.reference', { projectId: EXAMPLES_ID, datasetId: datasets[1]!.id })) as { reference: { acf: { lag_ps: number[] } } }
    expect(ref.reference.acf.lag_ps.length).toBeGreaterThan(100)
    const models = (await dispatch(ctx, 'model.list', { projectId: EXAMPLES_ID })) as { id: string; card: { dim: number; selfCheck?: { recommendedDtPs?: number; createdAt: string } } }[]
    expect(models).toHaveLength(hasModel ? 1 : 0)
    if (hasModel) {
      expect(models[0]!.card.dim).toBe(66)
      // the shipped self-check comes along: its recommended Δt in the card, its report for the Check tab
      expect(models[0]!.card.selfCheck?.recommendedDtPs).toBe(2)
      const stored = (await dispatch(ctx, 'model.selfCheckReport', { projectId: EXAMPLES_ID, modelId: models[0]!.id })) as { summary: { createdAt: string }; report: { perDt: unknown[] }; dataLabel: string } | null
      expect(stored?.summary.createdAt).toBe(models[0]!.card.selfCheck?.createdAt)
      expect(stored?.report.perDt).toHaveLength(4)
      expect(stored?.dataLabel).toBe('ala2_snapshots_all.pdb.gz')
    }
    const seeds = JSON.parse(readFileSync(path.join(home, 'projects', EXAMPLES_ID, SEED_FILE), 'utf8'))
    expect(typeof seeds.seeded['ala2-dataset']).toBe('string')
  })

  it('later starts only check (fast), add nothing twice and never bring back what the user deleted or renamed', async () => {
    const ds = ((await dispatch(ctx, 'dataset.list', { projectId: EXAMPLES_ID })) as DS[]).find((d) => d.dim === 66)
    await dispatch(ctx, 'dataset.rename', { projectId: EXAMPLES_ID, datasetId: ds!.id, name: 'my ala2' })
    // a later start only checks: not one file of the project is written (how fast that is belongs in a
    // benchmark, not in a unit test's wall-clock assert)
    const before = fileStamps(path.join(home, 'projects', EXAMPLES_ID))
    expect(await ensureExamplesProject(ctx)).toEqual([])
    expect(fileStamps(path.join(home, 'projects', EXAMPLES_ID))).toEqual(before)
    let list = (await dispatch(ctx, 'dataset.list', { projectId: EXAMPLES_ID })) as DS[]
    expect(list.map((d) => d.name)).toEqual(['Capped di-alanine (ala3) · 5000 snapshots', 'my ala2'])
    await dispatch(ctx, 'dataset.delete', { projectId: EXAMPLES_ID, datasetId: ds!.id })
    await ensureExamplesProject(ctx)
    list = (await dispatch(ctx, 'dataset.list', { projectId: EXAMPLES_ID })) as DS[]
    expect(list.map((d) => d.name)).toEqual(['Capped di-alanine (ala3) · 5000 snapshots'])
  })
})

describe('Examples project seeding errors reach the user', () => {
  it('a broken example file: the app still starts, app.info names the item and the reason; a good file at the next start clears it', async () => {
    const home2 = mkdtempSync(path.join(tmpdir(), 'diffmd-examples-bad-'))
    const res = mkdtempSync(path.join(tmpdir(), 'diffmd-resources-bad-'))
    try {
      mkdirSync(path.join(res, 'examples', 'ala2'), { recursive: true })
      writeFileSync(path.join(res, 'examples', 'ala2', 'ala2_snapshots_all.pdb.gz'), 'this is not gzip')
      const bad: ServiceContext = { home: home2, transport: 'http', resourcesDir: res, emit: new EventHub().emit }
      const problems = await ensureExamplesProject(bad)
      expect(problems).toHaveLength(1)
      expect(problems[0]).toMatch(/^Examples project: the ala2 example dataset could not be added \(.+\); it is tried again at the next start$/)
      const info = (await dispatch(bad, 'app.info', {})) as { notices: string[] }
      expect(info.notices).toEqual(problems)
      // the project itself opened, empty
      expect(await dispatch(bad, 'dataset.list', { projectId: EXAMPLES_ID })).toEqual([])
      // the next start with the real file seeds it and the notice is gone
      const good: ServiceContext = { ...bad, resourcesDir: path.resolve('resources') }
      expect(await ensureExamplesProject(good)).toEqual([])
      expect(((await dispatch(good, 'app.info', {})) as { notices: string[] }).notices).toEqual([])
      // both datasets now: ala2 retried, ala3 (whose file the broken resources lacked) added
      expect(((await dispatch(good, 'dataset.list', { projectId: EXAMPLES_ID })) as DS[]).map((d) => d.dim).sort()).toEqual([66, 96])
    } finally {
      rmSync(home2, { recursive: true, force: true })
      rmSync(res, { recursive: true, force: true })
    }
  })
})
