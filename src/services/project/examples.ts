/**
 * First launch: an "Examples" project exists. Later issues put the ala2 dataset and the default
 * model into it; here it is created once (never overwritten, so a user's changes are kept).
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import type { ServiceContext } from '../context'
import { createProject, projectsRoot } from './store'

export const EXAMPLES_ID = 'examples'

export async function ensureExamplesProject(ctx: ServiceContext): Promise<void> {
  const dir = path.join(projectsRoot(ctx.home), EXAMPLES_ID)
  try {
    await fs.access(path.join(dir, 'project.json'))
    return
  } catch {
    // not there yet
  }
  await createProject(ctx.home, 'Examples', EXAMPLES_ID)
}
