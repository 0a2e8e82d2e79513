/**
 * The new readers on their own (docs/formats.md): content identification of every signature,
 * bzip2 against the bzip2 program's output, round trips through our writers (GRO, TRR, XYZ, PDB →
 * mmCIF/PQR text), label vs auth fields in mmCIF, extended XYZ columns, and one-line refusals.
 * Coordinates round-trip within the writers' precision: GRO %8.3f nm (±5e-4 nm = ±5e-3 Å), TRR
 * float32 nm (relative 6e-8), XYZ %.5f Å (±5e-6 Å).
 */
import { describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { gunzipSync, gzipSync } from 'node:zlib'
import { sniffBytes } from '../../../src/core/formats/detect'
import { bunzip2Bytes, isBzip2 } from '../../../src/core/formats/bzip2'
import { readGro, writeGro } from '../../../src/core/formats/gro'
import { readTrr, writeTrrBytes } from '../../../src/core/formats/trr'
import { readCif, writeCif } from '../../../src/core/formats/cif'
import { readPqr, writePqr } from '../../../src/core/formats/pqr'
import { readTinkerXyz, readXyz, writeXyz } from '../../../src/core/formats/xyz'
import { readPdb } from '../../../src/core/formats/pdb'
import { readStructure, readTrajectory, unwrap } from '../../../src/core/formats/snapshots'
import { readXtc, writeXtcBytes } from '../../../src/core/formats/xtc'
import { frameKeeper, sampleFrames } from '../../../src/services/datasets/source'
import { writeDcdBytes } from '../../../src/core/formats/dcd'
import { ROOT, ala2Models, expectUserError, lcg } from './helpers'

const REAL = path.join(ROOT, 'tests/fixtures/real')
const enc = (s: string): Uint8Array => new TextEncoder().encode(s)
const ala2 = readPdb(ala2Models(6), 'ala2.pdb')
const N = ala2.topology.atoms.length

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length)
  let m = 0
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!))
  return m
}

describe('identification by content', () => {
  it('names every signature', async () => {
    const head = (name: string): Uint8Array => new Uint8Array(readFileSync(path.join(REAL, name)))
    expect(sniffBytes(head('ala2_40.xtc'))).toBe('xtc')
    expect(sniffBytes(head('ala2_40.trr'))).toBe('trr')
    expect(sniffBytes(head('ala2_40.dcd'))).toBe('dcd')
    expect(sniffBytes(head('ala2_4.xyz.bz2'))).toBe('bzip2')
    expect(sniffBytes(head('ala2_4.xyz.gz'))).toBe('gzip')
    expect(sniffBytes(head('two_pdbs.tar'))).toBe('tar')
    expect(sniffBytes(head('ala2_top.zip'))).toBe('zip')
    expect(sniffBytes(head('ala2_top.pdb.xz'))).toBe('xz')
    expect(sniffBytes(head('head_only.mmtf'))).toBe('mmtf')
    expect(sniffBytes(head('ala2_3models.cif'))).toBe('cif')
    expect(sniffBytes(head('ala2_2.pqr'))).toBe('pqr')
    expect(sniffBytes(head('ala2_3.arc'))).toBe('tinker')
    expect(sniffBytes(head('ala2_2.extxyz'))).toBe('xyz')
    expect(sniffBytes(head('ala2_top.gro'))).toBe('gro')
    expect(sniffBytes(new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 0, 0]))).toBe('zstd')
    expect(sniffBytes(Uint8Array.from([0x83, 0xaa, ...enc('dataBlocks'), 0x90]))).toBe('bcif')
    expect(sniffBytes(writeXtcBytes(ala2.frames, 2, { nAtoms: N }))).toBe('xtc')
    expect(sniffBytes(await writeDcdBytes(ala2.frames, 2, { nAtoms: N }))).toBe('dcd')
  })

  it('a decompressed file is identified and its own problem reported as its own (not "gzip data is corrupt")', () => {
    const xyz = gzipSync(Buffer.from('3\n\nC 0 0 0\nC 1 0 0\nC 0 1 0\n'))
    expect(unwrap(new Uint8Array(xyz), 'a.xyz.gz').kind).toBe('xyz')
    const bad = gzipSync(Buffer.from('3\n\nC 0 0 0\nC 1 0 zero\nC 0 1 0\n'))
    expectUserError(() => readStructure(unwrap(new Uint8Array(bad), 'b.xyz.gz'), 'b.xyz.gz'), "b.xyz.gz: line 4: z coordinate 'zero' is not a number")
    const tgz = gzipSync(readFileSync(path.join(REAL, 'two_pdbs.tar')))
    expectUserError(() => unwrap(new Uint8Array(tgz), 'x.tgz'), 'x.tgz: is a gzip-compressed file that holds a tar archive; extract it (tar -xf FILE)')
    const twice = gzipSync(gzipSync(Buffer.from('x')))
    expectUserError(() => unwrap(new Uint8Array(twice), 'x.gz.gz'), 'compressed twice')
  })
})

describe('bzip2', () => {
  it('decodes the bzip2 program’s output byte for byte (one stream, and two concatenated)', () => {
    const bz = new Uint8Array(readFileSync(path.join(REAL, 'ala2_4.xyz.bz2')))
    const ref = gunzipSync(readFileSync(path.join(REAL, 'ala2_4.xyz.gz')))
    expect(isBzip2(bz)).toBe(true)
    expect(Buffer.from(bunzip2Bytes(bz, 'a.bz2')).equals(ref)).toBe(true)
    const two = new Uint8Array([...bz, ...bz])
    expect(Buffer.from(bunzip2Bytes(two, 'b.bz2')).equals(Buffer.concat([ref, ref]))).toBe(true)
  })

  it('truncated, corrupt or oversized bzip2 is a one-line UserError naming the file', () => {
    const bz = new Uint8Array(readFileSync(path.join(REAL, 'ala2_4.xyz.bz2')))
    expectUserError(() => bunzip2Bytes(bz.subarray(0, bz.length - 40), 'cut.bz2'), 'cut.bz2: bzip2 data is corrupt or truncated')
    const flipped = bz.slice()
    flipped[200] = flipped[200]! ^ 0x10
    expectUserError(() => bunzip2Bytes(flipped, 'flip.bz2'), 'flip.bz2: bzip2 data is corrupt')
    expectUserError(() => bunzip2Bytes(bz, 'big.bz2', 1000), 'big.bz2: decompresses to more than 1000 bytes')
  })
})

describe('round trips through our writers', () => {
  it('GRO: 6 frames within %8.3f nm; times from t=', () => {
    const text = writeGro(ala2.topology, ala2.frames, 6, [3, 3, 3])
    const r = readGro(text, 'rt.gro')
    expect(r.nFrames).toBe(6)
    expect(maxDiff(r.frames, ala2.frames)).toBeLessThanOrEqual(5.001e-3)
    expect(r.timesPs).toEqual([0, 1, 2, 3, 4, 5])
    expect(r.topology.atoms.map((a) => a.name)).toEqual(ala2.topology.atoms.map((a) => a.name))
    expect(r.topology.atoms.map((a) => a.element)).toEqual(ala2.topology.atoms.map((a) => a.element))
    expect(r.topology.cell).toMatchObject({ a: 30, b: 30, c: 30, alpha: 90, beta: 90, gamma: 90 })
  })

  it('TRR, single and double precision: frames, steps and times', () => {
    for (const double of [false, true]) {
      const r = readTrr(writeTrrBytes(ala2.frames, 6, N, { frameIntervalPs: 2.5, double }), 'rt.trr')
      expect([r.nFrames, r.nAtoms, r.doublePrecision]).toEqual([6, N, double])
      expect(maxDiff(r.frames, ala2.frames)).toBeLessThan(1e-5)
      expect(Array.from(r.timesPs)).toEqual([0, 2.5, 5, 7.5, 10, 12.5])
    }
  })

  it('DCD frame times from the header ((ISTART + f·NSAVC)·DELTA) when it has a time step', async () => {
    const t = readTrajectory(unwrap(await writeDcdBytes(ala2.frames, 6, { nAtoms: N, frameIntervalPs: 2 }), 'd.dcd'), 'd.dcd')
    // DELTA is stored as float32 (relative error ≤ 6e-8): 6 decimals are exact here
    expect(t.timesPs!.map((v) => +v.toFixed(6))).toEqual([0, 2, 4, 6, 8, 10])
    expect(maxDiff(t.frames, ala2.frames)).toBe(0)
  })

  it('TRR cut inside a frame keeps the complete frames with a warning; not-a-TRR is refused', () => {
    const bytes = writeTrrBytes(ala2.frames, 3, N)
    const r = readTrr(bytes.subarray(0, bytes.length - 10), 'cut.trr')
    expect(r.nFrames).toBe(2)
    expect(r.warnings[0]).toContain('cut.trr: the file ends inside frame 3')
    expectUserError(() => readTrr(enc('hello world, not a trr'), 'x.trr'), 'x.trr: expected the TRR magic number 1993 at byte 0')
  })

  it('mmCIF and PQR: 6 frames of ala2 within %.3f Å, names, residues, chains and elements kept', () => {
    const fields = (t: typeof ala2.topology): string[] => t.atoms.map((a) => `${a.name}/${a.resName}/${a.chainId}/${a.resSeq}/${a.element}/${a.record}`)
    const c = readCif(writeCif(ala2.topology, ala2.frames, 6, 'ala2 rt'), 'rt.cif')
    expect(c.nFrames).toBe(6)
    expect(c.modelNumbers).toEqual([1, 2, 3, 4, 5, 6])
    expect(maxDiff(c.frames, ala2.frames)).toBeLessThanOrEqual(5.001e-4)
    expect(fields(c.topology)).toEqual(fields(ala2.topology))
    const q = readPqr(writePqr(ala2.topology, ala2.frames, 6), 'rt.pqr')
    expect(q.nFrames).toBe(6)
    expect(maxDiff(q.frames, ala2.frames)).toBeLessThanOrEqual(5.001e-4)
    expect(q.topology.atoms.map((a) => `${a.name}/${a.resName}/${a.chainId}/${a.resSeq}/${a.element}`)).toEqual(ala2.topology.atoms.map((a) => `${a.name}/${a.resName}/${a.chainId}/${a.resSeq}/${a.element}`))
    // a name with a quote and a space survives the CIF quoting rules
    const odd = { atoms: [{ ...ala2.topology.atoms[0]!, name: "C1'" }, { ...ala2.topology.atoms[1]!, name: 'H 1' }, ala2.topology.atoms[2]!] }
    expect(readCif(writeCif(odd, ala2.frames, 1), 'odd.cif').topology.atoms.map((a) => a.name)).toEqual(["C1'", 'H 1', ala2.topology.atoms[2]!.name])
  })

  it('XYZ with extended columns and Tinker ARC read the same coordinates as plain XYZ', () => {
    const symbols = ala2.topology.atoms.map((a) => a.element)
    const plain = readXyz(writeXyz(symbols, ala2.frames, 2), 'p.xyz')
    const ext = plain.comments.map((_, f) => {
      const lines = [String(N), 'Properties=id:I:1:species:S:1:pos:R:3 Lattice="10 0 0 0 11 0 0 0 12"']
      for (let i = 0; i < N; i++) lines.push(`${i + 1} ${symbols[i]} ${[0, 1, 2].map((k) => ala2.frames[f * 3 * N + 3 * i + k]!.toFixed(5)).join(' ')}`)
      return lines.join('\n')
    })
    const e = readXyz(ext.join('\n') + '\n', 'e.xyz')
    expect(e.symbols).toEqual(plain.symbols)
    expect(maxDiff(e.frames, plain.frames)).toBe(0)
    expect(e.lattice).toEqual([10, 0, 0, 0, 11, 0, 0, 0, 12])
    expectUserError(() => readXyz(`1\nProperties=species:S:1:vel:R:3\nC 0 0 0\n`, 'v.xyz'), 'v.xyz: line 2: extended-XYZ Properties', 'has no species or no pos:R:3 column')
    const tinker = `3  water\n     1  O    0.0 0.0 0.0    1  2 3\n     2  H    0.95 0.0 0.0   2  1\n     3  H    -0.3 0.9 0.0   2  1\n`
    const t = readTinkerXyz(tinker, 'w.xyz')
    expect([t.nFrames, t.symbols.join(' ')]).toEqual([1, 'O H H'])
    expect(Array.from(t.frames)).toEqual([0, 0, 0, 0.95, 0, 0, -0.3, 0.9, 0].map(Math.fround))
  })
})

describe('mmCIF', () => {
  const cif = (rows: string, extra = ''): string =>
    `data_T\n${extra}loop_\n_atom_site.group_PDB\n_atom_site.id\n_atom_site.type_symbol\n_atom_site.label_atom_id\n_atom_site.label_alt_id\n_atom_site.label_comp_id\n_atom_site.label_asym_id\n_atom_site.label_seq_id\n_atom_site.Cartn_x\n_atom_site.Cartn_y\n_atom_site.Cartn_z\n_atom_site.occupancy\n_atom_site.auth_seq_id\n_atom_site.auth_asym_id\n_atom_site.pdbx_PDB_model_num\n${rows}#\n`
  it('auth fields for numbering and chain, quoted names, altlocs one per residue, models', () => {
    const rows = [
      `ATOM 1 N N . ALA B 1 1.0 2.0 3.0 1.0 10 A 1`,
      `ATOM 2 C CA A ALA B 1 1.5 2.0 3.0 0.3 10 A 1`,
      `ATOM 3 C CA B ALA B 1 1.6 2.0 3.0 0.7 10 A 1`,
      `ATOM 4 C "C1'" . ALA B 1 2.0 2.0 3.0 1.0 10 A 1`,
      `ATOM 5 N N . ALA B 1 1.1 2.0 3.0 1.0 10 A 2`,
      `ATOM 6 C CA B ALA B 1 1.7 2.0 3.0 0.7 10 A 2`,
      `ATOM 7 C "C1'" . ALA B 1 2.1 2.0 3.0 1.0 10 A 2`,
    ].join('\n') + '\n'
    const r = readCif(cif(rows), 't.cif')
    expect(r.nFrames).toBe(2)
    expect(r.topology.atoms.map((a) => `${a.name}/${a.chainId}/${a.resSeq}/${a.altLoc}`)).toEqual(['N/A/10/', "CA/A/10/B", "C1'/A/10/"])
    expect(Array.from(r.frames)).toEqual([1, 2, 3, 1.6, 2, 3, 2, 2, 3, 1.1, 2, 3, 1.7, 2, 3, 2.1, 2, 3].map(Math.fround))
  })
  it('refusals: no atom_site, fractional coordinates, unclosed text field, ragged loop', () => {
    expectUserError(() => readCif('data_X\n_cell.length_a 5\n', 'x.cif'), 'x.cif: no _atom_site table')
    expectUserError(() => readCif('data_X\nloop_\n_atom_site_label\n_atom_site.fract_x\nC1 0.5\n', 'f.cif'), 'f.cif: the _atom_site table has no Cartn_x/y/z columns (it has fractional coordinates')
    expectUserError(() => readCif('data_X\n_struct.title\n;unclosed\n', 'u.cif'), 'u.cif: line 3: a text field opened with')
    expectUserError(() => readCif(cif('ATOM 1 N N . ALA B 1 1.0 2.0\n'), 'r.cif'), 'r.cif: line ', 'not a whole number of rows')
  })
})

describe('PQR', () => {
  it('with and without chain, insertion codes; bad numbers refused', () => {
    const r = readPqr('ATOM      1  N   ALA A   1      1.000   2.000   3.000 -0.3000 1.8240\nATOM      2  CA  ALA     1A    -1.5 2.5e0 3.25  0.1 1.9\n', 'p.pqr')
    expect(r.topology.atoms.map((a) => `${a.name}/${a.chainId}/${a.resSeq}${a.iCode}`)).toEqual(['N/A/1', 'CA//1A'])
    expect(Array.from(r.frames)).toEqual([1, 2, 3, -1.5, 2.5, 3.25].map(Math.fround))
    expectUserError(() => readPqr('ATOM 1 N ALA 1 1.0 x 3.0 0.1 1.5\n', 'b.pqr'), "b.pqr: line 1: y 'x' is not a number")
  })
})

describe('size limits on decompressed content', () => {
  it('a .xyz.gz that decompresses past the limit is refused while decompressing', () => {
    const big = gzipSync(Buffer.from(`3\n\n${'C 0 0 0\n'.repeat(3)}`.repeat(2000)))
    expectUserError(() => unwrap(new Uint8Array(big), 'bomb.xyz.gz', 10_000), 'bomb.xyz.gz: decompresses to more than 10000 bytes')
  })
})

describe('thinning while reading (a long run never fills memory)', () => {
  it('readXtc/readTrr/readTrajectory(DCD) with keep store only the kept frames and count the rest', async () => {
    const keepEven = (i: number): boolean => i % 2 === 0
    const x = readXtc(writeXtcBytes(ala2.frames, 6, { nAtoms: N, frameIntervalPs: 1 }), 'k.xtc', keepEven)
    const t = readTrr(writeTrrBytes(ala2.frames, 6, N), 'k.trr', keepEven)
    const d = readTrajectory(unwrap(await writeDcdBytes(ala2.frames, 6, { nAtoms: N, frameIntervalPs: 1 }), 'k.dcd'), 'k.dcd', keepEven)
    for (const r of [x, t, d]) {
      expect([r.nFrames, r.framesInFile]).toEqual([3, 6])
      expect(r.frames.length).toBe(3 * 3 * N)
      // the kept frames are frames 0, 2, 4 (XTC to its 1e-3 nm grid, TRR and DCD float32)
      for (const [k, f] of [0, 2, 4].entries()) expect(maxDiff(r.frames.subarray(k * 3 * N, (k + 1) * 3 * N), ala2.frames.subarray(f * 3 * N, (f + 1) * 3 * N))).toBeLessThan(6e-3)
    }
    expect(Array.from(x.timesPs)).toEqual([0, 2, 4])
  })

  it('frameKeeper keeps exactly the frames sampleFrames picks (random lengths, times, strides, windows)', () => {
    const rnd = lcg(7)
    for (let trial = 0; trial < 500; trial++) {
      const n = Math.floor(rnd() * 60)
      const times = Array.from({ length: n }, (_, f) => f * 2.5 + (rnd() < 0.1 ? 0.5 : 0))
      const s = { stride: 1 + Math.floor(rnd() * 6), beginPs: rnd() < 0.5 ? rnd() * 80 : undefined, endPs: rnd() < 0.5 ? 20 + rnd() * 120 : undefined }
      if (s.beginPs !== undefined && s.endPs !== undefined && s.endPs < s.beginPs) continue
      const keep = frameKeeper(s, 'f')
      const streamed = times.map((t, f) => (keep(f, t) ? f : -1)).filter((f) => f >= 0)
      expect(streamed).toEqual(sampleFrames(n, times, s, 'f'))
    }
  })
})
