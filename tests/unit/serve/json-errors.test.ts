/**
 * A file that should be JSON but is not (a model card, a project, run or dataset file, a trajectory)
 * is refused with a message that says where the problem is, never what the file contains.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { jsonSyntaxProblem } from '../../../src/core/json-error'
import { dispatch } from '../../../src/services/dispatch'
import type { ServiceContext } from '../../../src/services/context'
import { readCardFile } from '../../../src/services/models/open'

const SECRET = 'sk-live-4f9a1c2e8b7d'
/** texts that are not JSON, each with the secret where V8 would quote it */
const NOT_JSON = [`${SECRET} is a key`, `{"a": ${SECRET}}`, `[1, 2, ${SECRET}]`, `{"k": "v",\n "${SECRET}" 1}`, `{"k": "${SECRET}`, `   `]

function parseError(text: string): unknown {
  try {
    JSON.parse(text)
  } catch (err) {
    return err
  }
  throw new Error('parsed')
}

describe('jsonSyntaxProblem', () => {
  it('never quotes the text (V8 itself does for most of these)', () => {
    let v8Echoes = 0
    for (const text of NOT_JSON) {
      const err = parseError(text)
      if ((err as Error).message.includes(SECRET.slice(0, 8))) v8Echoes++
      const p = jsonSyntaxProblem(err, text)
      expect(p, text).not.toContain(SECRET.slice(0, 4))
      expect(p.length).toBeGreaterThan(5)
    }
    // the reason this exists: V8's messages carry the content
    expect(v8Echoes).toBeGreaterThanOrEqual(2)
  })
  it('says where: line and column from the position', () => {
    expect(jsonSyntaxProblem(parseError('{"a":1,\n  x}'), '{"a":1,\n  x}')).toBe("Expected double-quoted property name at line 2, column 3")
    expect(jsonSyntaxProblem(parseError('{"a":1'), '{"a":1')).toMatch(/^Expected ',' or '}' after property value at line 1, column 7$|^the JSON text ends early$/)
    expect(jsonSyntaxProblem(parseError(''), '')).toBe('the JSON text ends early')
  })
})

describe('files that are not JSON', () => {
  let home: string
  let ctx: ServiceContext
  beforeAll(async () => {
    home = mkdtempSync(path.join(tmpdir(), 'diffmd-json-err-'))
    ctx = { home, transport: 'http', resourcesDir: path.resolve('resources'), emit: () => undefined }
    await dispatch(ctx, 'project.create', { name: 'P' })
  })
  afterAll(() => rmSync(home, { recursive: true, force: true }))

  it('a model card that is not JSON: model.import names the file and the place, not the content', async () => {
    const onnx = path.join(home, 'm.onnx')
    copyFileSync(path.resolve('resources/models/ala2-default.onnx'), onnx)
    for (const text of NOT_JSON) {
      const card = path.join(home, 'm.card.json')
      writeFileSync(card, text)
      const err = (await dispatch(ctx, 'model.import', { projectId: 'p', onnxPath: onnx, cardPath: card }).catch((e: unknown) => e)) as Error
      expect(err.name).toBe('UserError')
      expect(err.message).toContain('m.card.json')
      expect(err.message).not.toContain(SECRET.slice(0, 4))
      await expect(readCardFile(card)).rejects.toThrow(/not valid JSON/)
    }
  })

  it('a project.json that is not JSON is reported without its content', async () => {
    writeFileSync(path.join(home, 'projects', 'p', 'project.json'), `{"id": ${SECRET}}`)
    const err = (await dispatch(ctx, 'project.open', { id: 'p' }).catch((e: unknown) => e)) as Error
    expect(err.message).toMatch(/project\.json is not valid JSON/)
    expect(err.message).not.toContain(SECRET.slice(0, 4))
  })
})
