/**
 * Multi-frame XYZ: per frame a line with the atom count, a comment line, then one line per atom
 * "Symbol x y z" (Å; extra columns ignored). Frames follow each other directly. Our writer puts
 * frame information in the comment as `key=value` pairs (e.g. `frame=3 replica=0 time_ps=6`),
 * which parseXyzComment reads back. Every frame must have the same atom count and symbols.
 *
 * Extended XYZ (ASE, QUIP): the comment holds `Properties=species:S:1:pos:R:3:…` naming the columns
 * (species and pos are found wherever they are) and `Lattice="ax ay az bx by bz cx cy cz"` (Å).
 * Tinker XYZ/ARC (an atom count and title on one line, then "index name x y z type bonded…", an
 * optional box line) is read by readTinkerXyz. See docs/formats.md.
 */
import { UserError } from '../errors'

export interface XyzReadResult {
  symbols: string[]
  nAtoms: number
  nFrames: number
  /** [nFrames, 3N] Å */
  frames: Float32Array
  /** the comment line of each frame */
  comments: string[]
  /** Lattice="…" of the first frame's extended-XYZ comment: 9 numbers, Å (rows a, b, c) */
  lattice?: number[]
}

/** the 0-based columns of species and pos from an extended-XYZ Properties= value, or undefined */
function extendedColumns(comment: string, file: string, line: number): { species: number; pos: number } | undefined {
  const m = /(?:^|\s)Properties=(\S+)/i.exec(comment)
  if (!m) return undefined
  const parts = m[1]!.split(':')
  let col = 0
  let species = -1
  let pos = -1
  for (let k = 0; k + 2 < parts.length; k += 3) {
    const name = parts[k]!.toLowerCase()
    const count = Number(parts[k + 2])
    if (!Number.isInteger(count) || count < 1) throw new UserError(`${file}: line ${line}: extended-XYZ Properties '${m[1]!.slice(0, 60)}' has a bad column count '${parts[k + 2]}'`, 'parse')
    if (name === 'species' || (name === 'element' && species < 0)) species = col
    if (name === 'pos' && count === 3) pos = col
    col += count
  }
  if (species < 0 || pos < 0) throw new UserError(`${file}: line ${line}: extended-XYZ Properties '${m[1]!.slice(0, 60)}' has no species or no pos:R:3 column`, 'parse')
  return { species, pos }
}

const NUM = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/

export function readXyz(text: string, file: string): XyzReadResult {
  const lines = text.split(/\r\n|\r|\n/)
  if (text.trim().length === 0) throw new UserError(`${file}: the file is empty; expected an XYZ atom count on line 1`, 'parse')
  let i = 0
  let nAtoms = -1
  let symbols: string[] = []
  const comments: string[] = []
  let buf = new Float32Array(0)
  let nFrames = 0
  let lattice: number[] | undefined
  while (i < lines.length) {
    if (lines[i]!.trim() === '') {
      i++
      continue
    }
    const countLine = lines[i]!.trim()
    if (!/^\d+$/.test(countLine)) {
      throw new UserError(`${file}: line ${i + 1}: expected the atom count of frame ${nFrames + 1} (an integer), got '${countLine.slice(0, 40)}'`, 'parse')
    }
    const n = parseInt(countLine, 10)
    if (n === 0) throw new UserError(`${file}: line ${i + 1}: frame ${nFrames + 1} has 0 atoms`, 'parse')
    if (nAtoms < 0) {
      nAtoms = n
    } else if (n !== nAtoms) {
      throw new UserError(`${file}: line ${i + 1}: frame ${nFrames + 1} has ${n} atoms but frame 1 has ${nAtoms}; all frames must have the same atoms`, 'parse')
    }
    if (i + 1 >= lines.length) throw new UserError(`${file}: line ${i + 2}: frame ${nFrames + 1} is truncated (expected a comment line and ${n} atom lines)`, 'parse')
    // a count larger than the lines left cannot be right (and must not size a buffer)
    if (n > lines.length - i - 2) {
      throw new UserError(`${file}: line ${i + 1}: frame ${nFrames + 1} says ${countLine.length > 12 ? `${countLine.slice(0, 12)}…` : n} atoms but only ${Math.max(0, lines.length - i - 2)} lines follow its comment line`, 'parse')
    }
    comments.push(lines[i + 1]!)
    const ext = extendedColumns(lines[i + 1]!, file, i + 2)
    const cols = ext ?? { species: 0, pos: 1 }
    if (nFrames === 0 && ext) {
      const lat = /Lattice="([^"]*)"/i.exec(lines[i + 1]!)
      const v = lat ? lat[1]!.trim().split(/\s+/).map(Number) : []
      if (v.length === 9 && v.every((x) => Number.isFinite(x))) lattice = v
    }
    if ((nFrames + 1) * 3 * n > buf.length) {
      const grown = new Float32Array(Math.max(3 * n * 4, buf.length * 2))
      grown.set(buf)
      buf = grown
    }
    const off = nFrames * 3 * n
    const frameSymbols: string[] = nFrames === 0 ? [] : symbols
    for (let a = 0; a < n; a++) {
      const ln = i + 2 + a
      const line = lines[ln]
      if (line === undefined || line.trim() === '') {
        throw new UserError(`${file}: line ${ln + 1}: frame ${nFrames + 1} is truncated after ${a} of ${n} atoms (expected "Symbol x y z")`, 'parse')
      }
      const parts = line.trim().split(/\s+/)
      if (parts.length < Math.max(4, cols.pos + 3, cols.species + 1)) throw new UserError(`${file}: line ${ln + 1}: expected "Symbol x y z"${ext ? ' in the columns its Properties= names' : ''}, got '${line.trim().slice(0, 60)}'`, 'parse')
      const sym = parts[cols.species]!
      for (let k = 0; k < 3; k++) {
        const s = parts[cols.pos + k]!
        if (!NUM.test(s)) throw new UserError(`${file}: line ${ln + 1}: ${'xyz'[k]} coordinate '${s.slice(0, 20)}' is not a number`, 'parse')
        const v = Math.fround(Number(s))
        if (!Number.isFinite(v)) throw new UserError(`${file}: line ${ln + 1}: ${'xyz'[k]} coordinate '${s.slice(0, 20)}' is out of range (|x| ≥ 3.4e38 Å)`, 'parse')
        buf[off + 3 * a + k] = v
      }
      if (nFrames === 0) {
        frameSymbols.push(sym)
      } else if (symbols[a] !== sym) {
        throw new UserError(`${file}: line ${ln + 1}: frame ${nFrames + 1} atom ${a + 1} is '${sym}' but frame 1 has '${symbols[a]}'; all frames must have the same atoms`, 'parse')
      }
    }
    if (nFrames === 0) symbols = frameSymbols
    nFrames++
    i += 2 + n
  }
  return { symbols, nAtoms, nFrames, frames: buf.slice(0, nFrames * 3 * nAtoms), comments, ...(lattice ? { lattice } : {}) }
}

/**
 * Tinker XYZ / ARC: per frame "count title", an optional box line (6 numbers: a b c α β γ), then
 * "index name x y z type bonded…" per atom (Å). Names are Tinker atom names; symbols are the names.
 */
export function readTinkerXyz(text: string, file: string): XyzReadResult {
  const lines = text.split(/\r\n|\r|\n/)
  const out: string[] = []
  let i = 0
  // rewritten as a standard XYZ (count, comment, "name x y z") and read by readXyz, so checks are shared
  while (i < lines.length) {
    if (lines[i]!.trim() === '') {
      i++
      continue
    }
    const m = /^\s*(\d+)\s*(.*)$/.exec(lines[i]!)
    if (!m) throw new UserError(`${file}: line ${i + 1}: expected a Tinker header "atom-count title", got '${lines[i]!.trim().slice(0, 40)}'`, 'parse')
    const n = Number(m[1])
    out.push(m[1]!, m[2]!)
    i++
    const maybeBox = (lines[i] ?? '').trim().split(/\s+/)
    if (maybeBox.length === 6 && maybeBox.every((s) => NUM.test(s))) i++
    for (let a = 0; a < n; a++, i++) {
      const f = (lines[i] ?? '').trim().split(/\s+/)
      if (f.length < 5 || !/^\d+$/.test(f[0]!)) throw new UserError(`${file}: line ${i + 1}: expected a Tinker atom line "index name x y z type bonded…", got '${(lines[i] ?? '').trim().slice(0, 60)}'`, 'parse')
      out.push(`${f[1]} ${f[2]} ${f[3]} ${f[4]}`)
    }
  }
  // the rewritten text has the same line numbers only frame-wise; errors name the frame and atom
  return readXyz(out.join('\n'), file)
}

/** `key=value` pairs of a comment line (values without spaces); other words are ignored */
export function parseXyzComment(comment: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const m of comment.matchAll(/([A-Za-z_][\w.-]*)=(\S+)/g)) out[m[1]!] = m[2]!
  return out
}

/** One frame as text (lines end in \n): count, comment, "Symbol x y z" with 5 decimals. */
export function xyzFrameText(symbols: readonly string[], coords: Float32Array | Float64Array, comment: string, offset = 0): string {
  const n = symbols.length
  const lines: string[] = [String(n), comment.replace(/[\r\n]+/g, ' ')]
  for (let a = 0; a < n; a++) {
    const o = offset + 3 * a
    const f = (v: number): string => {
      if (!Number.isFinite(v)) throw new RangeError(`atom ${a + 1} has a non-finite coordinate (${v})`)
      return v.toFixed(5).padStart(12, ' ')
    }
    lines.push(`${(symbols[a] || 'X').padEnd(3, ' ')}${f(coords[o]!)}${f(coords[o + 1]!)}${f(coords[o + 2]!)}`)
  }
  return lines.join('\n') + '\n'
}

/** A whole multi-frame XYZ text; comments default to `frame=<i>`. */
export function writeXyz(symbols: readonly string[], frames: Float32Array, nFrames: number, comments?: readonly string[]): string {
  const n3 = 3 * symbols.length
  const parts: string[] = []
  for (let f = 0; f < nFrames; f++) parts.push(xyzFrameText(symbols, frames, comments?.[f] ?? `frame=${f}`, f * n3))
  return parts.join('')
}
