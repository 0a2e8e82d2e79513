import { describe, expect, it } from 'vitest'
import { AKMA_PS, DcdWriter, MemorySink, iterateDcdFrames, readDcd, writeDcdBytes } from '../../../src/core/formats/dcd'
import { readPdb } from '../../../src/core/formats/pdb'
import { ala2Models, expectUserError, lcg } from './helpers'

const ala = readPdb(ala2Models(40), 'a.pdb')
const N = 22

function i32(b: Uint8Array, o: number, le = true): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getInt32(o, le)
}
function f32(b: Uint8Array, o: number): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getFloat32(o, true)
}
function ascii(b: Uint8Array, o: number, n: number): string {
  return String.fromCharCode(...b.subarray(o, o + n))
}

describe('DCD writer: layout byte by byte (CHARMM flavour, little-endian, 4-byte record markers)', () => {
  it('header records, title records, NATOM record, frame blocks', async () => {
    const bytes = await writeDcdBytes(ala.frames, 3, { nAtoms: N, titles: ['first title', 'second title'], frameIntervalPs: 2 })
    // record 1: 84-byte header
    expect(i32(bytes, 0)).toBe(84)
    expect(ascii(bytes, 4, 4)).toBe('CORD')
    expect(i32(bytes, 8)).toBe(3) // ICNTRL[0] NSET, patched by finish()
    expect(i32(bytes, 12)).toBe(0) // ISTART
    expect(i32(bytes, 16)).toBe(1) // NSAVC
    expect(i32(bytes, 20)).toBe(3) // NSTEP = ISTART + NSET·NSAVC
    for (const k of [4, 5, 6, 7, 8]) expect(i32(bytes, 8 + 4 * k)).toBe(0) // …, NAMNF = 0
    expect(f32(bytes, 8 + 36)).toBeCloseTo(2 / AKMA_PS, 3) // DELTA in AKMA units
    expect(i32(bytes, 8 + 40)).toBe(0) // no unit-cell records
    for (let k = 11; k <= 18; k++) expect(i32(bytes, 8 + 4 * k)).toBe(0)
    expect(i32(bytes, 8 + 76)).toBe(24) // CHARMM version
    expect(i32(bytes, 88)).toBe(84)
    // record 2: titles
    expect(i32(bytes, 92)).toBe(4 + 80 * 2)
    expect(i32(bytes, 96)).toBe(2)
    expect(ascii(bytes, 100, 80)).toBe('first title'.padEnd(80, ' '))
    expect(ascii(bytes, 180, 80)).toBe('second title'.padEnd(80, ' '))
    expect(i32(bytes, 260)).toBe(164)
    // record 3: NATOM
    expect(i32(bytes, 264)).toBe(4)
    expect(i32(bytes, 268)).toBe(N)
    expect(i32(bytes, 272)).toBe(4)
    // frames: X, Y, Z blocks of N float32, each between 4N markers
    const frameBytes = 3 * (8 + 4 * N)
    expect(bytes.length).toBe(276 + 3 * frameBytes)
    for (let f = 0; f < 3; f++) {
      for (let axis = 0; axis < 3; axis++) {
        const o = 276 + f * frameBytes + axis * (8 + 4 * N)
        expect(i32(bytes, o)).toBe(4 * N)
        expect(i32(bytes, o + 4 + 4 * N)).toBe(4 * N)
        for (let i = 0; i < N; i++) expect(f32(bytes, o + 4 + 4 * i)).toBe(ala.frames[f * 66 + 3 * i + axis])
      }
    }
  })

  it('with a unit cell: flag 1 and a 48-byte record of A, cos γ, B, cos β, cos α, C before each frame', async () => {
    const cell = { a: 30, b: 40, c: 50, alpha: 90, beta: 90, gamma: 120, spaceGroup: 'P 1', z: 1 }
    const bytes = await writeDcdBytes(ala.frames, 2, { nAtoms: N, cell })
    expect(i32(bytes, 48)).toBe(1)
    const dv = new DataView(bytes.buffer)
    expect(i32(bytes, 276)).toBe(48)
    expect([0, 1, 2, 3, 4, 5].map((k) => dv.getFloat64(280 + 8 * k, true))).toEqual([30, Math.cos((120 * Math.PI) / 180), 40, 0, 0, 50])
    expect(i32(bytes, 328)).toBe(48)
    const back = readDcd(bytes, 'c.dcd')
    expect(back.cells).toHaveLength(2)
    const c = back.cells![1]!
    expect([c.a, c.b, c.c]).toEqual([30, 40, 50])
    expect(c.alpha).toBe(90)
    expect(c.gamma).toBeCloseTo(120, 9)
    expect(Array.from(back.frames)).toEqual(Array.from(ala.frames.subarray(0, 2 * 66)))
  })
})

describe('DCD reader', () => {
  it('reads what the writer wrote, frame for frame, bit-exact (float32)', async () => {
    const bytes = await writeDcdBytes(ala.frames, 40, { nAtoms: N, frameIntervalPs: 5 })
    const r = readDcd(bytes, 'a.dcd')
    expect(r.nFrames).toBe(40)
    expect(r.nAtoms).toBe(N)
    expect(r.header.frameIntervalPs).toBeCloseTo(5, 5)
    expect(r.warnings).toEqual([])
    let f = 0
    for (const fr of iterateDcdFrames(bytes, 'a.dcd')) {
      expect(Array.from(fr.coords)).toEqual(Array.from(ala.frames.subarray(f * 66, (f + 1) * 66)))
      f++
    }
    expect(f).toBe(40)
  })

  it('round trip read → write → read of random coordinates within 1e-3 Å (exactly, float32)', async () => {
    const rnd = lcg(5)
    const frames = new Float32Array(7 * 30).map(() => (rnd() - 0.5) * 1e4)
    const r = readDcd(await writeDcdBytes(frames, 7, { nAtoms: 10 }), 'r.dcd')
    const again = readDcd(await writeDcdBytes(r.frames, 7, { nAtoms: 10 }), 'r2.dcd')
    expect(Array.from(again.frames)).toEqual(Array.from(frames))
  })

  it('streams through a sink: header first, frames appended, NSET patched at the end', async () => {
    const sink = new MemorySink()
    const w = new DcdWriter(sink, { nAtoms: N })
    await w.writeFrame(ala.frames, 0)
    expect(i32(sink.bytes(), 8)).toBe(0)
    await w.writeFrame(ala.frames, 66)
    expect(await w.finish()).toBe(2)
    expect(i32(sink.bytes(), 8)).toBe(2)
    // an unpatched file (writer killed) still reads, by file size, with a warning
    const b = sink.bytes().slice()
    new DataView(b.buffer).setInt32(8, 0, true)
    const r = readDcd(b, 'k.dcd')
    expect(r.nFrames).toBe(2)
    expect(r.warnings[0]).toContain('header says 0 frames (NSET) but the file holds 2')
  })

  it('reads big-endian files', async () => {
    const le = await writeDcdBytes(ala.frames, 2, { nAtoms: N })
    const be = le.slice()
    const dv = new DataView(be.buffer)
    const swap = (o: number): void => dv.setInt32(o, i32(le, o), false)
    for (let o = 0; o < 92; o += 4) if (o !== 4) swap(o)
    for (const o of [92, 96, 260, 264, 268, 272]) swap(o)
    for (let o = 276; o < be.length; o += 4) swap(o)
    const r = readDcd(be, 'be.dcd')
    expect(r.header.littleEndian).toBe(false)
    expect(Array.from(r.frames)).toEqual(Array.from(ala.frames.subarray(0, 132)))
  })

  it('errors are one-line UserErrors naming the file and byte offset', async () => {
    const ok = await writeDcdBytes(ala.frames, 2, { nAtoms: N })
    expectUserError(() => readDcd(new Uint8Array(0), 'e.dcd'), 'e.dcd: the file is empty')
    expectUserError(() => readDcd(new TextEncoder().encode('ATOM      1  N   ALA'), 'p.dcd'), 'p.dcd: byte 0: expected the record marker 84')
    expectUserError(() => readDcd(ok.subarray(0, ok.length - 5), 't.dcd'), `t.dcd: byte ${276 + 3 * (8 + 88)}: frame 2 is truncated (${3 * 96 - 5} of ${3 * 96} bytes)`)
    const bad = ok.slice()
    new DataView(bad.buffer).setInt32(276 + 96, 12345, true)
    expectUserError(() => readDcd(bad, 'm.dcd'), `m.dcd: byte ${276 + 96}: frame 1: expected the record marker 88 before the Y block of 22 atoms, found 12345`)
    const vel = ok.slice()
    vel.set([86, 69, 76, 68], 4)
    expectUserError(() => readDcd(vel, 'v.dcd'), 'v.dcd: byte 4: expected "CORD", found "VELD"')
  })
})
