/**
 * PDB (Protein Data Bank, fixed-column) reading and writing, multi-model, streaming.
 *
 * Reading: ATOM/HETATM, MODEL/ENDMDL, TER, END, CRYST1; CRLF, LF or CR line ends; hybrid-36 serials
 * and residue numbers; insertion codes; blank element columns (inferred from the atom name, see
 * elements.ts); alternate locations (one location per residue, consistently: the label with the
 * highest mean occupancy over the residue, the first label on ties, as MDTraj does — so a residue
 * never mixes conformers; dropped ones are reported in `warnings`); residue numbers overflowed as
 * `****` (VMD past 9999) are numbered on from the previous residue, with a note. Files without MODEL
 * records are one frame, or several when complete atom sets are separated by END (concatenated
 * single-model files). All models must list the same atoms (name, residue name and number, chain,
 * insertion code) in the same order; the first difference is an error naming model, line and atom.
 * Every error is a one-line UserError naming the file, the line and what was expected.
 *
 * Writing: standard columns (Å, %8.3f), MODEL/ENDMDL for more than one frame, CRYST1 when a cell is
 * known, REMARK   1 lines for provenance, element columns, serials > 99 999 and residue numbers
 * > 9 999 in hybrid-36, atoms renumbered 1…N.
 */
import { UserError } from '../errors'
import type { AtomRecord, Topology, UnitCell } from '../topology'
import { decodeHybrid36, encodeHybrid36 } from './hybrid36'
import { elementColumn, inferElement, normalizeElement } from './elements'
import { describeSniff, sniffText } from './detect'
import { chooseAltLocs, numberOverflowedResidues } from './pdb-residues'

/** called once per completed model: coords are [x0,y0,z0,x1,…] of the model's atoms (a fresh array) */
export type PdbFrameCallback = (coords: Float32Array, frameIndex: number, topology: Topology) => void

export interface PdbParseResult {
  /** atoms of the first model (later models are checked against it) */
  topology: Topology
  nFrames: number
  warnings: string[]
}

export interface PdbReadResult extends PdbParseResult {
  /** [nFrames, 3N] row-major, Å */
  frames: Float32Array
}

/** the most individual warnings of one kind kept before they are summarised by a count */
const MAX_WARNINGS_PER_KIND = 20

/** an ATOM/HETATM line as read: the text and its coordinates; other fields are parsed on demand */
export interface RawAtom {
  text: string
  record: 'ATOM' | 'HETATM'
  line: number
  x: number
  y: number
  z: number
  /** alternate location ('' when blank) and, only when there is one, the occupancy */
  altLoc: string
  occupancy: number
}

/** the identity and annotation fields of an atom line */
interface AtomFields {
  serial: number
  rawName: string
  name: string
  resName: string
  chainId: string
  resSeq: number
  iCode: string
  occupancy: number
  bFactor: number
  elementField: string
}

const NUMBER_RE = /^\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\s*$/
// eslint-disable-next-line no-control-regex -- detecting binary input is the point
const CONTROL_RE = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/

export function describeAtom(a: { name: string; resName: string; chainId: string; resSeq: number; iCode: string }): string {
  return `${a.name} ${a.resName}${a.chainId ? ' ' + a.chainId : ''} ${a.resSeq}${a.iCode}`
}

function sameFields(a: AtomRecord, b: AtomFields): boolean {
  return a.name === b.name && a.resName === b.resName && a.resSeq === b.resSeq && a.chainId === b.chainId && a.iCode === b.iCode
}

/** columns 13–16 and 18–27 (name, residue name, chain, residue number, insertion code) equal, character for character */
function sameIdentityColumns(a: string, b: string): boolean {
  for (let k = 12; k < 27; k++) {
    if (k !== 16 && a.charCodeAt(k) !== b.charCodeAt(k)) return false
  }
  return true
}

/**
 * Incremental PDB parser: feed text chunks of any size with push(); each completed model is passed
 * to the callback as soon as it ends, so memory holds one chunk and one model, whatever the file size.
 */
export class PdbStreamParser {
  private rest = ''
  private lineNo = 0
  private atoms: RawAtom[] = []
  private inModel = false
  private modelLine = 0
  private topology: Topology | undefined
  private cell: UnitCell | undefined
  private frames = 0
  private ended = false
  private readonly warnings: string[] = []
  private altlocDropped = 0
  private inferredElements = 0
  private unclosedModels = 0
  private readonly head: string[] = []
  private headChars = 0
  private lastSerial = 0
  /** residue numbers given to `****` atoms of the first model (see numberOverflowed) */
  private overflowSeq = new Map<RawAtom, number>()
  /** the atom lines of the first model, for cheap identity checks of later models */
  private refLines: string[] = []

  constructor(
    readonly file: string,
    private readonly onFrame: PdbFrameCallback = () => {}
  ) {}

  /** frames completed so far */
  get nFrames(): number {
    return this.frames
  }

  /** lines read so far */
  get lines(): number {
    return this.lineNo
  }

  push(chunk: string): void {
    if (this.ended) throw new Error('PdbStreamParser: push() after end()')
    if (chunk.length === 0) return
    const text = this.rest.length > 0 ? this.rest + chunk : chunk
    let pos = 0
    for (;;) {
      const nl = text.indexOf('\n', pos)
      if (nl < 0) break
      this.handleRawLine(text.slice(pos, nl))
      pos = nl + 1
    }
    this.rest = pos === 0 ? text : text.slice(pos)
  }

  /** finishes the file: flushes the last line and model, returns topology, frame count and warnings */
  end(): PdbParseResult {
    if (this.ended) throw new Error('PdbStreamParser: end() called twice')
    if (this.rest.length > 0) {
      this.handleRawLine(this.rest)
      this.rest = ''
    }
    this.ended = true
    if (this.atoms.length > 0) {
      if (this.inModel) this.unclosedModels++
      this.finishModel(this.lineNo)
    }
    if (this.unclosedModels > 0) {
      this.warnings.push(`${this.file}: ${this.unclosedModels} MODEL record(s) without a matching ENDMDL; each was closed at the next MODEL or at the end of the file`)
    }
    if (!this.topology) {
      const headText = this.head.join('\n')
      if (this.lineNo === 0 || headText.trim().length === 0) {
        throw new UserError(`${this.file}: the file is empty; expected PDB text with ATOM/HETATM records`, 'parse')
      }
      const sniff = sniffText(headText)
      const hint = sniff === 'pdb' || sniff === 'unknown' ? 'is this a PDB file?' : `it looks like ${describeSniff(sniff)}, not PDB`
      throw new UserError(`${this.file}: no ATOM/HETATM records in ${this.lineNo} line(s); ${hint}`, 'parse')
    }
    if (this.altlocDropped > MAX_WARNINGS_PER_KIND) {
      this.warnings.push(`${this.file}: … and ${this.altlocDropped - MAX_WARNINGS_PER_KIND} more alternate locations dropped`)
    }
    const topology: Topology = this.cell ? { ...this.topology, cell: this.cell } : this.topology
    return { topology, nFrames: this.frames, warnings: this.warnings }
  }

  private fail(message: string, line = this.lineNo): never {
    throw new UserError(`${this.file}: line ${line}: ${message}`, 'parse')
  }

  private handleRawLine(raw: string): void {
    let line = raw.endsWith('\r') ? raw.slice(0, -1) : raw
    if (line.includes('\r')) {
      // classic-Mac line ends inside one \n-delimited piece
      const parts = line.split('\r')
      for (const p of parts) this.handleLine(p)
      return
    }
    if (line.length > 0 && line.charCodeAt(0) === 0xfeff) line = line.slice(1) // UTF-8 BOM read as text
    this.handleLine(line)
  }

  private handleLine(line: string): void {
    this.lineNo++
    if (this.headChars < 4096 && line.trim().length > 0) {
      this.head.push(line.slice(0, 200))
      this.headChars += Math.min(line.length, 200) + 1
    }
    if (CONTROL_RE.test(line)) {
      const code = line.match(CONTROL_RE)![0]!.charCodeAt(0)
      this.fail(`binary data (control byte 0x${code.toString(16).padStart(2, '0')}); expected a PDB text line — is this a compressed or binary file?`)
    }
    const c0 = line.charCodeAt(0)
    if (c0 === 65 /* A */ && line.startsWith('ATOM') && (line.length === 4 || line[4] === ' ' || (line[4]! >= '0' && line[4]! <= '9'))) {
      this.readAtom(line, 'ATOM')
    } else if (c0 === 72 /* H */ && line.startsWith('HETATM')) {
      this.readAtom(line, 'HETATM')
    } else if (line.startsWith('MODEL')) {
      if (this.inModel && this.atoms.length > 0) {
        this.unclosedModels++
        this.finishModel(this.lineNo)
      }
      this.inModel = true
      this.modelLine = this.lineNo
    } else if (line.startsWith('ENDMDL')) {
      if (this.atoms.length > 0) this.finishModel(this.lineNo)
      this.inModel = false
    } else if (line.startsWith('END') && line.slice(3).trim() === '') {
      if (this.atoms.length > 0) this.finishModel(this.lineNo)
      this.inModel = false
    } else if (line.startsWith('CRYST1')) {
      if (!this.cell) this.cell = this.readCryst1(line)
    }
    // TER, REMARK, HEADER, CONECT, ANISOU, … carry nothing the app needs
  }

  private readCryst1(line: string): UnitCell | undefined {
    const num = (a: number, b: number): number => {
      const s = line.slice(a, b)
      return NUMBER_RE.test(s) ? Number(s) : NaN
    }
    const cell: UnitCell = {
      a: num(6, 15),
      b: num(15, 24),
      c: num(24, 33),
      alpha: num(33, 40),
      beta: num(40, 47),
      gamma: num(47, 54),
      spaceGroup: line.slice(55, 66).trim(),
      z: parseInt(line.slice(66, 70), 10),
    }
    if (![cell.a, cell.b, cell.c, cell.alpha, cell.beta, cell.gamma].every((v) => Number.isFinite(v))) {
      this.warnings.push(`${this.file}: line ${this.lineNo}: CRYST1 record unreadable (expected a, b, c in columns 7–33 and angles in 34–54); unit cell ignored`)
      return undefined
    }
    if (!Number.isFinite(cell.z)) cell.z = 1
    // CRYST1 1 1 1 90 90 90 is the conventional "no cell" placeholder
    if (cell.a === 1 && cell.b === 1 && cell.c === 1) return undefined
    return cell
  }

  private coord(line: string, start: number, axis: string): number {
    const s = line.slice(start, start + 8)
    if (!NUMBER_RE.test(s)) {
      this.fail(`${axis} coordinate '${s.trim()}' in columns ${start + 1}–${start + 8} is not a number; expected %8.3f Å values in columns 31–54`)
    }
    const v = Number(s)
    if (!Number.isFinite(v)) this.fail(`${axis} coordinate '${s.trim()}' is not finite`)
    return v
  }

  private readAtom(line: string, record: 'ATOM' | 'HETATM'): void {
    if (line.length < 54 && line.trimEnd().length < 54) {
      this.fail(`${record} record is truncated (${line.trimEnd().length} characters); coordinates need columns 31–54`)
    }
    const x = this.coord(line, 30, 'x')
    const y = this.coord(line, 38, 'y')
    const z = this.coord(line, 46, 'z')
    const alt = line.charCodeAt(16)
    let altLoc = ''
    let occupancy = 1
    if (alt !== 32) {
      altLoc = line[16]!
      const occField = line.slice(54, 60)
      occupancy = NUMBER_RE.test(occField) ? Number(occField) : 1
    }
    this.atoms.push({ text: line, record, line: this.lineNo, x, y, z, altLoc, occupancy })
  }

  /** parses the non-coordinate fields of an atom line; a bad residue number is an error */
  private fields(a: RawAtom): AtomFields {
    const t = a.text
    let serial = decodeHybrid36(t.slice(6, 11), 5)
    if (!Number.isFinite(serial)) serial = this.lastSerial + 1 // "*****" and other overflow markers
    this.lastSerial = serial
    const resField = t.slice(22, 26)
    let resSeq = 0
    const overflowed = this.overflowSeq.get(a)
    if (overflowed !== undefined) resSeq = overflowed
    else if (resField.trim().length > 0) {
      resSeq = decodeHybrid36(resField, 4)
      if (!Number.isFinite(resSeq)) this.fail(`residue number '${resField.trim()}' in columns 23–26 is not a number (decimal or hybrid-36)`, a.line)
    }
    const occField = t.slice(54, 60)
    const bField = t.slice(60, 66)
    const rawName = t.slice(12, 16)
    return {
      serial,
      rawName,
      name: rawName.trim(),
      resName: t.slice(17, 21).trim(),
      chainId: (t[21] ?? ' ').trim(),
      resSeq,
      iCode: (t[26] ?? ' ').trim(),
      occupancy: NUMBER_RE.test(occField) ? Number(occField) : 1,
      bFactor: NUMBER_RE.test(bField) ? Number(bField) : 0,
      elementField: t.slice(76, 78),
    }
  }

  /** keeps one alternate location per residue (pdb-residues.ts); reports what was dropped */
  private resolveAltLocs(atoms: RawAtom[], report: boolean): RawAtom[] {
    const { kept, dropped } = chooseAltLocs(atoms)
    if (report) {
      for (const d of dropped) {
        this.altlocDropped++
        if (this.altlocDropped > MAX_WARNINGS_PER_KIND) continue
        const why = d.repeat ? `a repeat of the same location '${d.kept}'` : `kept '${d.kept}' for the whole residue, mean occupancy ${d.keptMean.toFixed(2)}`
        this.warnings.push(`${this.file}: line ${d.atom.line}: alternate location '${d.atom.altLoc}' of ${describeAtom(this.fields(d.atom))} dropped (${why})`)
      }
    }
    return kept
  }

  /** residue numbers for `****` fields of the first model (pdb-residues.ts), with a note */
  private numberOverflowed(atoms: RawAtom[]): void {
    this.overflowSeq = numberOverflowedResidues(atoms)
    if (this.overflowSeq.size > 0) {
      this.warnings.push(`${this.file}: ${this.overflowSeq.size} atoms have the residue number **** (overflowed past 9999, as VMD writes it); numbered on from the previous residue`)
    }
  }

  private finishModel(endLine: number): void {
    const first = this.topology === undefined
    if (first) this.numberOverflowed(this.atoms)
    const atoms = this.resolveAltLocs(this.atoms, first)
    this.atoms = []
    const modelNo = this.frames + 1
    if (first) {
      const records: AtomRecord[] = atoms.map((a) => {
        const f = this.fields(a)
        let element = normalizeElement(f.elementField)
        if (!element) {
          element = inferElement(f.rawName, f.resName)
          this.inferredElements++
        }
        return {
          record: a.record,
          serial: f.serial,
          name: f.name,
          altLoc: a.altLoc,
          resName: f.resName,
          chainId: f.chainId,
          resSeq: f.resSeq,
          iCode: f.iCode,
          occupancy: f.occupancy,
          bFactor: f.bFactor,
          element,
        }
      })
      if (this.inferredElements > 0) {
        this.warnings.push(`${this.file}: element columns 77–78 blank or invalid for ${this.inferredElements} of ${records.length} atoms; elements inferred from the atom names`)
      }
      this.topology = { atoms: records }
      this.refLines = atoms.map((a) => a.text)
    } else {
      const ref = this.topology!.atoms
      const refLines = this.refLines
      const n = Math.min(ref.length, atoms.length)
      for (let i = 0; i < n; i++) {
        const a = atoms[i]!
        if (sameIdentityColumns(refLines[i]!, a.text)) continue
        const f = this.fields(a)
        if (!sameFields(ref[i]!, f)) {
          this.fail(`model ${modelNo} atom ${i + 1} is '${describeAtom(f)}' but model 1 has '${describeAtom(ref[i]!)}' there; all models must list the same atoms in the same order`, a.line)
        }
      }
      if (atoms.length < ref.length) {
        this.fail(`model ${modelNo} (from line ${this.modelLine}) ends after ${atoms.length} atoms but model 1 has ${ref.length}; first missing atom: '${describeAtom(ref[atoms.length]!)}'`, endLine)
      }
      if (atoms.length > ref.length) {
        const extra = atoms[ref.length]!
        this.fail(`model ${modelNo} has ${atoms.length} atoms but model 1 has ${ref.length}; first extra atom: '${describeAtom(this.fields(extra))}'`, extra.line)
      }
    }
    const coords = new Float32Array(3 * atoms.length)
    for (let i = 0; i < atoms.length; i++) {
      const a = atoms[i]!
      coords[3 * i] = a.x
      coords[3 * i + 1] = a.y
      coords[3 * i + 2] = a.z
    }
    const index = this.frames
    this.frames++
    this.onFrame(coords, index, this.topology!)
  }
}

/** Reads a whole PDB text (all models). For big files prefer PdbStreamParser. */
export function readPdb(text: string, file: string): PdbReadResult {
  let buf = new Float32Array(0)
  let n3 = 0
  const parser = new PdbStreamParser(file, (coords, index) => {
    n3 = coords.length
    if ((index + 1) * n3 > buf.length) {
      const grown = new Float32Array(Math.max(n3 * 4, buf.length * 2))
      grown.set(buf)
      buf = grown
    }
    buf.set(coords, index * n3)
  })
  parser.push(text)
  const res = parser.end()
  return { ...res, frames: buf.slice(0, res.nFrames * n3) }
}

// ───────────────────────────── writing ─────────────────────────────

/** %8.3f, falling back to fewer decimals so the value still fits its 8 columns */
function coordField(v: number, atomIndex: number): string {
  if (!Number.isFinite(v)) throw new RangeError(`atom ${atomIndex + 1} has a non-finite coordinate (${v}); PDB cannot store it`)
  for (let d = 3; d >= 0; d--) {
    const s = v.toFixed(d)
    if (s.length <= 8) return s.padStart(8, ' ')
  }
  throw new RangeError(`atom ${atomIndex + 1} coordinate ${v} Å does not fit the 8 PDB columns`)
}

function fixedField(v: number, width: number, decimals: number): string {
  const s = Number.isFinite(v) ? v.toFixed(decimals) : (0).toFixed(decimals)
  return s.length <= width ? s.padStart(width, ' ') : s.slice(0, width)
}

/** the 4-character name field: element symbol right-justified in columns 13–14 */
function nameField(name: string, element: string): string {
  if (name.length >= 4) return name.slice(0, 4)
  if (element.length === 2) return name.padEnd(4, ' ')
  return (' ' + name).padEnd(4, ' ')
}

/** One ATOM/HETATM line (no newline) for atom `a` with serial `serial` at (x, y, z) Å. */
export function pdbAtomLine(a: AtomRecord, serial: number, x: number, y: number, z: number, atomIndex = serial - 1): string {
  const rec = a.record === 'HETATM' ? 'HETATM' : 'ATOM  '
  const resName = a.resName.length > 3 ? a.resName.slice(0, 4) : a.resName.padStart(3, ' ') + ' '
  return (
    rec +
    encodeHybrid36(serial, 5) +
    ' ' +
    nameField(a.name, a.element) +
    (a.altLoc || ' ').slice(0, 1) +
    resName +
    (a.chainId || ' ').slice(0, 1) +
    encodeHybrid36(a.resSeq, 4) +
    (a.iCode || ' ').slice(0, 1) +
    '   ' +
    coordField(x, atomIndex) +
    coordField(y, atomIndex) +
    coordField(z, atomIndex) +
    fixedField(a.occupancy, 6, 2) +
    fixedField(a.bFactor, 6, 2) +
    '          ' +
    elementColumn(a.element) +
    '  '
  )
}

/** CRYST1 line (no newline) */
export function cryst1Line(c: UnitCell): string {
  const f = (v: number, w: number, d: number): string => v.toFixed(d).padStart(w, ' ')
  return `CRYST1${f(c.a, 9, 3)}${f(c.b, 9, 3)}${f(c.c, 9, 3)}${f(c.alpha, 7, 2)}${f(c.beta, 7, 2)}${f(c.gamma, 7, 2)} ${(c.spaceGroup || 'P 1').padEnd(11, ' ').slice(0, 11)}${String(c.z || 1).padStart(4, ' ')}`
}

/** REMARK   1 lines, each remark wrapped to 80 columns */
export function remarkLines(remarks: string[]): string[] {
  const out: string[] = []
  const width = 80 - 11
  for (const r of remarks) {
    const clean = r.replace(/[\r\n\t]+/g, ' ')
    if (clean.length === 0) {
      out.push('REMARK   1')
      continue
    }
    let rest = clean
    while (rest.length > width) {
      // break at the last space that fits, else hard-wrap
      let cut = rest.lastIndexOf(' ', width)
      if (cut < width / 2) cut = width
      out.push('REMARK   1 ' + rest.slice(0, cut).trimEnd())
      rest = rest.slice(cut).trimStart()
    }
    if (rest.length > 0) out.push('REMARK   1 ' + rest)
  }
  return out
}

/** header text (REMARKs, CRYST1), each line ending in \n */
export function pdbHeaderText(opts: { remarks?: string[]; cell?: UnitCell } = {}): string {
  const lines = remarkLines(opts.remarks ?? [])
  if (opts.cell) lines.push(cryst1Line(opts.cell))
  return lines.length > 0 ? lines.join('\n') + '\n' : ''
}

/**
 * The text of one frame: MODEL (when modelNumber is given), atoms with TER after each chain, ENDMDL.
 * coords[offset … offset + 3N) in Å. Lines end in \n.
 */
export function pdbModelText(topology: Topology, coords: Float32Array | Float64Array | number[], modelNumber?: number, offset = 0): string {
  const atoms = topology.atoms
  // lines are joined in blocks, so the short-lived pieces of each line die young (big models stay fast)
  const blocks: string[] = []
  let lines: string[] = []
  if (modelNumber !== undefined) lines.push('MODEL ' + String(modelNumber).padStart(8, ' '))
  for (let i = 0; i < atoms.length; i++) {
    const a = atoms[i]!
    const o = offset + 3 * i
    lines.push(pdbAtomLine(a, i + 1, coords[o]!, coords[o + 1]!, coords[o + 2]!, i))
    const next = atoms[i + 1]
    if (next === undefined || next.chainId !== a.chainId) lines.push('TER')
    if (lines.length >= 256) {
      blocks.push(lines.join('\n'))
      lines = []
    }
  }
  if (modelNumber !== undefined) lines.push('ENDMDL')
  if (lines.length > 0) blocks.push(lines.join('\n'))
  return blocks.join('\n') + '\n'
}

/**
 * A complete PDB file: header, one model (no MODEL record) or MODEL/ENDMDL blocks, END.
 * frames is [nFrames, 3N]. The cell defaults to topology.cell.
 */
export function writePdb(topology: Topology, frames: Float32Array, nFrames: number, opts: { remarks?: string[]; cell?: UnitCell } = {}): string {
  const n3 = 3 * topology.atoms.length
  if (frames.length < nFrames * n3) throw new RangeError(`writePdb: ${frames.length} values for ${nFrames} frames of ${topology.atoms.length} atoms`)
  const parts: string[] = [pdbHeaderText({ remarks: opts.remarks, cell: opts.cell ?? topology.cell })]
  for (let f = 0; f < nFrames; f++) parts.push(pdbModelText(topology, frames, nFrames > 1 ? f + 1 : undefined, f * n3))
  parts.push('END\n')
  return parts.join('')
}
