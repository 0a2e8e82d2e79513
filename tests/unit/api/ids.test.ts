import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { contract } from '../../../src/api/contract'
import { checkId, idProblem, isValidId } from '../../../src/api/ids'
import { projectDir } from '../../../src/services/project/store'
import { runDir } from '../../../src/services/runs/store'
import { dispatch } from '../../../src/services/dispatch'
import type { ServiceContext } from '../../../src/services/context'

const BAD = ['', '..', '.', 'a..b', '.hidden', '-rf', '_x', 'a/b', 'a\\b', 'a b', 'x.', 'CON', 'nul.txt', 'com1', 'LPT9.log', 'é', 'a'.repeat(129)]
const GOOD = ['examples', 'run-20260101-120000-ab12', 'ala2-3f9a0c', 'a.b', 'A_1-2', 'con-project', 'console', 'a'.repeat(128)]

describe('one id rule', () => {
  it('refuses parent segments, hidden names, separators, trailing dots and Windows device names', () => {
    for (const id of BAD) expect(idProblem(id), id).toBeDefined()
    for (const id of GOOD) expect(idProblem(id), id).toBeUndefined()
  })

  it('the API schema refuses what the services refuse (the old API regex admitted "..")', () => {
    const open = contract['project.open'].input
    for (const id of BAD) expect(open.safeParse({ id }).success, id).toBe(false)
    for (const id of GOOD) expect(open.safeParse({ id }).success, id).toBe(true)
  })

  it('schema, isValidId and every service folder check agree on arbitrary strings', () => {
    const open = contract['project.open'].input
    const home = '/nonexistent-home'
    const chars = fc.constantFrom(...'aZ09._-/\\ .:'.split(''))
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: chars, maxLength: 12 }), fc.string({ maxLength: 12 }), fc.constantFrom(...BAD, ...GOOD)), (id) => {
        const valid = isValidId(id)
        expect(open.safeParse({ id }).success).toBe(valid)
        const accepts = (f: () => unknown): boolean => {
          try {
            f()
            return true
          } catch {
            return false
          }
        }
        expect(accepts(() => projectDir(home, id))).toBe(valid)
        expect(accepts(() => runDir(home, 'examples', id))).toBe(valid)
        if (valid) expect(path.dirname(projectDir(home, id))).toBe(path.join(home, 'projects'))
      }),
      { seed: 13, numRuns: 2000 }
    )
  })

  it('checkId names what the id is for in a one-line UserError', () => {
    expect(() => checkId('a..b', 'dataset')).toThrow(/^dataset id 'a\.\.b' is not valid: an id must not contain '\.\.'$/)
  })

  it('a project named like a Windows device still gets a usable id', async () => {
    const home = mkdtempSync(path.join(tmpdir(), 'diffmd-ids-'))
    try {
      const ctx: ServiceContext = { home, transport: 'http', resourcesDir: path.resolve('resources'), emit: () => undefined }
      const p = (await dispatch(ctx, 'project.create', { name: 'Con' })) as { id: string; name: string }
      expect(p).toMatchObject({ id: 'con-project', name: 'Con' })
    } finally {
      rmSync(home, { recursive: true, force: true })
    }
  })
})
