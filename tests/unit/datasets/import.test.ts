import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import path from 'node:path'
import { deleteDataset, importDataset, listDatasets, readDataset, renameDataset, type DatasetManifest } from '../../../src/services/datasets'
import { readPdb, writePdb } from '../../../src/core/formats/pdb'
import { kabsch } from '../../../src/core/geometry/kabsch'
import { ALA2_ALL, ALA2_HEAVY, ala2AllText, ala2Models, expectUserErrorAsync, fixture, lcg } from '../formats/helpers'
import { sha256File, snapshotDir, tempDir } from './helpers'

const work = tempDir()
const project = path.join(work, 'project')
let all: DatasetManifest

beforeAll(async () => {
  mkdirSync(project)
  writeFileSync(path.join(project, 'project.json'), '{"name":"test"}\n')
  all = await importDataset(project, [ALA2_ALL])
})
afterAll(() => rmSync(work, { recursive: true, force: true }))

/** the plain RMS over coordinates of frame minus mean: an independent, literal implementation */
function sigmaLiteral(coords: Float32Array, F: number, d: number): number {
  let total = 0
  for (let k = 0; k < d; k++) {
    let m = 0
    for (let f = 0; f < F; f++) m += coords[f * d + k]!
    m /= F
    for (let f = 0; f < F; f++) total += (coords[f * d + k]! - m) ** 2
  }
  return Math.sqrt(total / (F * d))
}

function file(name: string, content: string | Uint8Array): string {
  const p = path.join(work, name)
  writeFileSync(p, content)
  return p
}

describe('importDataset: the ala2 snapshots', () => {
  it('5000 frames × 22 atoms, sources hashed, files laid out as documented', async () => {
    expect(all.frames).toBe(5000)
    expect(all.atoms.count).toBe(22)
    expect(all.dim).toBe(66)
    expect(all.sources).toEqual([{ path: ALA2_ALL, name: 'ala2_snapshots_all.pdb.gz', bytes: statSync(ALA2_ALL).size, sha256: sha256File(ALA2_ALL), gzip: true, frames: 5000, role: 'snapshots', format: 'pdb', compression: 'gzip', framesInFile: 5000, spacingPs: null }])
    const dir = path.join(project, 'datasets', all.id)
    expect(statSync(path.join(dir, 'coords.f32')).size).toBe(5000 * 66 * 4)
    const ds = await readDataset(project, all.id)
    expect(ds.manifest).toEqual(all)
    expect(ds.topology.atoms.map((a) => a.name).slice(0, 4)).toEqual(['CH3', 'HH31', 'HH32', 'HH33'])
    // topology.pdb holds the reference row (frame 0) of coords.f32, to PDB precision
    const top = readPdb(readFileSync(path.join(dir, 'topology.pdb'), 'latin1'), 'topology.pdb')
    for (let k = 0; k < 66; k++) expect(Math.abs(top.frames[k]! - ds.coords[k]!)).toBeLessThanOrEqual(5e-4)
  })

  it('frames are centred and optimally superposed on the reference (re-fitting changes nothing)', async () => {
    const { coords } = await readDataset(project, all.id)
    const ref = coords.subarray(0, 66)
    for (const f of [1, 17, 999, 4999]) {
      const x = coords.subarray(f * 66, (f + 1) * 66)
      let cx = 0, cy = 0, cz = 0, ss = 0
      for (let i = 0; i < 22; i++) {
        cx += x[3 * i]!
        cy += x[3 * i + 1]!
        cz += x[3 * i + 2]!
        for (let a = 0; a < 3; a++) ss += (x[3 * i + a]! - ref[3 * i + a]!) ** 2
      }
      expect(Math.hypot(cx, cy, cz) / 22).toBeLessThan(1e-5)
      const { R, rmsd } = kabsch(x, ref, 22)
      expect(Math.abs(rmsd - Math.sqrt(ss / 22))).toBeLessThan(1e-4)
      for (let k = 0; k < 9; k++) expect(R[k]!).toBeCloseTo(k % 4 === 0 ? 1 : 0, 4)
    }
  })

  it('σ_data, RMSF and the mean structure follow their definitions', async () => {
    const { coords } = await readDataset(project, all.id)
    expect(all.sigmaData).toBeCloseTo(sigmaLiteral(coords, 5000, 66), 9)
    const meanSq = all.rmsf.reduce((s, r) => s + r * r, 0) / 22
    expect(Math.sqrt(meanSq / 3)).toBeCloseTo(all.sigmaData, 5)
    let m0 = 0
    for (let f = 0; f < 5000; f++) m0 += coords[f * 66]!
    expect(all.meanStructure[0]).toBeCloseTo(m0 / 5000, 5)
    expect(all.duplicates).toMatchObject({ exact: 0, nearPairs: 0, thresholdA: 0.01, capped: false })
  })

  it('--select heavy of the all-atom file equals the heavy-atom file (same frames)', async () => {
    const a = await importDataset(project, [ALA2_ALL], { select: 'heavy' })
    const b = await importDataset(project, [ALA2_HEAVY])
    expect(a.atoms.count).toBe(10)
    expect(a.atoms.indices).toEqual([0, 4, 5, 6, 8, 10, 14, 15, 16, 18])
    expect(b.atoms.count).toBe(10)
    const da = await readDataset(project, a.id)
    const db = await readDataset(project, b.id)
    expect(da.topology.atoms.map((x) => x.name)).toEqual(db.topology.atoms.map((x) => x.name))
    let m = 0
    for (let k = 0; k < da.coords.length; k++) m = Math.max(m, Math.abs(da.coords[k]! - db.coords[k]!))
    expect(m).toBeLessThan(1e-4)
    expect(a.sigmaData).toBeCloseTo(b.sigmaData, 6)
    await deleteDataset(project, a.id)
    await deleteDataset(project, b.id)
  })
})

describe('importDataset: options and many files', () => {
  it('several files (plain and .gz) equal one file with the same frames; progress covers all bytes', async () => {
    const models = ala2Models(300)
    const head = models.slice(0, models.indexOf('MODEL'))
    const blocks = models.slice(models.indexOf('MODEL')).split(/(?<=ENDMDL\n)/)
    expect(blocks).toHaveLength(300)
    const f1 = file('part1.pdb', head + blocks.slice(0, 100).join(''))
    // a multi-member gzip file (as `cat a.gz b.gz` makes)
    const f2 = file('part2.pdb.gz', Buffer.concat([gzipSync(blocks.slice(100, 180).join('')), gzipSync(blocks.slice(180, 250).join('') + 'END\n')]))
    const f3 = file('part3.pdb', blocks.slice(250).join(''))
    const whole = file('whole.pdb', models)
    const p = path.join(work, 'multi')
    const events: { file: string; bytesDone: number; bytesTotal: number; frames: number }[] = []
    const m = await importDataset(p, [f1, f2, f3], { name: 'three parts', onProgress: (e) => events.push(e) })
    expect(m.name).toBe('three parts')
    expect(m.id).toMatch(/^three-parts-[0-9a-f]{6}$/)
    expect(m.sources.map((s) => [s.name, s.frames, s.gzip])).toEqual([['part1.pdb', 100, false], ['part2.pdb.gz', 150, true], ['part3.pdb', 50, false]])
    const total = [f1, f2, f3].reduce((s, f) => s + statSync(f).size, 0)
    expect(events.at(-1)).toEqual({ file: f3, bytesDone: total, bytesTotal: total, frames: 300 })
    const w = await importDataset(p, [whole])
    const a = await readDataset(p, m.id)
    const b = await readDataset(p, w.id)
    expect(Buffer.from(a.coords.buffer).equals(Buffer.from(b.coords.buffer))).toBe(true)
    expect((await listDatasets(p)).map((d) => d.id)).toEqual([m.id, w.id])
  })

  it('--no-align keeps coordinates as read; σ_data then is that of the raw frames', async () => {
    const text = ala2Models(200)
    const raw = readPdb(text, 'raw.pdb')
    const p = path.join(work, 'noalign')
    const m = await importDataset(p, [file('raw.pdb', text)], { align: false })
    expect(m.aligned).toBe(false)
    expect(m.alignmentRmsd).toBeNull()
    const ds = await readDataset(p, m.id)
    expect(Array.from(ds.coords)).toEqual(Array.from(raw.frames))
    expect(m.sigmaData).toBeCloseTo(sigmaLiteral(raw.frames, 200, 66), 9)
  })

  it('rigid-body moves of the input do not change the aligned dataset; referenceFrame chooses the reference', async () => {
    const raw = readPdb(ala2Models(120), 'r.pdb')
    const rnd = lcg(99)
    const moved = raw.frames.slice()
    for (let f = 0; f < 120; f++) {
      const q = [rnd() - 0.5, rnd() - 0.5, rnd() - 0.5, rnd() - 0.5]
      const n = Math.hypot(...q)
      const [a, b, c, d] = q.map((v) => v / n) as [number, number, number, number]
      const R = [a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c), 2 * (b * c + a * d), a * a - b * b + c * c - d * d, 2 * (c * d - a * b), 2 * (b * d - a * c), 2 * (c * d + a * b), a * a - b * b - c * c + d * d]
      const t = [(rnd() - 0.5) * 40, (rnd() - 0.5) * 40, (rnd() - 0.5) * 40]
      for (let i = 0; i < 22; i++) {
        const o = f * 66 + 3 * i
        const [x, y, z] = [raw.frames[o]!, raw.frames[o + 1]!, raw.frames[o + 2]!]
        for (let r = 0; r < 3; r++) moved[o + r] = R[3 * r]! * x + R[3 * r + 1]! * y + R[3 * r + 2]! * z + t[r]!
      }
    }
    const p = path.join(work, 'rigid')
    const m1 = await importDataset(p, [file('orig.pdb', writePdb(raw.topology, raw.frames, 120))], { referenceFrame: 7 })
    const m2 = await importDataset(p, [file('moved.pdb', writePdb(raw.topology, moved, 120))], { referenceFrame: 7 })
    const a = (await readDataset(p, m1.id)).coords
    const b = (await readDataset(p, m2.id)).coords
    // the moved copy's reference is rotated, so compare after superposing b's reference on a's
    const { R } = kabsch(b, a, 22, 7 * 66, 7 * 66)
    let worst = 0
    for (let f = 0; f < 120; f++) {
      for (let i = 0; i < 22; i++) {
        const o = f * 66 + 3 * i
        for (let r = 0; r < 3; r++) {
          const v = R[3 * r]! * b[o]! + R[3 * r + 1]! * b[o + 1]! + R[3 * r + 2]! * b[o + 2]!
          worst = Math.max(worst, Math.abs(v - a[o + r]!))
        }
      }
    }
    expect(worst).toBeLessThan(3e-3) // PDB rounding of the moved input is 5e-4 per coordinate
    expect(m2.sigmaData).toBeCloseTo(m1.sigmaData, 3)
    // reference row = frame 7 centred, unrotated
    let cx = 0
    for (let i = 0; i < 22; i++) cx += raw.frames[7 * 66 + 3 * i]!
    cx /= 22
    expect(a[7 * 66]!).toBeCloseTo(raw.frames[7 * 66]! - cx, 4)
    expect(m1.referenceFrame).toBe(7)
  })

  it('counts exact and near duplicates (RMSD < 0.01 Å) like a brute-force O(F²) search', async () => {
    const raw = readPdb(ala2Models(50), 'd.pdb')
    const frames = new Float32Array(60 * 66)
    frames.set(raw.frames)
    frames.set(raw.frames.subarray(0, 5 * 66), 50 * 66) // frames 50–54 copy 0–4
    frames.set(raw.frames.subarray(10 * 66, 15 * 66), 55 * 66) // 55–59 copy 10–14 …
    for (let f = 55; f < 60; f++) frames[f * 66 + 4] = frames[f * 66 + 4]! + 0.004 // … moved 0.004 Å on one coordinate
    const p = path.join(work, 'dups')
    const m = await importDataset(p, [file('dups.pdb', writePdb(raw.topology, frames, 60))])
    const { coords } = await readDataset(p, m.id)
    let exact = 0
    let near = 0
    for (let i = 0; i < 60; i++) {
      let isCopy = false
      for (let j = 0; j < i; j++) {
        let ss = 0
        let same = true
        for (let k = 0; k < 66; k++) {
          if (coords[i * 66 + k] !== coords[j * 66 + k]) same = false
          ss += (coords[i * 66 + k]! - coords[j * 66 + k]!) ** 2
        }
        if (same) isCopy = true
        else if (Math.sqrt(ss / 22) < 0.01) near++
      }
      if (isCopy) exact++
    }
    expect(exact).toBe(5)
    expect(near).toBe(5)
    expect(m.duplicates).toMatchObject({ exact, nearPairs: near, capped: false })
    expect(m.warnings).toContain('5 of 60 frames are exact duplicates of earlier frames')
  })
})

describe('listDatasets, renameDataset, deleteDataset', () => {
  it('lists, renames and deletes', async () => {
    const p = path.join(work, 'crud')
    expect(await listDatasets(p)).toEqual([])
    const m = await importDataset(p, [file('crud.pdb', ala2Models(20))], { select: 'heavy' })
    expect((await listDatasets(p)).map((d) => d.name)).toEqual(['crud'])
    const r = await renameDataset(p, m.id, 'Alanine dipeptide, heavy atoms')
    expect(r.name).toBe('Alanine dipeptide, heavy atoms')
    expect((await readDataset(p, m.id)).manifest.name).toBe('Alanine dipeptide, heavy atoms')
    await expectUserErrorAsync(renameDataset(p, m.id, '  '), 'dataset name must be 1–200 characters')
    await deleteDataset(p, m.id)
    expect(await listDatasets(p)).toEqual([])
    expect(snapshotDir(path.join(p, 'datasets'))).toEqual({})
    await expectUserErrorAsync(readDataset(p, m.id), `dataset '${m.id}' not found`)
    await expectUserErrorAsync(readDataset(p, '../etc'), "dataset id '../etc' is not valid")
  })

  it('a damaged coords file is reported, not misread', async () => {
    const p = path.join(work, 'damaged')
    const m = await importDataset(p, [file('dmg.pdb', ala2Models(10))])
    writeFileSync(path.join(p, 'datasets', m.id, 'coords.f32'), new Uint8Array(12))
    await expectUserErrorAsync(readDataset(p, m.id), 'coords.f32: 12 bytes, expected 2640 (10 frames × 66 coordinates × 4); the dataset is damaged')
  })
})

describe('bad input: one-line UserError naming the file; the project stays byte-for-byte unchanged', () => {
  const ref = ala2Models(2)
  const line = (s: string, n: number): string => s.split('\n')[n - 1]!
  const cases: [string, () => string[], (string | RegExp)[], { maxFileBytes?: number; select?: 'ca' }?][] = [
    ['empty file', () => [file('empty.pdb', '')], ['empty.pdb: the file is empty']],
    ['binary garbage', () => [file('garbage.pdb', Uint8Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 256))], ['garbage.pdb: is binary data in no format this app reads']],
    ['truncated line', () => [file('trunc.pdb', ref.replace(line(ref, 20), line(ref, 20).slice(0, 40)))], ['trunc.pdb: line 20: ATOM record is truncated (38 characters); coordinates need columns 31–54']],
    ['non-numeric coordinates', () => [file('nonnum.pdb', ref.replace(line(ref, 33), line(ref, 33).slice(0, 31) + 'abcdefg' + line(ref, 33).slice(38)))], ["nonnum.pdb: line 33: x coordinate 'abcdefg' in columns 31–38 is not a number", 'is not a number']],
    ['a 1-atom file', () => [file('one.pdb', 'MODEL 1\nATOM      1  O   MOL A   1       1.000   2.000   3.000  1.00  0.00           O\nENDMDL\nMODEL 2\nATOM      1  O   MOL A   1       1.500   2.000   3.000  1.00  0.00           O\nENDMDL\n')], ["one.pdb: 1 atom selected ('all' of 1); a dataset needs at least 3 atoms"]],
    ['a water-only file (datasets leave out solvent)', () => [file('wat.pdb', 'MODEL 1\nATOM      1  O   HOH A   1       1.000   2.000   3.000  1.00  0.00           O\nENDMDL\nMODEL 2\nATOM      1  O   HOH A   1       1.500   2.000   3.000  1.00  0.00           O\nENDMDL\n')], ["wat.pdb: 0 atoms selected ('all' of 1; left out 1 water atom of selection 'all'"]],
    ['a 1-atom selection', () => [file('ca.pdb', ref)], ["ca.pdb: 1 atom selected ('ca' of 22)"], { select: 'ca' }],
    ['a single frame', () => [file('single.pdb', fixture('real_world.pdb'))], ['single.pdb: only 1 frame; a dataset needs at least 2 snapshots']],
    ['mixed topologies across files', () => [file('top1.pdb', ref), file('top2.pdb', ref.replace(/ HB2 ALA/g, ' HB9 ALA'))], ["top2.pdb: atom 13 is 'HB9 ALA A 2' but top1.pdb has 'HB2 ALA A 2' there; all snapshots must share one topology"]],
    ['different atom counts across files', () => [file('cnt1.pdb', ref), file('cnt2.pdb', ref.replace(/^ATOM {5}22 .*\n/gm, ''))], ["cnt2.pdb: 21 atoms per model but cnt1.pdb has 22 (first missing atom: 'HH33 NME A 3')"]],
    // models that differ in a few atoms keep the common ones (real-corpus.test.ts); in more than a tenth of them, refused
    ['mismatched models inside one file', () => [file('models.pdb', ref.replace(/^(ATOM {6}2 )HH31/m, '$1HX31').replace(/^(ATOM {6}3 )HH32/m, '$1HX32').replace(/^(ATOM {6}4 )HH33/m, '$1HX33'))], ['models.pdb: the ', 'models list different atoms: 3 of the 22 selected atoms of model 1 are not in every model (first: HX31 ACE A 1, only in model 1)']],
    // read by content (docs/formats.md): an XYZ named .pdb is read as XYZ, and one frame is too few
    ['an XYZ file renamed .pdb', () => [file('water.pdb', fixture('xyz_renamed.pdb'))], ['water.pdb: only 1 frame']],
    ['a missing file', () => [path.join(work, 'nope.pdb')], [`${path.join(work, 'nope.pdb')}: no such file`]],
    ['a missing second file (checked before anything is read)', () => [file('ok.pdb', ref), path.join(work, 'nope2.pdb')], ['nope2.pdb: no such file']],
    ['an oversized file (limit injected)', () => [file('big.pdb', ref)], ['big.pdb: ', 'is over the 1000 B import limit per file; split it'], { maxFileBytes: 1000 }],
    ['a .gz that decompresses past the limit', () => [file('bomb.pdb.gz', gzipSync(ala2Models(40)))], ['bomb.pdb.gz: decompresses to more than the 10.0 KiB import limit'], { maxFileBytes: 10 * 1024 }],
    ['a corrupt .gz', () => [file('cut.pdb.gz', gzipSync(ala2Models(40)).subarray(0, 3000))], ['cut.pdb.gz: gzip data is corrupt or truncated']],
    ['no files', () => [], ['dataset import: no input files']],
  ]
  for (const [label, make, fragments, opts] of cases) {
    it(label, async () => {
      const files = make()
      const before = snapshotDir(project)
      const fresh = path.join(work, `fresh-${label.replace(/\W+/g, '-')}`)
      await expectUserErrorAsync(importDataset(project, files, opts ?? {}), ...fragments)
      await expectUserErrorAsync(importDataset(fresh, files, opts ?? {}), ...fragments)
      expect(snapshotDir(project)).toEqual(before)
      expect(snapshotDir(fresh)).toEqual({ '.': 'absent' })
    })
  }

  it('a cancelled import (AbortSignal) writes nothing', async () => {
    const before = snapshotDir(project)
    const ac = new AbortController()
    const big = file('cancel.pdb', ala2AllText())
    await expectUserErrorAsync(importDataset(project, [big], { signal: ac.signal, onProgress: () => ac.abort() }), 'cancel.pdb: import cancelled; nothing was written')
    expect(snapshotDir(project)).toEqual(before)
  })
})

describe('a large input is streamed', () => {
  it('≈ 20 MB multi-model PDB: read in 1 MiB chunks with progress, correct counts, duplicates found', async () => {
    const text = ala2AllText()
    const start = text.indexOf('MODEL')
    const body = text.slice(start, text.lastIndexOf('END\n'))
    const blocks = body.split(/(?<=ENDMDL\n)/)
    const big = file('big20.pdb', text.slice(0, start) + body + body + blocks.slice(0, 1500).join('') + 'END\n')
    const size = statSync(big).size
    expect(size).toBeGreaterThan(19e6)
    const events: { bytesDone: number; frames: number }[] = []
    const p = path.join(work, 'big')
    const m = await importDataset(p, [big], { select: 'heavy', onProgress: (e) => events.push({ bytesDone: e.bytesDone, frames: e.frames }) })
    expect(m.frames).toBe(11500)
    expect(m.atoms.count).toBe(10)
    expect(events.length).toBeGreaterThanOrEqual(Math.floor(size / 2 ** 20))
    for (let i = 1; i < events.length; i++) {
      expect(events[i]!.bytesDone).toBeGreaterThanOrEqual(events[i - 1]!.bytesDone)
      expect(events[i]!.bytesDone - events[i - 1]!.bytesDone).toBeLessThanOrEqual(2 ** 20)
    }
    expect(events.at(-1)!.bytesDone).toBe(size)
    // frames arrive while the file is read, not at the end
    expect(events[Math.floor(events.length / 2)]!.frames).toBeGreaterThan(3000)
    expect(m.duplicates.exact).toBe(6500)
    expect(statSync(path.join(p, 'datasets', m.id, 'coords.f32')).size).toBe(11500 * 30 * 4)
  })
})
