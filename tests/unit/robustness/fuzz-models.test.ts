/**
 * Fuzzing model import with mutations of the shipped default model: its ONNX bytes (no card, so
 * onnxruntime itself meets the damaged protobuf), its card as text, and its card as JSON with a
 * field removed or replaced by an arbitrary JSON value anywhere in the tree. The property: a one-line
 * UserError and a byte-identical project, or a model imported with nothing else changed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { UserError } from '../../../src/core/errors'
import { createProject } from '../../../src/services/project/store'
import { importModel, listModels, readModelCard } from '../../../src/services/models/registry'
import { mutate, mutationsArb } from './support/mutate'
import { fileHashes } from './support/file-hashes'

const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : 20261201
const ONNX = 'resources/models/ala2-default.onnx'
const CARD = 'resources/models/ala2-default.card.json'

let dir: string
let project: string
let n = 0
const outcomes = { accepted: 0, refused: 0 }
beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'diffmd-fuzz-models-'))
  await createProject(dir, 'Fuzz models', 'fm')
  project = path.join(dir, 'projects', 'fm')
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const tree = (): Record<string, string> => fileHashes(project)

/** imports; checks the property; counts the outcome */
async function importChecked(file: string, cardFile?: string): Promise<void> {
  const before = tree()
  try {
    const entry = await importModel(project, file, cardFile ? { cardFile } : {})
    const after = tree()
    expect(Object.keys(after).filter((f) => !(f in before)).every((f) => f.startsWith(`models/${entry.id}/`))).toBe(true)
    for (const f of Object.keys(before)) expect(after[f]).toBe(before[f])
    outcomes.accepted++
  } catch (err) {
    if (!(err instanceof UserError)) throw new Error(`model import: not a UserError: ${(err as Error)?.constructor?.name}: ${(err as Error)?.message}`)
    expect(err.message).not.toMatch(/\n/)
    expect(tree()).toEqual(before)
    outcomes.refused++
  }
}

/** a JSON path edit: remove the key, or set it to an arbitrary JSON value */
type Edit = { path: number[]; action: 'remove' } | { path: number[]; action: 'set'; value: unknown }
const editArb: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ path: fc.array(fc.nat(), { minLength: 1, maxLength: 4 }), action: fc.constant('remove' as const) }),
  fc.record({ path: fc.array(fc.nat(), { minLength: 1, maxLength: 4 }), action: fc.constant('set' as const), value: fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom(NaN, -1, 0, 1e308, '', null, [], {}, 'x'.repeat(10_000))) })
)

/** follows path indices (modulo the keys present) down the tree and applies the edit */
function applyEdit(root: Record<string, unknown>, e: Edit): void {
  let node: unknown = root
  for (let depth = 0; depth < e.path.length; depth++) {
    if (node === null || typeof node !== 'object') return
    const keys = Object.keys(node)
    if (keys.length === 0) return
    const key = keys[e.path[depth]! % keys.length]!
    const obj = node as Record<string, unknown>
    if (depth === e.path.length - 1 || obj[key] === null || typeof obj[key] !== 'object') {
      if (e.action === 'remove') {
        if (Array.isArray(obj)) obj.splice(Number(key), 1)
        else delete obj[key]
      } else obj[key] = e.value
      return
    }
    node = obj[key]
  }
}

describe('model import of mutated real files: only UserErrors, project unchanged on refusal', () => {
  it('ONNX bytes without a card (onnxruntime parses the damaged protobuf)', async () => {
    const real = new Uint8Array(readFileSync(ONNX))
    await fc.assert(
      fc.asyncProperty(mutationsArb, async (ops) => {
        const file = path.join(dir, `m${n++}.onnx`)
        writeFileSync(file, mutate(real, ops))
        try {
          await importChecked(file)
        } finally {
          rmSync(file, { force: true })
        }
      }),
      { seed: SEED, numRuns: 40 }
    )
  }, 240_000)

  it('the card as text', async () => {
    const real = new Uint8Array(readFileSync(CARD))
    await fc.assert(
      fc.asyncProperty(mutationsArb, async (ops) => {
        const file = path.join(dir, `t${++n}.onnx`)
        copyFileSync(ONNX, file)
        const card = path.join(dir, `t${n}.card.json`)
        writeFileSync(card, mutate(real, ops))
        try {
          await importChecked(file, card)
        } finally {
          rmSync(file, { force: true })
          rmSync(card, { force: true })
        }
      }),
      { seed: SEED + 1, numRuns: 40 }
    )
  }, 240_000)

  it('the card as JSON: fields removed or replaced by arbitrary values anywhere', async () => {
    const real = JSON.parse(readFileSync(CARD, 'utf8')) as Record<string, unknown>
    await fc.assert(
      fc.asyncProperty(fc.array(editArb, { minLength: 1, maxLength: 3 }), async (edits) => {
        const c = structuredClone(real)
        for (const e of edits) applyEdit(c, e)
        const file = path.join(dir, `j${n++}.onnx`)
        copyFileSync(ONNX, file)
        const card = path.join(dir, `j${n}.card.json`)
        writeFileSync(card, JSON.stringify(c))
        try {
          await importChecked(file, card)
        } finally {
          rmSync(file, { force: true })
          rmSync(card, { force: true })
        }
      }),
      { seed: SEED + 2, numRuns: 60 }
    )
    // both outcomes occurred over the three properties, so both halves were exercised
    expect(outcomes.accepted).toBeGreaterThan(0)
    expect(outcomes.refused).toBeGreaterThan(0)
    // and every model that was accepted lists and reads back
    const listed = await listModels(project)
    expect(listed.models.length).toBe(outcomes.accepted)
    for (const m of listed.models) expect((await readModelCard(project, m.id)).dim).toBeGreaterThan(0)
  }, 240_000)
})
