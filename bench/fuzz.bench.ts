/**
 * Fuzz bench (npm run bench:fuzz [-- N]): N (default 10⁴) mutated real files through import —
 * PDB and PDB.gz (each with its unmutated original as a second file) through dataset import into a
 * project on disk, the default model's ONNX bytes and
 * card through model import — and mutated DCD, XYZ and XTC files (written from the ala2 example)
 * through their readers. Mutations: tests/unit/robustness/support/mutate.ts (byte flips,
 * truncation, insertion, deletion, duplication, hostile number tokens, dropped/repeated lines),
 * sampled by fast-check from a fixed seed. A crash is any exception that is not a UserError, an
 * error message of more than one line, or a refused import that changed a file of the project.
 * Prints a markdown table; exits 1 if there was a crash.
 */
import fc from 'fast-check'
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os, { tmpdir } from 'node:os'
import path from 'node:path'
import { gunzipSync, gzipSync } from 'node:zlib'
import { findRoot } from './root'
import { UserError } from '../src/core/errors'
import { readPdb } from '../src/core/formats/pdb'
import { readXyz, writeXyz } from '../src/core/formats/xyz'
import { readDcd, writeDcdBytes } from '../src/core/formats/dcd'
import { readXtc, writeXtcBytes } from '../src/core/formats/xtc'
import { createProject } from '../src/services/project/store'
import { deleteDataset, importDataset } from '../src/services/datasets'
import { deleteModel, importModel } from '../src/services/models/registry'
import { mutate, mutationsArb, type Mutation } from '../tests/unit/robustness/support/mutate'
import { fileHashes } from '../tests/unit/robustness/support/file-hashes'

const root = findRoot()
const N = Number(process.argv[2] ?? 10_000)
const SEED = Number(process.env.FUZZ_SEED ?? 20261201)

interface Tally {
  kind: string
  runs: number
  accepted: number
  refused: number
  crashes: number
  ms: number
  firstCrash?: string
}


const same = (a: Record<string, string>, b: Record<string, string>): boolean => JSON.stringify(a) === JSON.stringify(b)

async function tallied(t: Tally, ops: Mutation[], fn: () => Promise<'accepted' | 'refused'>): Promise<void> {
  const t0 = performance.now()
  t.runs++
  try {
    const r = await fn()
    t[r]++
  } catch (err) {
    t.crashes++
    t.firstCrash ??= `${(err as Error)?.constructor?.name}: ${(err as Error)?.message?.split('\n')[0]} — mutations ${JSON.stringify(ops).slice(0, 300)}`
  }
  t.ms += performance.now() - t0
}

const reasons = new Map<string, number>()

/** a refusal must be a one-line UserError; its code is counted */
function refusal(err: unknown): 'refused' {
  if (!(err instanceof UserError)) throw err
  if (err.message.includes('\n')) throw new Error(`a UserError of several lines: ${err.message.slice(0, 200)}`)
  reasons.set(err.code, (reasons.get(err.code) ?? 0) + 1)
  return 'refused'
}

async function main(): Promise<void> {
  const work = mkdtempSync(path.join(tmpdir(), 'diffmd-fuzz-bench-'))
  try {
    await createProject(work, 'Fuzz bench', 'fb')
    const project = path.join(work, 'projects', 'fb')
    const ex = path.join(root, 'resources', 'examples', 'ala2')
    const all = gunzipSync(readFileSync(path.join(ex, 'ala2_snapshots_all.pdb.gz'))).toString('latin1')
    const heavy = gunzipSync(readFileSync(path.join(ex, 'ala2_snapshots_heavy.pdb.gz'))).toString('latin1')
    const firstModels = (text: string, n: number): Buffer => Buffer.from(text.split(/^ENDMDL[^\n]*\n/m).filter((m) => m.includes('ATOM')).slice(0, n).map((m) => m + 'ENDMDL\n').join('') + 'END\n', 'latin1')
    const pdbSeeds: { name: string; bytes: Uint8Array; gz: boolean }[] = [
      { name: 'ala2 12 frames', bytes: firstModels(all, 12), gz: false },
      { name: 'ala2 heavy 12 frames', bytes: firstModels(heavy, 12), gz: false },
      { name: 'ala2_reference.pdb', bytes: readFileSync(path.join(ex, 'ala2_reference.pdb')), gz: false },
      ...readdirSync(path.join(root, 'tests', 'fixtures', 'pdb')).map((f) => ({ name: f, bytes: readFileSync(path.join(root, 'tests', 'fixtures', 'pdb', f)), gz: false })),
      { name: 'ala2 12 frames .gz', bytes: gzipSync(firstModels(all, 12)), gz: true },
    ].map((s) => ({ ...s, bytes: new Uint8Array(s.bytes) }))
    const parsed = readPdb(firstModels(all, 12).toString('latin1'), 'ala2.pdb')
    const nAtoms = parsed.topology.atoms.length
    const dcd = await writeDcdBytes(parsed.frames, parsed.nFrames, { nAtoms, frameIntervalPs: 5 })
    const xyz = new TextEncoder().encode(writeXyz(parsed.topology.atoms.map((a) => a.element), parsed.frames, parsed.nFrames))
    const xtc = writeXtcBytes(parsed.frames, parsed.nFrames, { nAtoms })
    const onnxFile = path.join(root, 'resources', 'models', 'ala2-default.onnx')
    const onnx = new Uint8Array(readFileSync(onnxFile))
    const card = new Uint8Array(readFileSync(path.join(root, 'resources', 'models', 'ala2-default.card.json')))

    // the mix: 70 % dataset import, 3 % + 3 % model import (ONNX, card), 8 % each DCD, XYZ, XTC reader
    const nModel = Math.round(0.03 * N)
    const nReader = Math.round(0.08 * N)
    const nDataset = N - 2 * nModel - 3 * nReader
    const samples = fc.sample(mutationsArb, { seed: SEED, numRuns: N })
    let s = 0
    const tallies: Tally[] = ['dataset import (PDB, PDB.gz)', 'model import (ONNX bytes)', 'model import (card text)', 'DCD reader', 'XYZ reader', 'XTC reader'].map((kind) => ({ kind, runs: 0, accepted: 0, refused: 0, crashes: 0, ms: 0 }))
    const [tDs, tOnnx, tCard, tDcd, tXyz, tXtc] = tallies as [Tally, Tally, Tally, Tally, Tally, Tally]
    const t0 = performance.now()

    for (let i = 0; i < nDataset; i++) {
      const ops = samples[s++]!
      const seed = pdbSeeds[i % pdbSeeds.length]!
      const file = path.join(work, `in-${i}.pdb${seed.gz ? '.gz' : ''}`)
      writeFileSync(file, mutate(seed.bytes, ops))
      // with the unmutated file beside it: single-model seeds then reach the topology and spread checks
      const pair = path.join(work, `orig-${i % pdbSeeds.length}.pdb${seed.gz ? '.gz' : ''}`)
      writeFileSync(pair, seed.bytes)
      await tallied(tDs, ops, async () => {
        const before = fileHashes(project)
        try {
          const m = await importDataset(project, [file, pair])
          await deleteDataset(project, m.id)
          if (!same(fileHashes(project), before)) throw new Error('an accepted import and its deletion left other files changed')
          return 'accepted'
        } catch (err) {
          const r = refusal(err)
          if (!same(fileHashes(project), before)) throw new Error(`a refused import changed the project: ${(err as Error).message}`)
          return r
        }
      })
      rmSync(file, { force: true })
      if ((i + 1) % 1000 === 0) process.stderr.write(`dataset import ${i + 1}/${nDataset}\n`)
    }
    for (let i = 0; i < 2 * nModel; i++) {
      const ops = samples[s++]!
      const isCard = i % 2 === 1
      const file = path.join(work, `m-${i}.onnx`)
      const cardFile = path.join(work, `m-${i}.card.json`)
      if (isCard) {
        copyFileSync(onnxFile, file)
        writeFileSync(cardFile, mutate(card, ops))
      } else writeFileSync(file, mutate(onnx, ops))
      await tallied(isCard ? tCard : tOnnx, ops, async () => {
        const before = fileHashes(project)
        try {
          const m = await importModel(project, file, isCard ? { cardFile } : {})
          await deleteModel(project, m.id)
          return 'accepted'
        } catch (err) {
          const r = refusal(err)
          if (!same(fileHashes(project), before)) throw new Error(`a refused model import changed the project: ${(err as Error).message}`)
          return r
        }
      })
      rmSync(file, { force: true })
      rmSync(cardFile, { force: true })
    }
    const latin1 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1')
    const readers: [Tally, Uint8Array, (b: Uint8Array) => unknown][] = [
      [tDcd, dcd, (b) => readDcd(b, 'fuzz.dcd')],
      [tXyz, xyz, (b) => readXyz(latin1(b), 'fuzz.xyz')],
      [tXtc, xtc, (b) => readXtc(b, 'fuzz.xtc')],
    ]
    for (const [t, seedBytes, read] of readers) {
      for (let i = 0; i < nReader; i++) {
        const ops = samples[s++]!
        const b = mutate(seedBytes, ops)
        await tallied(t, ops, async () => {
          try {
            read(b)
            return 'accepted'
          } catch (err) {
            return refusal(err)
          }
        })
      }
    }
    const secs = (performance.now() - t0) / 1000

    const lines = [
      `Machine: ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? 'unknown'}), Node ${process.version}; seed ${SEED}; ${N} mutated files in ${secs.toFixed(0)} s`,
      '',
      '| input | files | accepted | refused (one-line UserError, project unchanged) | crashes | ms/file |',
      '|---|---|---|---|---|---|',
      ...tallies.map((t) => `| ${t.kind} | ${t.runs} | ${t.accepted} | ${t.refused} | ${t.crashes} | ${(t.ms / Math.max(1, t.runs)).toFixed(1)} |`),
      `| **all** | ${tallies.reduce((a, t) => a + t.runs, 0)} | ${tallies.reduce((a, t) => a + t.accepted, 0)} | ${tallies.reduce((a, t) => a + t.refused, 0)} | **${tallies.reduce((a, t) => a + t.crashes, 0)}** | |`,
    ]
    lines.push('', `Refusals by UserError code: ${[...reasons].sort((a, b) => b[1] - a[1]).map(([c, k]) => `${c} ${k}`).join(', ')}`)
    process.stdout.write(lines.join('\n') + '\n')
    const crashes = tallies.filter((t) => t.crashes > 0)
    for (const t of crashes) process.stdout.write(`first crash in ${t.kind}: ${t.firstCrash}\n`)
    process.exitCode = crashes.length > 0 ? 1 : 0
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}

await main()
