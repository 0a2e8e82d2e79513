/**
 * Multi-frame XYZ: per frame a line with the atom count, a comment line, then one line per atom
 * "Symbol x y z" (Å; extra columns ignored). Frames follow each other directly. Our writer puts
 * frame information in the comment as `key=value` pairs (e.g. `frame=3 replica=0 time_ps=6`),
 * which parseXyzComment reads back. Every frame must have the same atom count and symbols.
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
      if (parts.length < 4) throw new UserError(`${file}: line ${ln + 1}: expected "Symbol x y z", got '${line.trim().slice(0, 60)}'`, 'parse')
      const sym = parts[0]!
      for (let k = 0; k < 3; k++) {
        const s = parts[k + 1]!
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
  return { symbols, nAtoms, nFrames, frames: buf.slice(0, nFrames * 3 * nAtoms), comments }
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
