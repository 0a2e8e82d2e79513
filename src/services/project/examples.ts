/**
 * First launch: an "Examples" project with the ala2 example dataset (all 22 atoms, the atoms the
 * default model was trained on), its GROMACS Brownian-dynamics reference observables, and the
 * default model — so one click runs a trajectory — and the ala3 example dataset (ACE-ALA-ALA-NME,
 * 32 atoms, snapshots only; docs/peptides.md).
 *
 * Each example item is added once: `examples.json` in the project records what was seeded, and an
 * item recorded there is never added again, even if the user deleted or renamed it (their changes
 * win). Items whose resources appear in a later version are added at the next start. Later starts
 * only read that small file. An item that fails is recorded with its reason and retried at the next
 * start; the reasons reach the user through app.info's `notices` (examplesProblems).
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import type { ServiceContext } from '../context'
import { createProject, projectsRoot } from './store'
import { writeFileAtomic, writeJsonAtomic } from '../fs/atomic'
import { gunzipSync } from 'node:zlib'
import { withFileLock } from '../fs/lock'
import { exists } from '../fs/paths'
import { importDataset } from '../datasets'
import { importModel } from '../models/registry'
import { REPORT_FILE } from '../app/selfcheck-api'

export const EXAMPLES_ID = 'examples'
export const SEED_FILE = 'examples.json'

interface SeedRecord {
  /** item key → the id it was given (null when seeding it failed; retried at the next start) */
  seeded: Record<string, string | null>
  errors?: Record<string, string>
}

interface ExampleItem {
  key: string
  /** what the user calls it, in notices (default: the key) */
  label?: string
  /** resources the item needs (relative to resourcesDir); missing ones postpone the item */
  needs: string[]
  /** seeded: what earlier items were given (an item may build on one) */
  add(ctx: ServiceContext, projectDir: string, seeded: Record<string, string | null>): Promise<string>
}

const ALA2 = 'examples/ala2'
const ALA3 = 'examples/ala3'

/**
 * The ala2 dataset's reference.json: the GROMACS BD observables plus, under `timeseries`, the φ/ψ
 * series of the reference runs (gromacs_bd_phipsi.json.gz), so the plots can cut the reference like
 * a run (src/core/analysis/like-with-like.ts). Without the series file the observables alone.
 */
async function writeAla2Reference(ctx: ServiceContext, file: string): Promise<void> {
  const ref = JSON.parse(await fs.readFile(path.join(ctx.resourcesDir, ALA2, 'gromacs_bd_reference.json'), 'utf8')) as Record<string, unknown>
  try {
    const series = JSON.parse(gunzipSync(await fs.readFile(path.join(ctx.resourcesDir, ALA2, 'gromacs_bd_phipsi.json.gz'))).toString('utf8')) as Record<string, unknown>
    ref.timeseries = series
  } catch {
    // no series shipped: the plots fall back to the full-length reference curves
  }
  await writeFileAtomic(file, JSON.stringify(ref))
}

const ITEMS: ExampleItem[] = [
  {
    // the second molecule: two residues, no reference dynamics (resources/examples/ala3/README.md,
    // docs/peptides.md). Listed first so a fresh Examples project lists ala2 last, the dataset
    // selected by default (the newest); projects seeded before it get it added at the next start.
    key: 'ala3-dataset',
    label: 'the ala3 example dataset',
    needs: [`${ALA3}/ala3_snapshots_all.pdb.gz`],
    async add(ctx, dir) {
      const manifest = await importDataset(dir, [path.join(ctx.resourcesDir, ALA3, 'ala3_snapshots_all.pdb.gz')], { select: 'all', name: 'Capped di-alanine (ala3) · 5000 snapshots' })
      return manifest.id
    },
  },
  {
    key: 'ala2-dataset',
    label: 'the ala2 example dataset',
    needs: [`${ALA2}/ala2_snapshots_all.pdb.gz`],
    async add(ctx, dir) {
      const manifest = await importDataset(dir, [path.join(ctx.resourcesDir, ALA2, 'ala2_snapshots_all.pdb.gz')], { select: 'all', name: 'Alanine dipeptide (ala2) · 5000 snapshots' })
      // the reference observables travel with the dataset (dataset.reference serves them)
      try {
        await writeAla2Reference(ctx, path.join(dir, 'datasets', manifest.id, 'reference.json'))
      } catch {
        // no reference shipped: the dataset works without it
      }
      return manifest.id
    },
  },
  {
    // projects seeded before the φ/ψ series were shipped get them added to their reference
    key: 'ala2-reference-timeseries',
    needs: [`${ALA2}/gromacs_bd_reference.json`, `${ALA2}/gromacs_bd_phipsi.json.gz`],
    async add(ctx, dir, seeded) {
      const id = seeded['ala2-dataset']
      if (!id || !(await exists(path.join(dir, 'datasets', id)))) return 'no ala2 dataset'
      const file = path.join(dir, 'datasets', id, 'reference.json')
      // seeded together with the dataset just now: its reference has them already
      const has = await fs.readFile(file, 'utf8').then((t) => 'timeseries' in (JSON.parse(t) as object), () => false)
      if (!has) await writeAla2Reference(ctx, file)
      return id
    },
  },
  {
    key: 'ala2-default-model',
    label: 'the default ala2 model',
    needs: ['models/ala2-default.onnx'],
    async add(ctx, dir) {
      // its card (ala2-default.card.json beside it) comes along: name, σ range, trust region, training
      // metrics, and the self-check's verdict and recommended Δt (the Sample panel's default); the
      // check's full report goes beside it as the Check tab's stored report (docs/self-check.md)
      const entry = await importModel(dir, path.join(ctx.resourcesDir, 'models', 'ala2-default.onnx'))
      const report = path.join(ctx.resourcesDir, 'models', 'ala2-default.self-check.json')
      if (entry.card.selfCheck && (await exists(report))) await fs.copyFile(report, path.join(entry.dir, REPORT_FILE))
      return entry.id
    },
  },
]

async function readSeeds(file: string): Promise<SeedRecord> {
  try {
    const v = JSON.parse(await fs.readFile(file, 'utf8')) as SeedRecord
    if (v && typeof v.seeded === 'object' && v.seeded) return v
  } catch {
    // none yet (or unreadable: seed what is not in the project)
  }
  return { seeded: {} }
}

/**
 * Seeds the Examples project; two clients starting on one home at once seed it once (a cross-process lock).
 * Returns what could not be seeded (examplesProblems), so the caller can tell the user.
 */
export async function ensureExamplesProject(ctx: ServiceContext): Promise<string[]> {
  const root = projectsRoot(ctx.home)
  await fs.mkdir(root, { recursive: true })
  await withFileLock(path.join(root, `.${EXAMPLES_ID}`), () => seedExamples(ctx), { timeoutMs: 300_000, staleMs: 600_000, label: 'the Examples project' })
  return examplesProblems(ctx.home)
}

/**
 * One line per example item whose seeding failed (as recorded in examples.json), naming the item, the
 * reason and what happens next; empty when every item went in (or none was tried yet).
 */
export async function examplesProblems(home: string): Promise<string[]> {
  const seeds = await readSeeds(path.join(projectsRoot(home), EXAMPLES_ID, SEED_FILE))
  return Object.entries(seeds.errors ?? {}).map(([key, reason]) => {
    const label = ITEMS.find((i) => i.key === key)?.label ?? key
    return `Examples project: ${label} could not be added (${reason}); it is tried again at the next start`
  })
}

async function seedExamples(ctx: ServiceContext): Promise<void> {
  const dir = path.join(projectsRoot(ctx.home), EXAMPLES_ID)
  const fresh = !(await exists(path.join(dir, 'project.json')))
  if (fresh) await createProject(ctx.home, 'Examples', EXAMPLES_ID)
  const seedFile = path.join(dir, SEED_FILE)
  const seeds = await readSeeds(seedFile)
  let changed = false
  for (const item of ITEMS) {
    if (typeof seeds.seeded[item.key] === 'string') continue
    let ready = true
    for (const n of item.needs) if (!(await exists(path.join(ctx.resourcesDir, n)))) ready = false
    if (!ready) continue
    try {
      seeds.seeded[item.key] = await item.add(ctx, dir, seeds.seeded)
      if (seeds.errors) delete seeds.errors[item.key]
    } catch (err) {
      // never block the app's start on an example: record why and try again next time
      seeds.seeded[item.key] = null
      seeds.errors = { ...(seeds.errors ?? {}), [item.key]: (err as Error).message.split('\n')[0] ?? String(err) }
    }
    changed = true
  }
  if (changed || fresh) await writeJsonAtomic(seedFile, seeds)
}
