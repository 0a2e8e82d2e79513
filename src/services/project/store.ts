/**
 * Projects: a project is a folder `<home>/projects/<id>/` holding `project.json`, `datasets/`,
 * `models/`, `runs/`. Writes are atomic (temp file + rename), so a crash never leaves a half file.
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { UserError } from '../../core/errors'
import { jsonSyntaxProblem } from '../../core/json-error'
import { writeJsonAtomic } from '../fs/atomic'
import { exists, slug as slugOf } from '../fs/paths'
import { withFileLock } from '../fs/lock'
import { checkId, isValidId } from '../../api/ids'

export interface ProjectFile {
  format: 'diffmd-project'
  version: 1
  id: string
  name: string
  created: string
  modified: string
}

export interface ProjectSummary {
  id: string
  name: string
  path: string
  created: string
  modified: string
}

export function projectsRoot(home: string): string {
  return path.join(home, 'projects')
}

function slug(name: string): string {
  const s = slugOf(name, 48)
  if (!s) return 'project'
  // a name like 'Con' or 'nul' would be a Windows device name: keep it usable as a folder
  return isValidId(s) ? s : `${s}-project`
}

function summary(dir: string, p: ProjectFile): ProjectSummary {
  return { id: p.id, name: p.name, path: dir, created: p.created, modified: p.modified }
}

async function readProjectFile(dir: string): Promise<ProjectFile> {
  const file = path.join(dir, 'project.json')
  let text: string
  try {
    text = await fs.readFile(file, 'utf8')
  } catch {
    throw new UserError(`${file}: no project here (project.json is missing)`, 'not-found')
  }
  let p: ProjectFile
  try {
    p = JSON.parse(text) as ProjectFile
  } catch (err) {
    throw new UserError(`${file}: project.json is not valid JSON (${jsonSyntaxProblem(err, text)}); restore it from a backup`, 'parse')
  }
  if (p.format !== 'diffmd-project' || typeof p.id !== 'string' || typeof p.name !== 'string') {
    throw new UserError(`${file}: not a DiffMD Studio project file`, 'parse')
  }
  return p
}

export async function listProjects(home: string): Promise<ProjectSummary[]> {
  const root = projectsRoot(home)
  let entries: string[]
  try {
    entries = await fs.readdir(root)
  } catch {
    return []
  }
  const out: ProjectSummary[] = []
  for (const e of entries.sort()) {
    if (e.startsWith('.')) continue
    const dir = path.join(root, e)
    try {
      out.push(summary(dir, await readProjectFile(dir)))
    } catch {
      // folders that are not projects are skipped
    }
  }
  return out
}

export async function createProject(home: string, name: string, fixedId?: string): Promise<ProjectSummary> {
  const trimmed = name.trim()
  if (!trimmed) throw new UserError('project name: must not be empty', 'bad-input')
  const root = projectsRoot(home)
  await fs.mkdir(root, { recursive: true })
  let id = fixedId ?? slug(trimmed)
  if (!fixedId) {
    for (let i = 2; await exists(path.join(root, id)); i++) id = `${slug(trimmed)}-${i}`
  } else if (await exists(path.join(root, id))) {
    throw new UserError(`project '${id}' already exists in ${root}`, 'exists')
  }
  const now = new Date().toISOString()
  const p: ProjectFile = { format: 'diffmd-project', version: 1, id, name: trimmed, created: now, modified: now }
  // build in a temp folder of our own, then rename: a project appears whole or not at all, and two
  // clients creating the same name at once never share (or delete) each other's temp folder
  const tmp = path.join(root, `.${id}.creating-${randomBytes(4).toString('hex')}`)
  try {
    await fs.mkdir(tmp, { recursive: true })
    for (const sub of ['datasets', 'models', 'runs']) await fs.mkdir(path.join(tmp, sub))
    await writeJsonAtomic(path.join(tmp, 'project.json'), { ...p })
    for (let i = 2; ; i++) {
      try {
        // rename onto an existing non-empty folder fails (ENOTEMPTY/EEXIST): someone else took the id
        await fs.rename(tmp, path.join(root, p.id))
        break
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code
        if ((code !== 'ENOTEMPTY' && code !== 'EEXIST') || fixedId || i > 1000) {
          if (fixedId && (code === 'ENOTEMPTY' || code === 'EEXIST')) throw new UserError(`project '${fixedId}' already exists in ${root}`, 'exists')
          throw err
        }
        p.id = `${slug(trimmed)}-${i}`
        await writeJsonAtomic(path.join(tmp, 'project.json'), { ...p })
      }
    }
  } catch (err) {
    await fs.rm(tmp, { recursive: true, force: true }).catch(() => undefined)
    if (err instanceof UserError) throw err
    throw new UserError(`${path.join(root, p.id)}: could not create the project (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); nothing was changed`, 'io')
  }
  return summary(path.join(root, p.id), p)
}

export async function openProject(home: string, id: string): Promise<ProjectSummary> {
  const dir = projectDir(home, id)
  return summary(dir, await readProjectFile(dir))
}

export async function renameProject(home: string, id: string, name: string): Promise<ProjectSummary> {
  const dir = projectDir(home, id)
  return withFileLock(path.join(dir, 'project.json'), async () => {
    const p = await readProjectFile(dir)
    const next: ProjectFile = { ...p, name: name.trim(), modified: new Date().toISOString() }
    await writeJsonAtomic(path.join(dir, 'project.json'), next)
    return summary(dir, next)
  })
}

/** Marks a project modified (call after any change inside it). */
export async function touchProject(home: string, id: string): Promise<void> {
  const dir = projectDir(home, id)
  await withFileLock(path.join(dir, 'project.json'), async () => {
    const p = await readProjectFile(dir)
    await writeJsonAtomic(path.join(dir, 'project.json'), { ...p, modified: new Date().toISOString() })
  })
}

/**
 * touchProject after a change that already succeeded (a dataset, model or run added, renamed or
 * deleted). The change itself is complete and durable and `modified` only orders the project list,
 * so failing to write it must not report the change as failed.
 */
export async function markModified(home: string, id: string): Promise<void> {
  await touchProject(home, id).catch(() => undefined)
}

export function projectDir(home: string, id: string): string {
  checkId(id, 'project')
  return path.join(projectsRoot(home), id)
}
