/**
 * Property-based fuzzing of the readers added for issue 11 (docs/formats.md) with mutations of the
 * real corpus (tests/fixtures/real/, support/mutate.ts): mmCIF, GRO, PQR, extended and Tinker XYZ,
 * TRR, bzip2, content identification and unwrapping, the PDB ensemble path; then dataset import of
 * mutated files of every new kind, alone and as trajectory + topology. The property: a reader
 * returns a consistent result (frames × atoms × 3 finite values) or throws a one-line UserError —
 * never another exception; a refused import leaves the project byte-identical.
 * Seeds are fixed (FUZZ_SEED overrides) so a failure replays; fast-check shrinks it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { UserError } from '../../../src/core/errors'
import { readCif } from '../../../src/core/formats/cif'
import { readGro } from '../../../src/core/formats/gro'
import { readPqr } from '../../../src/core/formats/pqr'
import { readTinkerXyz, readXyz } from '../../../src/core/formats/xyz'
import { readTrr } from '../../../src/core/formats/trr'
import { bunzip2Bytes } from '../../../src/core/formats/bzip2'
import { readPdbEnsemble, readStructure, readTrajectory, unwrap } from '../../../src/core/formats/snapshots'
import { sniffBytes } from '../../../src/core/formats/detect'
import { createProject } from '../../../src/services/project/store'
import { importDataset } from '../../../src/services/datasets'
import { mutate, mutationsArb } from './support/mutate'
import { fileHashes } from './support/file-hashes'

const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : 20261211
const RUNS = 250
const REAL = path.resolve('tests/fixtures/real')
const real = (n: string): Uint8Array => new Uint8Array(readFileSync(path.join(REAL, n)))
const latin1 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1')

interface Result {
  nFrames: number
  nAtoms: number
  frames: Float32Array
}

/** runs `read`; a one-line UserError or a consistent result passes, anything else fails */
function onlyUserErrors(read: () => Result | void): void {
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

const text = (name: string): ((b: Uint8Array) => Result) => {
  const readers: Record<string, (t: string) => { nFrames: number; frames: Float32Array; topology?: { atoms: unknown[] }; nAtoms?: number }> = {
    cif: (t) => readCif(t, 'fuzz.cif'),
    gro: (t) => readGro(t, 'fuzz.gro'),
    pqr: (t) => readPqr(t, 'fuzz.pqr'),
    xyz: (t) => readXyz(t, 'fuzz.xyz'),
    tinker: (t) => readTinkerXyz(t, 'fuzz.arc'),
    ensemble: (t) => readPdbEnsemble(t, 'fuzz.pdb'),
  }
  return (b) => {
    const r = readers[name]!(latin1(b))
    return { nFrames: r.nFrames, nAtoms: r.nAtoms ?? r.topology!.atoms.length, frames: r.frames }
  }
}

const CASES: [string, string, (b: Uint8Array) => Result][] = [
  ['mmCIF', 'ala2_3models.cif', text('cif')],
  ['GRO (multi-frame)', 'ala2_top.gro', text('gro')],
  ['GRO (GROMACS, t= titles)', 'gmx_window.gro', text('gro')],
  ['PQR', 'ala2_2.pqr', text('pqr')],
  ['extended XYZ', 'ala2_2.extxyz', text('xyz')],
  ['Tinker ARC', 'ala2_3.arc', text('tinker')],
  ['PDB models that differ (ensemble matching)', 'nmr_like_ensemble.pdb', text('ensemble')],
  ['TRR', 'ala2_40.trr', (b) => readTrr(b, 'fuzz.trr')],
  ['TRR (GROMACS)', 'gmx_40.trr', (b) => readTrr(b, 'fuzz.trr')],
]

describe('new readers on mutated real files: only UserErrors', () => {
  CASES.forEach(([label, file, read], i) => {
    it(label, () => {
      const input = real(file)
      fc.assert(
        fc.property(mutationsArb, (ops) => onlyUserErrors(() => read(mutate(input, ops)))),
        { seed: SEED + i, numRuns: RUNS }
      )
    })
  })

  it('bzip2, and identification + reading of whatever the mutated bytes turn out to be', () => {
    const inputs = ['ala2_4.xyz.bz2', 'ala2_4.xyz.gz', 'ala2_2models.cif.gz', 'ala2_40.xtc', 'ala2_40.dcd', 'two_pdbs.tar', 'head_only.mmtf'].map(real)
    const top = readStructure(unwrap(real('ala2_top.pdb'), 't.pdb'), 't.pdb')
    fc.assert(
      fc.property(fc.nat({ max: inputs.length - 1 }), mutationsArb, (k, ops) => {
        const bytes = mutate(inputs[k]!, ops)
        expect(() => sniffBytes(bytes.subarray(0, 8192))).not.toThrow()
        if (k === 0) onlyUserErrors(() => void bunzip2Bytes(bytes, 'fuzz.bz2', 1 << 22))
        onlyUserErrors(() => {
          const u = unwrap(bytes, 'fuzz', 1 << 22)
          if (['dcd', 'xtc', 'trr'].includes(u.kind)) {
            const t = readTrajectory(u, 'fuzz')
            if (t.nAtoms !== top.topology.atoms.length) return
            return t
          }
          const r = readStructure(u, 'fuzz')
          return { nFrames: r.nFrames, nAtoms: r.topology.atoms.length, frames: r.frames }
        })
      }),
      { seed: SEED + 20, numRuns: RUNS }
    )
  })
})

describe('dataset import of mutated files of the new kinds', () => {
  let dir: string
  let project: string
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'diffmd-fuzz-formats-'))
    await createProject(dir, 'Fuzz', 'fuzz')
    project = path.join(dir, 'projects', 'fuzz')
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  const tree = (): Record<string, string> => fileHashes(project)

  it('a UserError leaves the project byte-identical; an accepted file adds one dataset and changes nothing else', async () => {
    // [mutated file, its name, the untouched companion (the topology or the trajectory) or none]
    const inputs: [string, string | null][] = [
      ['ala2_3models.cif', null],
      ['ala2_2models.cif.gz', null],
      ['ala2_top.gro', null],
      ['ala2_2.pqr', null],
      ['ala2_4.xyz.bz2', null],
      ['nmr_like_ensemble.pdb', null],
      ['ala2_40.xtc', 'ala2_top.pdb'],
      ['ala2_40.trr', 'ala2_top.gro'],
      ['ala2_40.dcd', 'ala2_top.pdb'],
      ['ala2_top.pdb', 'ala2_40.xtc'],
    ]
    let n = 0
    let accepted = 0
    let refused = 0
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: inputs.length - 1 }), mutationsArb, fc.integer({ min: 1, max: 4 }), async (k, ops, stride) => {
        const [name, companion] = inputs[k]!
        const file = path.join(dir, `in-${n++}-${name}`)
        writeFileSync(file, mutate(real(name), ops))
        const files = companion ? [file, path.join(REAL, companion)] : [file]
        const before = tree()
        try {
          const m = await importDataset(project, files, { stride })
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
      { seed: SEED + 30, numRuns: 150 }
    )
    expect(accepted).toBeGreaterThan(0)
    expect(refused).toBeGreaterThan(0)
  }, 180_000)
})
