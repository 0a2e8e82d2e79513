/**
 * Property-based fuzzing of every reader with mutations of real files (support/mutate.ts): PDB (whole
 * text and streamed in random chunks), XYZ, DCD, XTC, gzip (whole and streamed), format sniffing;
 * then dataset import of mutated PDB / PDB.gz files from disk. The property: a reader either returns
 * a consistent result (frame count × atoms × 3 values, all finite) or throws a one-line UserError —
 * never another exception; a refused import leaves the project byte-identical.
 * Seeds are fixed (FUZZ_SEED overrides) so a failure replays; fast-check shrinks it to a short list.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { gunzipSync, gzipSync } from 'node:zlib'
import { UserError } from '../../../src/core/errors'
import { PdbStreamParser, readPdb } from '../../../src/core/formats/pdb'
import { readXyz, writeXyz } from '../../../src/core/formats/xyz'
import { readDcd, writeDcdBytes } from '../../../src/core/formats/dcd'
import { readXtc, writeXtcBytes } from '../../../src/core/formats/xtc'
import { GunzipStream, maybeGunzip } from '../../../src/core/formats/gzip'
import { sniffBytes, sniffText } from '../../../src/core/formats/detect'
import { createProject } from '../../../src/services/project/store'
import { importDataset } from '../../../src/services/datasets'
import { mutate, mutationsArb } from './support/mutate'
import { fileHashes } from './support/file-hashes'

const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : 20261201
const RUNS = 300

/** real inputs: the shipped ala2 example (a 12-frame subset), its reference, the PDB fixtures; other formats written from its frames */
export function realInputs(): { pdb: Uint8Array[]; xyz: Uint8Array; dcd: Uint8Array; xtc: Uint8Array; gz: Uint8Array } {
  const all = gunzipSync(readFileSync('resources/examples/ala2/ala2_snapshots_all.pdb.gz')).toString('latin1')
  const models = all.split(/^ENDMDL[^\n]*\n/m).filter((m) => m.includes('ATOM'))
  const subset = Buffer.from(models.slice(0, 12).map((m) => m + 'ENDMDL\n').join('') + 'END\n', 'latin1')
  const pdb = [subset, readFileSync('resources/examples/ala2/ala2_reference.pdb'), ...readdirSync('tests/fixtures/pdb').map((f) => readFileSync(path.join('tests/fixtures/pdb', f)))].map((b) => new Uint8Array(b))
  const parsed = readPdb(subset.toString('latin1'), 'subset.pdb')
  const N = parsed.topology.atoms.length
  const xyz = new TextEncoder().encode(writeXyz(parsed.topology.atoms.map((a) => a.element), parsed.frames, parsed.nFrames))
  return { pdb, xyz, dcd: new Uint8Array(0), xtc: writeXtcBytes(parsed.frames, parsed.nFrames, { nAtoms: N }), gz: new Uint8Array(gzipSync(subset)) }
}

let inputs: ReturnType<typeof realInputs>
let dcd: Uint8Array
beforeAll(async () => {
  inputs = realInputs()
  const parsed = readPdb(Buffer.from(inputs.pdb[0]!).toString('latin1'), 'subset.pdb')
  dcd = await writeDcdBytes(parsed.frames, parsed.nFrames, { nAtoms: parsed.topology.atoms.length, frameIntervalPs: 1 })
})

/** runs `read`; a UserError (one line) or a consistent result passes, anything else fails with the input described */
function onlyUserErrors(read: () => { nFrames: number; nAtoms: number; frames: Float32Array } | void): void {
  let res
  try {
    res = read()
  } catch (err) {
    if (!(err instanceof UserError)) throw new Error(`not a UserError: ${(err as Error)?.constructor?.name}: ${(err as Error)?.message}`)
    expect(err.message.length).toBeGreaterThan(0)
    expect(err.message).not.toMatch(/\n/)
    return
  }
  if (res) {
    expect(res.frames.length).toBe(res.nFrames * res.nAtoms * 3)
    for (let i = 0; i < res.frames.length; i++) if (!Number.isFinite(res.frames[i]!)) throw new Error(`coordinate ${i} is ${res.frames[i]} in an accepted file`)
  }
}

const latin1 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1')

describe('readers on mutated real files: only UserErrors', () => {
  it('PDB, whole text', () => {
    fc.assert(
      fc.property(fc.nat({ max: 4 }), mutationsArb, (k, ops) => {
        const bytes = mutate(inputs.pdb[k % inputs.pdb.length]!, ops)
        onlyUserErrors(() => {
          const r = readPdb(latin1(bytes), 'fuzz.pdb')
          return { nFrames: r.nFrames, nAtoms: r.topology.atoms.length, frames: r.frames }
        })
      }),
      { seed: SEED, numRuns: RUNS }
    )
  })

  it('PDB, streamed in random chunks (chunk boundaries anywhere, even inside a line or a CRLF)', () => {
    fc.assert(
      fc.property(fc.nat({ max: 4 }), mutationsArb, fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 20 }), (k, ops, cuts) => {
        const text = latin1(mutate(inputs.pdb[k % inputs.pdb.length]!, ops))
        let nAtoms = 0
        const frames: number[] = []
        onlyUserErrors(() => {
          const p = new PdbStreamParser('fuzz.pdb', (coords) => {
            nAtoms = coords.length / 3
            for (const v of coords) frames.push(v)
          })
          let at = 0
          for (let i = 0; at < text.length; i++) {
            const n = cuts[i % cuts.length]!
            p.push(text.slice(at, at + n))
            at += n
          }
          const r = p.end()
          return { nFrames: r.nFrames, nAtoms: r.nFrames ? nAtoms : 0, frames: Float32Array.from(frames) }
        })
        // streamed and whole parses agree
        let whole: ReturnType<typeof readPdb> | undefined
        try {
          whole = readPdb(text, 'fuzz.pdb')
        } catch {
          whole = undefined
        }
        if (whole) expect(frames.length).toBe(whole.frames.length)
      }),
      { seed: SEED + 1, numRuns: RUNS }
    )
  })

  it('XYZ: the two inputs fuzzing found (an atom count of 400 digits sized a buffer; 1e39 became Infinity) are UserErrors', () => {
    expect(() => readXyz(`${'9'.repeat(400)}\ncomment\nC 0 0 0\n`, 'a.xyz')).toThrowError(/^a\.xyz: line 1: frame 1 says 999999999999… atoms but only 2 lines follow its comment line$/)
    expect(() => readXyz('1\ncomment\nC 0 1e39 0\n', 'b.xyz')).toThrowError(/^b\.xyz: line 3: y coordinate '1e39' is out of range/)
    expect(readXyz('1\ncomment\nC 0 1e38 0\n', 'c.xyz').frames[1]).toBe(Math.fround(1e38))
  })

  it('XYZ', () => {
    fc.assert(
      fc.property(mutationsArb, (ops) => {
        onlyUserErrors(() => {
          const r = readXyz(latin1(mutate(inputs.xyz, ops)), 'fuzz.xyz')
          return { nFrames: r.nFrames, nAtoms: r.nAtoms, frames: r.frames }
        })
      }),
      { seed: SEED + 2, numRuns: RUNS }
    )
  })

  it('DCD', () => {
    fc.assert(
      fc.property(mutationsArb, (ops) => {
        onlyUserErrors(() => {
          const r = readDcd(mutate(dcd, ops), 'fuzz.dcd')
          return { nFrames: r.nFrames, nAtoms: r.nAtoms, frames: r.frames }
        })
      }),
      { seed: SEED + 3, numRuns: RUNS }
    )
  })

  it('XTC', () => {
    fc.assert(
      fc.property(mutationsArb, (ops) => {
        onlyUserErrors(() => {
          const r = readXtc(mutate(inputs.xtc, ops), 'fuzz.xtc')
          return { nFrames: r.nFrames, nAtoms: r.nAtoms, frames: r.frames }
        })
      }),
      { seed: SEED + 4, numRuns: RUNS }
    )
  })

  it('gzip, whole and streamed; sniffing never throws', () => {
    fc.assert(
      fc.property(mutationsArb, fc.integer({ min: 1, max: 4096 }), (ops, chunk) => {
        const bytes = mutate(inputs.gz, ops)
        expect(() => sniffBytes(bytes.subarray(0, 512))).not.toThrow()
        expect(() => sniffText(latin1(bytes.subarray(0, 512)))).not.toThrow()
        onlyUserErrors(() => void maybeGunzip(bytes, 'fuzz.pdb.gz'))
        onlyUserErrors(() => {
          const g = new GunzipStream('fuzz.pdb.gz', () => undefined)
          for (let at = 0; at < bytes.length; at += chunk) g.push(bytes.subarray(at, at + chunk))
          g.end()
        })
      }),
      // each run decompresses up to a megabyte: fewer runs keep this test at a few seconds
      { seed: SEED + 5, numRuns: 120 }
    )
  })
})

describe('dataset import of mutated real files', () => {
  let dir: string
  let project: string
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'diffmd-fuzz-import-'))
    await createProject(dir, 'Fuzz', 'fuzz')
    project = path.join(dir, 'projects', 'fuzz')
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  const tree = (): Record<string, string> => fileHashes(project)

  it('PDB and PDB.gz: a UserError leaves the project byte-identical; an accepted file adds one dataset and changes nothing else', async () => {
    let n = 0
    let accepted = 0
    let refused = 0
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: 5 }), mutationsArb, async (k, ops) => {
        const gz = k === 5
        const bytes = gz ? mutate(inputs.gz, ops) : mutate(inputs.pdb[k % inputs.pdb.length]!, ops)
        const file = path.join(dir, `in-${n++}.pdb${gz ? '.gz' : ''}`)
        writeFileSync(file, bytes)
        const before = tree()
        try {
          const m = await importDataset(project, [file])
          const after = tree()
          const added = Object.keys(after).filter((f) => !(f in before))
          expect(added.every((f) => f.startsWith(`datasets/${m.id}/`))).toBe(true)
          for (const f of Object.keys(before)) expect(after[f]).toBe(before[f])
          accepted++
        } catch (err) {
          refused++
          if (!(err instanceof UserError)) throw new Error(`import: not a UserError: ${(err as Error)?.message}`)
          expect(err.message).not.toMatch(/\n/)
          expect(tree()).toEqual(before)
        } finally {
          rmSync(file, { force: true })
        }
      }),
      { seed: SEED + 6, numRuns: 120 }
    )
    // both outcomes occur, so both halves of the property were exercised
    expect(accepted).toBeGreaterThan(0)
    expect(refused).toBeGreaterThan(0)
  }, 120_000)
})
