/**
 * Sniffs a file's format from its first bytes (not its name), so a file renamed `.pdb` that is
 * really XYZ gets an error that says so. Magic numbers and signatures: docs/formats.md
 * ("Identification by content").
 */
import { UserError } from '../errors'

export type SniffedFormat =
  | 'empty'
  | 'gzip'
  | 'bzip2'
  | 'xz'
  | 'zstd'
  | 'zip'
  | 'tar'
  | 'dcd'
  | 'xtc'
  | 'trr'
  | 'mmtf'
  | 'bcif'
  | 'pdb'
  | 'pqr'
  | 'cif'
  | 'xyz'
  | 'tinker'
  | 'gro'
  | 'json'
  | 'binary'
  | 'unknown'

const PDB_RECORDS = /^(ATOM {2}|ATOM\d|HETATM|MODEL |HEADER|REMARK|CRYST1|TITLE |COMPND|SOURCE|EXPDTA|AUTHOR|SEQRES|KEYWDS|ORIGX|SCALE|HELIX |SHEET |TER|ENDMDL|END$|CONECT|MASTER|JRNL {2}|REVDAT|SPLIT |DBREF |ANISOU)/
const XYZ_ATOM = /^\s*[A-Za-z][A-Za-z0-9_]*\s+[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s+[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s+[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?(\s|$)/
const GRO_ATOM = /^[ \d]{5}.{5}.{5}[ \d]{5}\s*-?\d+\.\d+\s*-?\d+\.\d+\s*-?\d+\.\d+/
const NUM_S = '[-+]?(?:\\d+\\.?\\d*|\\.\\d+)(?:[eE][-+]?\\d+)?'
/** Tinker .xyz/.arc atom line: index, name, x y z, MM type, bonded atoms */
const TINKER_ATOM = new RegExp(`^\\s*\\d+\\s+\\S+\\s+${NUM_S}\\s+${NUM_S}\\s+${NUM_S}\\s+\\d+(\\s+\\d+)*\\s*$`)
/** PQR atom line: whitespace-separated, ending in x y z charge radius */
const PQR_ATOM = new RegExp(`^(ATOM|HETATM)\\s.*\\s${NUM_S}\\s+${NUM_S}\\s+${NUM_S}\\s+${NUM_S}\\s+${NUM_S}\\s*$`)

/** Format of a text head (the first few KB of a file, already decoded). */
export function sniffText(text: string): SniffedFormat {
  const t = text.replace(/^\uFEFF/, '')
  if (t.trim().length === 0) return 'empty'
  const firstChar = t.trimStart()[0]
  if (firstChar === '{' || firstChar === '[') return 'json'
  const lines = t.split(/\r\n|\r|\n/).slice(0, 200)
  const nonEmpty = lines.filter((l) => l.trim().length > 0)
  // (mm)CIF: a data block header before any data, comments aside
  const firstData = nonEmpty.find((l) => !l.startsWith('#'))
  if (firstData !== undefined && /^data_/i.test(firstData)) return 'cif'
  const atomLines = nonEmpty.filter((l) => /^(ATOM|HETATM)/.test(l))
  // PQR: ATOM lines whose PDB columns do not hold the coordinates, but whose last five fields are numbers
  if (atomLines.length > 0 && atomLines.slice(0, 20).every((l) => PQR_ATOM.test(l) && !pdbColumnsHoldCoordinates(l))) return 'pqr'
  if (nonEmpty.some((l) => /^(ATOM {2}|ATOM\d|HETATM|MODEL |CRYST1|HEADER)/.test(l))) return 'pdb'
  // XYZ: atom count, comment line (anything, may be blank), then "El x y z"
  if (lines.length >= 3 && /^\s*\d+\s*$/.test(lines[0]!) && XYZ_ATOM.test(lines[2]!)) return 'xyz'
  // Tinker XYZ: "count title" then indexed atoms with MM types and bonds (no comment line)
  if (lines.length >= 2 && /^\s*\d+(\s|$)/.test(lines[0]!) && TINKER_ATOM.test(lines[1]!)) return 'tinker'
  // GROMACS .gro: title, atom count, fixed-column atoms
  if (lines.length >= 3 && /^\s*\d+\s*$/.test(lines[1]!) && GRO_ATOM.test(lines[2]!)) return 'gro'
  if (nonEmpty.length > 0 && nonEmpty.every((l) => PDB_RECORDS.test(l))) return 'pdb'
  return 'unknown'
}

/** true when columns 31–54 of a PDB ATOM line are three numbers (a fixed-column PDB, not PQR) */
function pdbColumnsHoldCoordinates(line: string): boolean {
  if (line.length < 54) return false
  const n = /^\s*[-+]?(\d+\.\d*|\.\d+)\s*$/
  return n.test(line.slice(30, 38)) && n.test(line.slice(38, 46)) && n.test(line.slice(46, 54))
}

function startsWith(head: Uint8Array, sig: number[], at = 0): boolean {
  if (head.length < at + sig.length) return false
  for (let i = 0; i < sig.length; i++) if (head[at + i] !== sig[i]) return false
  return true
}

/** the first bytes' latin1 text contains `s` */
function headHas(head: Uint8Array, s: string, limit = 512): boolean {
  let text = ''
  for (let i = 0; i < Math.min(head.length, limit); i++) text += String.fromCharCode(head[i]!)
  return text.includes(s)
}

/** Format of the first bytes of a file (a few KB is plenty). */
export function sniffBytes(head: Uint8Array): SniffedFormat {
  if (head.length === 0) return 'empty'
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip'
  if (head.length >= 4 && startsWith(head, [0x42, 0x5a, 0x68]) && head[3]! >= 0x31 && head[3]! <= 0x39) return 'bzip2'
  if (startsWith(head, [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])) return 'xz'
  if (startsWith(head, [0x28, 0xb5, 0x2f, 0xfd])) return 'zstd'
  if (startsWith(head, [0x50, 0x4b, 0x03, 0x04]) || startsWith(head, [0x50, 0x4b, 0x05, 0x06])) return 'zip'
  if (startsWith(head, [0x75, 0x73, 0x74, 0x61, 0x72], 257)) return 'tar'
  // msgpack maps (fixmap 0x80–0x8f, map16 0xde, map32 0xdf) with the formats' own keys
  if (head[0]! >= 0x80 && head[0]! <= 0x8f || head[0] === 0xde || head[0] === 0xdf) {
    if (headHas(head, 'mmtfVersion') || headHas(head, 'numModels')) return 'mmtf'
    if (headHas(head, 'dataBlocks') || headHas(head, 'encoder')) return 'bcif'
  }
  if (head.length >= 8) {
    const dv = new DataView(head.buffer, head.byteOffset, head.byteLength)
    // GROMACS XDR files are big-endian: XTC starts with 1995, TRR with 1993 then the version string length
    if (dv.getInt32(0, false) === 1995 && dv.getInt32(4, false) > 0) return 'xtc'
    if (dv.getInt32(0, false) === 1993 && headHas(head, 'GMX_trn_file', 64)) return 'trr'
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
    case 'bzip2':
      return 'a bzip2-compressed file'
    case 'xz':
      return 'an xz-compressed file'
    case 'zstd':
      return 'a Zstandard-compressed file'
    case 'zip':
      return 'a zip archive'
    case 'tar':
      return 'a tar archive'
    case 'dcd':
      return 'a DCD trajectory (binary)'
    case 'xtc':
      return 'an XTC trajectory (GROMACS, binary)'
    case 'trr':
      return 'a TRR trajectory (GROMACS, binary)'
    case 'mmtf':
      return 'an MMTF file (binary, MessagePack)'
    case 'bcif':
      return 'a BinaryCIF file (binary, MessagePack)'
    case 'pdb':
      return 'a PDB file'
    case 'pqr':
      return 'a PQR file'
    case 'cif':
      return 'an mmCIF/PDBx file'
    case 'xyz':
      return 'an XYZ file (its first line is an atom count, the third an element and x y z)'
    case 'tinker':
      return 'a Tinker XYZ file'
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
  xyz: 'rename it to .xyz (dataset import reads XYZ by its content)',
  gro: 'rename it to .gro (dataset import reads GRO by its content)',
  dcd: 'a DCD holds coordinates only; import it together with its topology (PDB or GRO)',
  xtc: 'an XTC holds coordinates only; import it together with its topology (PDB or GRO)',
  trr: 'a TRR holds coordinates only; import it together with its topology (PDB or GRO)',
  mmtf: 'MMTF is not read; download or convert it to mmCIF or PDB (e.g. from rcsb.org)',
  bcif: 'BinaryCIF is not read; download or convert it to text mmCIF or PDB',
  tar: 'extract it (tar -xf FILE) and import the files inside',
  zip: 'extract it (unzip FILE) and import the files inside',
  xz: 'decompress it (xz -d FILE) or recompress it with gzip',
  zstd: 'decompress it (zstd -d FILE) or recompress it with gzip',
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

/** the advice for a format that is refused or misplaced, if any */
export function adviceFor(kind: SniffedFormat): string | undefined {
  return ADVICE[kind]
}
