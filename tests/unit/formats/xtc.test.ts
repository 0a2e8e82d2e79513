/**
 * XTC writer and reader (src/core/formats/xtc.ts): byte layout, round trips on the ala2 snapshots
 * and on random coordinates (clustered, spread out, beyond the 2²⁴ mixed-radix limit, ≤ 9 atoms
 * uncompressed), other precisions, a truncated file, a fuzzed reader (only UserErrors), and MDTraj
 * both ways plus byte identity with MDTraj's writer (xdrfile) for the same float32 coordinates.
 * The MDTraj part is skipped, with the reason printed, when `/usr/bin/python3 -c 'import mdtraj'`
 * fails (Debian: apt-get install python3-mdtraj).
 *
 * Tolerance of a round trip: the writer stores trunc(x·p ± 0.5) for x in nm at precision p, so
 * the decoded value differs from x by at most 0.5/p nm (0.0005 nm = 0.005 Å at p = 1000), plus
 * float32 rounding of x/10, of int·(1/p) and of ·10 (a few ulp of |x|, i.e. ≤ 4·2⁻²⁴·|x|).
 */
import { afterAll, describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { spawnSync } from 'node:child_process'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { UserError } from '../../../src/core/errors'
import { MemorySink } from '../../../src/core/formats/dcd'
import { readPdb } from '../../../src/core/formats/pdb'
import { XTC_MAGIC, XtcEncoder, XtcWriter, boxFromCell, cellFromBox, readXtc, writeXtcBytes } from '../../../src/core/formats/xtc'
import { ala2Models, expectUserError, lcg } from './helpers'
import { tempDir } from '../datasets/helpers'

const ala = readPdb(ala2Models(60), 'ala2.pdb')
const N = 22
const F = ala.nFrames

function i32(b: Uint8Array, o: number): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getInt32(o)
}
function f32(b: Uint8Array, o: number): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getFloat32(o)
}

/** largest |decoded − original| over all coordinates minus the allowed error (≤ 0 passes) */
function excess(orig: Float32Array, back: Float32Array, precision: number): number {
  expect(back.length).toBe(orig.length)
  let worst = -Infinity
  for (let k = 0; k < orig.length; k++) {
    const x = orig[k]!
    const allowed = (10 * 0.5) / precision + 4 * 2 ** -24 * Math.abs(x) + 1e-12
    worst = Math.max(worst, Math.abs(back[k]! - x) - allowed)
  }
  return worst
}

/**
 * Whether a decoded value (Å) is x/10 rounded to the integer grid of precision p (nm): the nearest
 * grid point, or, within 1e-3 of a tie (float32 rounding of x·p decides those), either neighbour.
 */
function onGrid(x: number, back: number, precision: number): boolean {
  const v = Math.fround(x / 10) * precision
  const got = Math.round((back / 10) * precision)
  if (Math.abs(got - (back / 10) * precision) > 1e-3 * Math.max(1, Math.abs(v) * 1e-4)) return false
  const frac = Math.abs(v - Math.trunc(v))
  if (Math.abs(frac - 0.5) < 1e-3) return got === Math.floor(v) || got === Math.ceil(v)
  return got === Math.sign(v) * Math.floor(Math.abs(v) + 0.5)
}

/** byte offset of every frame (from the packed sizes in the frame headers) */
function frameOffsets(bytes: Uint8Array): number[] {
  const out: number[] = []
  let o = 0
  while (o < bytes.length) {
    out.push(o)
    const n = i32(bytes, o + 4)
    o += n <= 9 ? 56 + 12 * n : 92 + Math.ceil(i32(bytes, o + 88) / 4) * 4
  }
  return out
}

describe('XTC layout (big-endian XDR)', () => {
  it('frame header, box, precision and packed block of a 22-atom frame', () => {
    const box = boxFromCell({ a: 30, b: 40, c: 50, alpha: 90, beta: 90, gamma: 90, spaceGroup: 'P 1', z: 1 })
    const bytes = writeXtcBytes(ala.frames, 2, { nAtoms: N, frameIntervalPs: 2.5, boxNm: box })
    expect(i32(bytes, 0)).toBe(XTC_MAGIC)
    expect(i32(bytes, 4)).toBe(N)
    expect(i32(bytes, 8)).toBe(0) // step
    expect(f32(bytes, 12)).toBe(0) // time ps
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8].map((k) => f32(bytes, 16 + 4 * k))).toEqual(Array.from(box))
    expect(Array.from(box)).toEqual([3, 0, 0, 0, 4, 0, 0, 0, 5])
    expect(i32(bytes, 52)).toBe(N) // natoms again, before the coordinates
    expect(f32(bytes, 56)).toBe(1000) // precision
    // minint/maxint bracket the rounded coordinates of frame 0
    for (let k = 0; k < 3; k++) {
      let lo = Infinity
      let hi = -Infinity
      for (let a = 0; a < N; a++) {
        const v = Math.round((ala.frames[3 * a + k]! / 10) * 1000)
        lo = Math.min(lo, v)
        hi = Math.max(hi, v)
      }
      expect(i32(bytes, 60 + 4 * k)).toBe(lo)
      expect(i32(bytes, 72 + 4 * k)).toBe(hi)
    }
    const smallidx = i32(bytes, 84)
    expect(smallidx).toBeGreaterThanOrEqual(9)
    expect(smallidx).toBeLessThan(73)
    const nbytes = i32(bytes, 88)
    const frame1 = 92 + Math.ceil(nbytes / 4) * 4
    expect(i32(bytes, frame1)).toBe(XTC_MAGIC) // the second frame starts after the 4-byte-padded block
    expect(i32(bytes, frame1 + 8)).toBe(1)
    expect(f32(bytes, frame1 + 12)).toBe(2.5)
    // compression: 22 atoms in fewer bytes than 3 float32 each
    expect(nbytes).toBeLessThan(12 * N)
  })

  it('≤ 9 atoms are stored uncompressed: 3N float32 in nm, no precision', () => {
    const x = new Float32Array([1.5, -2.25, 3, 10, 20, 30.5])
    const bytes = writeXtcBytes(x, 1, { nAtoms: 2 })
    expect(bytes.length).toBe(56 + 24)
    expect(i32(bytes, 52)).toBe(2)
    expect([0, 1, 2, 3, 4, 5].map((k) => f32(bytes, 56 + 4 * k))).toEqual(Array.from(x, (v) => Math.fround(v / 10)))
  })

  it('box ↔ unit cell (triclinic, GROMACS convention: a along x, b in the xy plane)', () => {
    const cell = { a: 20, b: 30, c: 40, alpha: 80, beta: 95, gamma: 110, spaceGroup: 'P 1', z: 1 }
    const box = boxFromCell(cell)
    expect(box[1]).toBe(0)
    expect(box[2]).toBe(0)
    expect(box[5]).toBe(0)
    expect(box[3]).toBeCloseTo(3 * Math.cos((110 * Math.PI) / 180), 6)
    const back = cellFromBox(box)!
    for (const k of ['a', 'b', 'c', 'alpha', 'beta', 'gamma'] as const) expect(back[k]).toBeCloseTo(cell[k], 4)
    expect(cellFromBox(new Float32Array(9))).toBeUndefined()
  })
})

describe('XTC round trips', () => {
  it('ala2 snapshots: every coordinate within 0.005 Å, equal to round(x·1000)/1000 nm; steps, times, box', () => {
    const bytes = writeXtcBytes(ala.frames, F, { nAtoms: N, frameIntervalPs: 5 })
    const back = readXtc(bytes, 'ala2.xtc')
    expect(back.nAtoms).toBe(N)
    expect(back.nFrames).toBe(F)
    expect(back.precision).toBe(1000)
    expect(back.warnings).toEqual([])
    expect(excess(ala.frames, back.frames, 1000)).toBeLessThanOrEqual(0)
    let offGrid = 0
    for (let k = 0; k < ala.frames.length; k++) if (!onGrid(ala.frames[k]!, back.frames[k]!, 1000)) offGrid++
    expect(offGrid).toBe(0)
    expect(Array.from(back.steps)).toEqual(Array.from({ length: F }, (_, f) => f))
    expect(Array.from(back.timesPs)).toEqual(Array.from({ length: F }, (_, f) => f * 5))
    expect(back.boxesNm.every((v) => v === 0)).toBe(true)
    // ala2 (22 atoms) compresses to well under the 264 bytes of float32 coordinates per frame
    expect(bytes.length / F).toBeLessThan(56 + 264)
  })

  it('XtcWriter streams the same bytes as writeXtcBytes', async () => {
    const sink = new MemorySink()
    const w = new XtcWriter(sink, { nAtoms: N })
    for (let f = 0; f < 5; f++) await w.writeFrame(ala.frames, { step: f, timePs: 0 }, f * 3 * N)
    expect(w.framesWritten).toBe(5)
    expect(sink.bytes()).toEqual(writeXtcBytes(ala.frames, 5, { nAtoms: N }))
  })

  const kinds = ['clustered', 'spread', 'huge', 'chain'] as const
  function randomFrame(kind: (typeof kinds)[number], n: number, rnd: () => number): Float32Array {
    const x = new Float32Array(3 * n)
    let c = [0, 0, 0]
    for (let a = 0; a < n; a++) {
      for (let k = 0; k < 3; k++) {
        let v: number
        if (kind === 'clustered') {
          // water-like: groups of 3 atoms within 1 Å of each other
          if (a % 3 === 0 && k === 0) c = [rnd() * 60 - 30, rnd() * 60 - 30, rnd() * 60 - 30]
          v = c[k]! + (rnd() - 0.5) * 2
        } else if (kind === 'spread') v = (rnd() - 0.5) * 2000 // ±1000 Å
        else if (kind === 'huge') v = (rnd() - 0.5) * 2e6 // ±1e6 Å = ±1e5 nm: ranges beyond 2²⁴ at p = 1000
        else v = (a > 0 ? x[3 * (a - 1) + k]! : 0) + (rnd() - 0.5) * 3 // a random walk of 1.5-Å steps
        x[3 * a + k] = v
      }
    }
    return x
  }

  for (const kind of kinds) {
    it(`random ${kind} coordinates, 10…2000 atoms, precisions 100/1000/10000`, () => {
      const rnd = lcg(kind.length * 7919)
      for (const n of [10, 11, 37, 500, 2000]) {
        for (const p of kind === 'huge' ? [100, 1000] : [100, 1000, 10000]) {
          const frames = new Float32Array(3 * 3 * n)
          for (let f = 0; f < 3; f++) frames.set(randomFrame(kind, n, rnd), f * 3 * n)
          const back = readXtc(writeXtcBytes(frames, 3, { nAtoms: n, precision: p }), `${kind}.xtc`)
          expect(back.nFrames).toBe(3)
          expect(back.precision).toBe(p)
          expect(excess(frames, back.frames, p), `${kind} n=${n} p=${p}`).toBeLessThanOrEqual(0)
        }
      }
    })
  }

  it('1…9 atoms are exact up to float32 rounding of ÷10 and ×10', () => {
    const rnd = lcg(5)
    for (let n = 1; n <= 9; n++) {
      const x = Float32Array.from({ length: 6 * n }, () => (rnd() - 0.5) * 1e4)
      const back = readXtc(writeXtcBytes(x, 2, { nAtoms: n }), 'small.xtc')
      expect(back.precision).toBe(0)
      for (let k = 0; k < x.length; k++) expect(Math.abs(back.frames[k]! - x[k]!)).toBeLessThanOrEqual(2 * 2 ** -23 * Math.abs(x[k]!))
    }
  })

  it('refuses coordinates that do not fit 32-bit integers at the precision, and non-finite ones', () => {
    const x = new Float32Array(3 * 12).fill(1)
    x[5] = 3e6 // 3e5 nm × 10000 > 2³¹
    expect(() => new XtcEncoder(12, 10000).encode(x, { step: 0, timePs: 0 })).toThrow(/too large for precision/)
    x[5] = NaN
    expect(() => new XtcEncoder(12).encode(x, { step: 0, timePs: 0 })).toThrow(/not finite/)
    expect(() => new XtcEncoder(0)).toThrow(RangeError)
  })
})

describe('XTC reader: damaged input', () => {
  const good = writeXtcBytes(ala.frames, 4, { nAtoms: N })
  const starts = frameOffsets(good)

  it('a file cut inside a frame keeps the complete frames before it, with a warning', () => {
    const back = readXtc(good.subarray(0, starts[2]! + 30), 'cut.xtc')
    expect(back.nFrames).toBe(2)
    expect(back.warnings[0]).toMatch(/cut\.xtc: the file ends inside frame 3/)
    expect(excess(ala.frames.subarray(0, 2 * 3 * N), back.frames, 1000)).toBeLessThanOrEqual(0)
  })

  it('one-line UserErrors: empty, not XTC, truncated first frame, changed atom count', () => {
    expectUserError(() => readXtc(new Uint8Array(0), 'e.xtc'), 'e.xtc', 'empty')
    expectUserError(() => readXtc(new TextEncoder().encode('ATOM      1  N   ALA A   1'), 'p.xtc'), 'p.xtc', 'magic number 1995', 'not an XTC')
    expectUserError(() => readXtc(good.subarray(0, 40), 'c.xtc'), 'c.xtc', 'ends inside frame 1')
    const mixed = new Uint8Array([...good.subarray(0, starts[1]), ...writeXtcBytes(ala.frames, 1, { nAtoms: 21 })])
    expectUserError(() => readXtc(mixed, 'm.xtc'), 'm.xtc', 'frame 2', '21 atoms, but frame 1 has 22')
  })

  it('fuzz: random bytes, flipped bytes and cut files give a result or a one-line UserError, nothing else', () => {
    const check = (bytes: Uint8Array): void => {
      try {
        const r = readXtc(bytes, 'fuzz.xtc')
        expect(r.frames.length).toBe(r.nFrames * 3 * r.nAtoms)
      } catch (err) {
        if (!(err instanceof UserError)) throw err
        expect(err.message).not.toMatch(/[\r\n]/)
        expect(err.message).toMatch(/^fuzz\.xtc: /)
      }
    }
    fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), (b) => check(b)), { numRuns: 300, seed: 42 })
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), fc.nat(good.length), (flips, cut) => {
        const b = good.slice(0, Math.max(1, cut))
        for (const [pos, v] of flips) if (pos < b.length) b[pos] = v
        check(b)
      }),
      { numRuns: 1500, seed: 7 }
    )
    // the header with a valid magic and a random atom count and coordinate block
    fc.assert(
      fc.property(fc.integer({ min: -5, max: 1 << 30 }), fc.uint8Array({ minLength: 0, maxLength: 200 }), (n, rest) => {
        const head = new Uint8Array(8)
        new DataView(head.buffer).setInt32(0, XTC_MAGIC)
        new DataView(head.buffer).setInt32(4, n)
        check(new Uint8Array([...head, ...rest]))
      }),
      { numRuns: 500, seed: 3 }
    )
  })
})

// ───────────────────────────── MDTraj ─────────────────────────────

const PY = '/usr/bin/python3'
const probe = spawnSync(PY, ['-c', 'import mdtraj'], { encoding: 'utf8', timeout: 60_000 })
const hasMdtraj = probe.status === 0
if (!hasMdtraj) {
  console.log(`skipping the MDTraj XTC cross-checks: '${PY} -c "import mdtraj"' failed (${(probe.stderr || probe.error?.message || 'no output').trim().split('\n').pop()}); install with apt-get install python3-mdtraj`)
}

describe.skipIf(!hasMdtraj)('XTC against MDTraj', () => {
  const work = tempDir('diffmd-xtc-')
  afterAll(() => rmSync(work, { recursive: true, force: true }))
  const p = (name: string): string => JSON.stringify(path.join(work, name))
  const py = (script: string): string => {
    const r = spawnSync(PY, ['-c', script], { encoding: 'utf8', timeout: 120_000, maxBuffer: 64 << 20 })
    if (r.status !== 0) throw new Error(`python failed: ${r.stderr}`)
    return r.stdout
  }

  it('ours → MDTraj: ala2 coordinates within XTC precision, steps, times, atom count', () => {
    writeFileSync(path.join(work, 'ours.xtc'), writeXtcBytes(ala.frames, F, { nAtoms: N, frameIntervalPs: 5 }))
    const out = JSON.parse(
      py(`
import json, mdtraj as md
with md.formats.XTCTrajectoryFile(${p('ours.xtc')}) as f:
    xyz, time, step, box = f.read()
print(json.dumps({'shape': list(xyz.shape), 'xyz': (xyz.astype('float64') * 10).ravel().tolist(), 'time': time.tolist(), 'step': step.tolist()}))`)
    ) as { shape: number[]; xyz: number[]; time: number[]; step: number[] }
    expect(out.shape).toEqual([F, N, 3])
    expect(excess(ala.frames, Float32Array.from(out.xyz), 1000)).toBeLessThanOrEqual(0)
    expect(out.step).toEqual(Array.from({ length: F }, (_, f) => f))
    expect(out.time).toEqual(Array.from({ length: F }, (_, f) => f * 5))
  })

  it('MDTraj → ours: the same numbers MDTraj reads back from its own file', () => {
    const nm = Float32Array.from(ala.frames, (v) => v / 10)
    writeFileSync(path.join(work, 'nm.f32'), new Uint8Array(nm.buffer))
    const out = JSON.parse(
      py(`
import json, numpy as np, mdtraj as md
x = np.fromfile(${p('nm.f32')}, dtype='<f4').reshape(${F}, ${N}, 3)
box = np.tile(np.diag([3.0, 4.0, 5.0]).astype('f4'), (${F}, 1, 1))
with md.formats.XTCTrajectoryFile(${p('theirs.xtc')}, 'w') as f:
    f.write(x, time=np.arange(${F}, dtype='f4') * 2.5, step=np.arange(${F}, dtype='i4') * 10, box=box)
with md.formats.XTCTrajectoryFile(${p('theirs.xtc')}) as f:
    xyz, time, step, b = f.read()
print(json.dumps({'xyz': (xyz * 10).astype('float64').ravel().tolist()}))`)
    ) as { xyz: number[] }
    const file = path.join(work, 'theirs.xtc')
    const ours = readXtc(readFileSync(file), file)
    expect(ours.nFrames).toBe(F)
    expect(ours.nAtoms).toBe(N)
    expect(excess(ala.frames, ours.frames, 1000)).toBeLessThanOrEqual(0)
    // MDTraj's reading of its own file and ours agree to float32 rounding of the ×10
    let worst = 0
    for (let k = 0; k < ours.frames.length; k++) worst = Math.max(worst, Math.abs(ours.frames[k]! - out.xyz[k]!))
    expect(worst).toBeLessThan(1e-5)
    expect(Array.from(ours.steps)).toEqual(Array.from({ length: F }, (_, f) => 10 * f))
    expect(Array.from(ours.timesPs)).toEqual(Array.from({ length: F }, (_, f) => f * 2.5))
    expect(Array.from(ours.boxesNm.subarray(0, 9))).toEqual([3, 0, 0, 0, 4, 0, 0, 0, 5])
  })

  it("our encoder's bytes equal MDTraj's (xdrfile) for the same float32 nm coordinates: ala2, water-like, random walk, far-apart, 5 atoms", () => {
    const rnd = lcg(99)
    const cases: { name: string; n: number; frames: number; nm: Float32Array }[] = []
    cases.push({ name: 'ala2', n: N, frames: F, nm: Float32Array.from(ala.frames, (v) => v / 10) })
    const water = new Float32Array(2 * 3 * 300)
    for (let a = 0; a < 600; a++) {
      if (a % 3 === 0) for (let k = 0; k < 3; k++) water[3 * a + k] = rnd() * 4
      else for (let k = 0; k < 3; k++) water[3 * a + k] = water[3 * (a - (a % 3)) + k]! + (rnd() - 0.5) * 0.2
    }
    cases.push({ name: 'water', n: 300, frames: 2, nm: water })
    const walk = new Float32Array(3 * 3 * 400)
    for (let f = 0; f < 3; f++) for (let a = 0; a < 400; a++) for (let k = 0; k < 3; k++) walk[(f * 400 + a) * 3 + k] = (a ? walk[(f * 400 + a - 1) * 3 + k]! : 0) + (rnd() - 0.5) * 0.4
    cases.push({ name: 'walk', n: 400, frames: 3, nm: walk })
    // ranges beyond 2²⁴ (field-by-field packing) with neighbours close enough for the magicints table
    const far = new Float32Array(2 * 3 * 200)
    for (let f = 0; f < 2; f++) for (let a = 0; a < 200; a++) for (let k = 0; k < 3; k++) far[(f * 200 + a) * 3 + k] = (a ? far[(f * 200 + a - 1) * 3 + k]! : -3e4) + rnd() * 300
    cases.push({ name: 'far', n: 200, frames: 2, nm: far })
    cases.push({ name: 'five', n: 5, frames: 2, nm: Float32Array.from({ length: 30 }, () => rnd() * 3) })
    for (const c of cases) writeFileSync(path.join(work, `${c.name}.f32`), new Uint8Array(c.nm.buffer))
    py(`
import numpy as np, mdtraj as md
for name, n, frames in ${JSON.stringify(cases.map((c) => [c.name, c.n, c.frames]))}:
    x = np.fromfile('${work}/' + name + '.f32', dtype='<f4').reshape(frames, n, 3)
    with md.formats.XTCTrajectoryFile('${work}/' + name + '.mdtraj.xtc', 'w') as f:
        f.write(x, time=np.arange(frames, dtype='f4') * 0.5, step=np.arange(frames, dtype='i4'), box=np.zeros((frames, 3, 3), dtype='f4'))
`)
    for (const c of cases) {
      const theirs = readFileSync(path.join(work, `${c.name}.mdtraj.xtc`))
      const enc = new XtcEncoder(c.n)
      const parts: number[] = []
      for (let f = 0; f < c.frames; f++) parts.push(...enc.encode(c.nm, { step: f, timePs: f * 0.5 }, f * 3 * c.n))
      expect(Buffer.from(parts).equals(theirs), `${c.name}: ${parts.length} bytes vs MDTraj ${theirs.length}`).toBe(true)
    }
  })

  it('atoms so far apart that xdrfile indexes past its magicints table (MDTraj cannot read its own file): ours stays readable', () => {
    const rnd = lcg(4)
    const n = 50
    const nm = Float32Array.from({ length: 3 * n }, () => (rnd() - 0.5) * 2e5)
    const A = Float32Array.from(nm, (v) => v * 10)
    writeFileSync(path.join(work, 'spread.xtc'), writeXtcBytes(A, 1, { nAtoms: n }))
    writeFileSync(path.join(work, 'spread.f32'), new Uint8Array(nm.buffer))
    const out = JSON.parse(
      py(`
import json, numpy as np, mdtraj as md
x = np.fromfile(${p('spread.f32')}, dtype='<f4').reshape(1, ${n}, 3)
with md.formats.XTCTrajectoryFile(${p('spread.xtc')}) as f:
    y = f.read()[0]
with md.formats.XTCTrajectoryFile(${p('spread.mdtraj.xtc')}, 'w') as f:
    f.write(x)
try:
    with md.formats.XTCTrajectoryFile(${p('spread.mdtraj.xtc')}) as f:
        f.read()
    own = 'read'
except RuntimeError as e:
    own = str(e)
print(json.dumps({'maxdiff_nm': float(np.abs(x - y).max()), 'own': own}))`)
    ) as { maxdiff_nm: number; own: string }
    expect(out.maxdiff_nm).toBeLessThanOrEqual(0.0005 + 1e5 * 2 ** -23)
    // documents why the encoder keeps smallidx inside the table (the reference reads magicints[73])
    expect(out.own).toMatch(/XTC read error/)
    const file = path.join(work, 'spread.mdtraj.xtc')
    expectUserError(() => readXtc(readFileSync(file), file), 'small-difference index 73')
  })
})
