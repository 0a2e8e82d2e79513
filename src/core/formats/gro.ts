/**
 * GROMACS .gro (single or multi-frame): per frame a title line (GROMACS writes "t= <ps>" into it),
 * the atom count, one fixed-column line per atom — residue number (5), residue name (5), atom name
 * (5), atom number (5), then x y z in nm (and optionally velocities) — and a box line (3 or 9
 * numbers, nm). The coordinate field width is the distance between the decimal points, as GROMACS
 * reads it (%8.3f by default, wider for higher precision). Coordinates are converted to Å (× 10).
 * See docs/formats.md.
 */
import { UserError } from '../errors'
import type { UnitCell } from '../topology'
import { inferElement, isStandardResidue } from './elements'
import { buildEnsemble, type EnsembleOptions, type EnsembleResult, type RawAtom } from './ensemble'

export interface GroReadResult extends EnsembleResult {
  /** time of each frame in ps, from "t=" in the title; NaN when absent */
  timesPs: number[]
}

const NUM = /^\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\s*$/

function boxCell(values: number[]): UnitCell | undefined {
  // v1(x) v2(y) v3(z) [v1(y) v1(z) v2(x) v2(z) v3(x) v3(y)], nm
  const [a1 = 0, b2 = 0, c3 = 0, a2 = 0, a3 = 0, b1 = 0, b3 = 0, c1 = 0, c2 = 0] = values
  const va = [a1, a2, a3]
  const vb = [b1, b2, b3]
  const vc = [c1, c2, c3]
  const len = (v: number[]): number => Math.hypot(v[0]!, v[1]!, v[2]!)
  const ang = (u: number[], v: number[]): number => (Math.acos((u[0]! * v[0]! + u[1]! * v[1]! + u[2]! * v[2]!) / (len(u) * len(v))) * 180) / Math.PI
  const a = len(va)
  const b = len(vb)
  const c = len(vc)
  if (!(a > 0 && b > 0 && c > 0)) return undefined
  return { a: 10 * a, b: 10 * b, c: 10 * c, alpha: ang(vb, vc), beta: ang(va, vc), gamma: ang(va, vb), spaceGroup: 'P 1', z: 1 }
}

export function readGro(text: string, file: string, opts: EnsembleOptions = {}): GroReadResult {
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/)
  if (text.trim().length === 0) throw new UserError(`${file}: the file is empty; expected a GROMACS .gro file (title, atom count, atoms, box)`, 'parse')
  const fail = (line: number, msg: string): never => {
    throw new UserError(`${file}: line ${line}: ${msg}`, 'parse')
  }
  const models: RawAtom[][] = []
  const timesPs: number[] = []
  let cell: UnitCell | undefined
  let i = 0
  while (i < lines.length) {
    if (lines[i]!.trim() === '' && models.length > 0) {
      i++
      continue
    }
    const title = lines[i]!
    const t = /\bt=\s*([-+]?[\d.]+(?:[eE][-+]?\d+)?)/.exec(title)
    timesPs.push(t ? Number(t[1]) : NaN)
    const countLine = lines[i + 1]
    if (countLine === undefined || !/^\s*\d+\s*$/.test(countLine)) {
      fail(i + 2, `expected the atom count of frame ${models.length + 1} (an integer) after the title line, got '${(countLine ?? '').trim().slice(0, 40)}'`)
    }
    const n = parseInt(countLine!, 10)
    if (n === 0) fail(i + 2, `frame ${models.length + 1} has 0 atoms`)
    if (n > lines.length - i - 2) fail(i + 2, `frame ${models.length + 1} says ${n} atoms but only ${Math.max(0, lines.length - i - 2)} lines follow`)
    const atoms: RawAtom[] = []
    let width = 0
    for (let k = 0; k < n; k++) {
      const ln = i + 2 + k
      const line = lines[ln]!
      if (width === 0) {
        const p1 = line.indexOf('.', 20)
        const p2 = p1 < 0 ? -1 : line.indexOf('.', p1 + 1)
        width = p1 >= 0 && p2 > p1 ? p2 - p1 : 8
      }
      if (line.length < 20 + 3 * width - 1) fail(ln + 1, `atom line is too short (${line.length} characters); expected residue number, residue name, atom name, atom number (5 columns each) and x y z`)
      const xyz = [0, 1, 2].map((d) => {
        const s = line.slice(20 + d * width, 20 + (d + 1) * width)
        if (!NUM.test(s)) fail(ln + 1, `${'xyz'[d]} coordinate '${s.trim()}' (columns ${21 + d * width}–${20 + (d + 1) * width}) is not a number`)
        const v = Math.fround(Number(s) * 10)
        if (!Number.isFinite(v)) fail(ln + 1, `${'xyz'[d]} coordinate '${s.trim()}' is out of range`)
        return v
      })
      const resSeqS = line.slice(0, 5).trim()
      const resSeq = resSeqS === '' ? 0 : Number(resSeqS)
      if (!Number.isInteger(resSeq)) fail(ln + 1, `residue number '${resSeqS}' (columns 1–5) is not an integer`)
      const resName = line.slice(5, 10).trim()
      const name = line.slice(10, 15).trim()
      const serial = Number(line.slice(15, 20).trim())
      atoms.push({
        record: isStandardResidue(resName) ? 'ATOM' : 'HETATM',
        serial: Number.isInteger(serial) ? serial : k + 1,
        name,
        altLoc: '',
        resName,
        chainId: '',
        resSeq,
        iCode: '',
        occupancy: 1,
        bFactor: 0,
        element: inferElement(name.length < 4 && !/^\d/.test(name) ? ` ${name}` : name, resName),
        x: xyz[0]!,
        y: xyz[1]!,
        z: xyz[2]!,
      })
    }
    const boxLine = lines[i + 2 + n]
    const box = (boxLine ?? '').trim().split(/\s+/)
    if (boxLine === undefined || !(box.length === 3 || box.length === 9) || !box.every((s) => NUM.test(s) && Number.isFinite(Number(s)))) {
      fail(i + 3 + n, `expected the box line of frame ${models.length + 1} (3 or 9 numbers in nm), got '${(boxLine ?? '').trim().slice(0, 60)}'`)
    }
    if (!cell) cell = boxCell(box.map(Number))
    models.push(atoms)
    i += 3 + n
  }
  const res = buildEnsemble(models, file, cell, opts)
  return { ...res, timesPs }
}

/** writes frames [nFrames, 3N] Å as a multi-frame .gro (nm, %8.3f); for round-trip tests and export */
export function writeGro(top: { atoms: { name: string; resName: string; resSeq: number }[] }, frames: Float32Array, nFrames: number, boxNm: [number, number, number] = [0, 0, 0]): string {
  const n = top.atoms.length
  const out: string[] = []
  for (let f = 0; f < nFrames; f++) {
    out.push(`frame ${f} t= ${f.toFixed(5)}`, String(n).padStart(5))
    top.atoms.forEach((a, i) => {
      const o = f * 3 * n + 3 * i
      const c = (v: number): string => (v / 10).toFixed(3).padStart(8)
      out.push(`${String(a.resSeq % 100000).padStart(5)}${a.resName.slice(0, 5).padEnd(5)}${a.name.slice(0, 5).padStart(5)}${String((i + 1) % 100000).padStart(5)}${c(frames[o]!)}${c(frames[o + 1]!)}${c(frames[o + 2]!)}`)
    })
    out.push(boxNm.map((v) => v.toFixed(5).padStart(10)).join(''))
  }
  return out.join('\n') + '\n'
}
