import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { mkdtempSync, readdirSync, rmSync, writeFileSync, mkdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { createProject, listProjects, openProject, renameProject } from '../../../src/services/project/store'
import { dispatch } from '../../../src/services/dispatch'
import { EventHub, type ServiceContext } from '../../../src/services/context'
import { VERSION } from '../../../src/core/version'

let home: string
let ctx: ServiceContext
beforeEach(() => {
  home = mkdtempSync(path.join(tmpdir(), 'diffmd-store-'))
  ctx = { home, transport: 'http', resourcesDir: path.resolve('resources'), emit: new EventHub().emit }
})
afterEach(() => rmSync(home, { recursive: true, force: true }))

describe('project store', () => {
  it('creates, lists, opens and renames projects as folders with project.json', async () => {
    const a = await createProject(home, 'Alanine dipeptide')
    const b = await createProject(home, 'Alanine dipeptide')
    expect(a.id).toBe('alanine-dipeptide')
    expect(b.id).toBe('alanine-dipeptide-2')
    expect(readdirSync(a.path).sort()).toEqual(['datasets', 'models', 'project.json', 'runs'])
    expect((await listProjects(home)).map((p) => p.name)).toEqual(['Alanine dipeptide', 'Alanine dipeptide'])
    const r = await renameProject(home, a.id, 'Ala2 in vacuum')
    expect((await openProject(home, a.id)).name).toBe('Ala2 in vacuum')
    expect(r.modified >= a.modified).toBe(true)
    // no temp files left behind by the atomic writes
    expect(readdirSync(a.path).filter((f) => f.endsWith('.tmp'))).toEqual([])
  })
  it('skips folders that are not projects and explains a broken project.json', async () => {
    mkdirSync(path.join(home, 'projects', 'junk'), { recursive: true })
    expect(await listProjects(home)).toEqual([])
    const p = await createProject(home, 'x')
    writeFileSync(path.join(p.path, 'project.json'), '{broken')
    await expect(openProject(home, p.id)).rejects.toThrowError(/project\.json is not valid JSON/)
    await expect(openProject(home, '../etc')).rejects.toThrowError(/not valid/)
  })
})

describe('dispatch (the service boundary)', () => {
  it('validates requests against the contract and names the field', async () => {
    await expect(dispatch(ctx, 'project.create', { name: '' })).rejects.toThrowError(/project\.create: name:/)
    await expect(dispatch(ctx, 'project.create', { name: 'ok', extra: 1 })).rejects.toThrowError(/project\.create/)
    await expect(dispatch(ctx, 'no.such', {})).rejects.toThrowError(/unknown API method 'no\.such'/)
    const p = (await dispatch(ctx, 'project.create', { name: 'Chignolin' })) as { id: string }
    expect(p.id).toBe('chignolin')
  })
  it('app.info reports the version of package.json and the onnxruntime-node runtime', async () => {
    const info = (await dispatch(ctx, 'app.info', {})) as { version: string; runtimes: { onnxruntimeNode: string | null } }
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }
    expect(info.version).toBe(pkg.version)
    expect(VERSION).toBe(pkg.version)
    expect(info.runtimes.onnxruntimeNode).toMatch(/^\d+\.\d+/)
  })
})
