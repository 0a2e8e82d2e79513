/**
 * Sniffs a file's format from its first bytes (not its name), so a file renamed `.pdb` that is
 * really XYZ gets an error that says so.
 */
import { UserError } from '../errors'

export type SniffedFormat = 'empty' | 'gzip' | 'dcd' | 'pdb' | 'xyz' | 'gro' | 'json' | 'binary' | 'unknown'

const PDB_RECORDS = /^(ATOM {2}|ATOM\d|HETATM|MODEL |HEADER|REMARK|CRYST1|TITLE |COMPND|SOURCE|EXPDTA|AUTHOR|SEQRES|KEYWDS|ORIGX|SCALE|HELIX |SHEET |TER|ENDMDL|END$|CONECT|MASTER|JRNL {2}|REVDAT|SPLIT |DBREF |ANISOU)/
const XYZ_ATOM = /^\s*[A-Za-z][A-Za-z0-9_]*\s+[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s+[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s+[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?(\s|$)/
const GRO_ATOM = /^[ \d]{5}.{5}.{5}[ \d]{5}\s*-?\d+\.\d+\s*-?\d+\.\d+\s*-?\d+\.\d+/

/** Format of a text head (the first few KB of a file, already decoded). */
export function sniffText(text: string): SniffedFormat {
  const t = text.replace(/^\uFEFF/, '')
  if (t.trim().length === 0) return 'empty'
  const firstChar = t.trimStart()[0]
  if (firstChar === '{' || firstChar === '[') return 'json'
  const lines = t.split(/\r\n|\r|\n/).slice(0, 200)
  const nonEmpty = lines.filter((l) => l.trim().length > 0)
  if (nonEmpty.some((l) => /^(ATOM {2}|ATOM\d|HETATM|MODEL |CRYST1|HEADER)/.test(l))) return 'pdb'
  // XYZ: atom count, comment line (anything, may be blank), then "El x y z"
  if (lines.length >= 3 && /^\s*\d+\s*$/.test(lines[0]!) && XYZ_ATOM.test(lines[2]!)) return 'xyz'
  // GROMACS .gro: title, atom count, fixed-column atoms
  if (lines.length >= 3 && /^\s*\d+\s*$/.test(lines[1]!) && GRO_ATOM.test(lines[2]!)) return 'gro'
  if (nonEmpty.length > 0 && nonEmpty.every((l) => PDB_RECORDS.test(l))) return 'pdb'
  return 'unknown'
}

/** Format of the first bytes of a file (a few KB is plenty). */
export function sniffBytes(head: Uint8Array): SniffedFormat {
  if (head.length === 0) return 'empty'
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip'
  if (head.length >= 8) {
    const dv = new DataView(head.buffer, head.byteOffset, head.byteLength)
    const cord = (o: number): boolean => head.length >= o + 4 && head[o] === 0x43 && head[o + 1] === 0x4f && head[o + 2] === 0x52 && head[o + 3] === 0x44
    if ((dv.getInt32(0, true) === 84 || dv.getInt32(0, false) === 84) && cord(4)) return 'dcd'
    if (head.length >= 12 && (dv.getInt32(0, true) === 84 || dv.getInt32(4, false) === 84) && cord(8)) return 'dcd'
  }
  const n = Math.min(head.length, 4096)
  let control = 0
  for (let i = 0; i < n; i++) {
    const b = head[i]!
    if (b === 0) return 'binary'
    if ((b < 9 || (b > 13 && b < 32)) && b !== 27) control++
  }
  if (control > 0 && control * 100 > n) return 'binary'
  let text = ''
  for (let i = 0; i < n; i++) text += String.fromCharCode(head[i]!)
  return sniffText(text)
}

/** "an XYZ file (first line is an atom count)" and so on, for messages */
export function describeSniff(kind: SniffedFormat): string {
  switch (kind) {
    case 'empty':
      return 'an empty file'
    case 'gzip':
      return 'a gzip-compressed file'
    case 'dcd':
      return 'a DCD trajectory (binary)'
    case 'pdb':
      return 'a PDB file'
    case 'xyz':
      return 'an XYZ file (its first line is an atom count, the third an element and x y z)'
    case 'gro':
      return 'a GROMACS .gro file'
    case 'json':
      return 'a JSON file'
    case 'binary':
      return 'binary data'
    default:
      return 'an unrecognised format'
  }
}

const ADVICE: Partial<Record<SniffedFormat, string>> = {
  xyz: 'rename it to .xyz (datasets are imported from PDB; convert it with a tool such as Open Babel: obabel in.xyz -O out.pdb)',
  gro: 'convert it to PDB first (gmx editconf -f in.gro -o out.pdb)',
  dcd: 'a DCD holds coordinates only; export frames to PDB, or use it with its topology PDB',
  json: 'JSON trajectories are read with diffmd export --in FILE.json',
  binary: 'is the file corrupted, or in a binary format?',
  empty: 'the file has no content',
}

/**
 * Throws a one-line UserError when the sniffed format is known and different from `expected`.
 * 'unknown' passes (the reader then reports the exact line that is wrong).
 */
export function expectFormat(kind: SniffedFormat, expected: SniffedFormat, file: string): void {
  if (kind === expected || kind === 'unknown') return
  if (kind === 'empty') throw new UserError(`${file}: the file is empty; expected ${describeSniff(expected)}`, 'parse')
  const advice = ADVICE[kind]
  throw new UserError(`${file}: looks like ${describeSniff(kind)}, not ${describeSniff(expected).replace(/ \(.*\)$/, '')}${advice ? `; ${advice}` : ''}`, 'format')
}
