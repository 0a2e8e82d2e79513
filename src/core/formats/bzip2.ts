/**
 * bzip2 decompression in pure TypeScript (no dependency; runs in Node, workers and the renderer).
 * The format (Seward's bzip2 1.0): "BZh1"…"BZh9", then blocks of Huffman-coded MTF/RLE2 symbols over
 * a Burrows–Wheeler transform of RLE1-coded bytes, each with its CRC; concatenated streams (pbzip2,
 * `cat a.bz2 b.bz2`) are decoded one after another. Every CRC is checked. See docs/formats.md.
 */
import { UserError } from '../errors'

/** true when the bytes start with "BZh" and a block size digit 1–9 */
export function isBzip2(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x42 && bytes[1] === 0x5a && bytes[2] === 0x68 && bytes[3]! >= 0x31 && bytes[3]! <= 0x39
}

class Corrupt extends Error {}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256)
  for (let i = 0; i < 256; i++) {
    let c = i << 24
    for (let k = 0; k < 8; k++) c = c & 0x80000000 ? (c << 1) ^ 0x04c11db7 : c << 1
    t[i] = c >>> 0
  }
  return t
})()

class BitReader {
  private buf = 0 // up to 24 pending bits, most significant first
  private n = 0
  private byte = 0
  constructor(private readonly b: Uint8Array) {}
  bits(count: number): number {
    let v = 0
    let want = count
    while (want > 0) {
      if (this.n === 0) {
        if (this.byte >= this.b.length) throw new Corrupt('the data ends in the middle of a block (truncated)')
        this.buf = this.b[this.byte++]!
        this.n = 8
      }
      const take = Math.min(want, this.n)
      v = v * (1 << take) + ((this.buf >>> (this.n - take)) & ((1 << take) - 1))
      this.n -= take
      want -= take
    }
    return v
  }
  bit(): number {
    return this.bits(1)
  }
  alignToByte(): void {
    this.n = 0
  }
  get bytesLeft(): number {
    return this.b.length - this.byte
  }
}

/** growable output with a size limit */
class Output {
  data: Uint8Array
  length = 0
  constructor(private readonly max: number) {
    this.data = new Uint8Array(Math.max(0, Math.min(1 << 16, max)))
  }
  push(byte: number): void {
    if (this.length === this.data.length) {
      if (this.length >= this.max) throw new RangeError(String(this.max))
      const grown = new Uint8Array(Math.min(this.max, this.data.length * 2))
      grown.set(this.data)
      this.data = grown
    }
    this.data[this.length++] = byte
  }
}

interface Table {
  limit: Int32Array
  base: Int32Array
  perm: Int32Array
  minLen: number
  maxLen: number
}

function makeTable(lengths: Uint8Array, alphaSize: number): Table {
  let minLen = 32
  let maxLen = 0
  for (let i = 0; i < alphaSize; i++) {
    minLen = Math.min(minLen, lengths[i]!)
    maxLen = Math.max(maxLen, lengths[i]!)
  }
  const perm = new Int32Array(alphaSize)
  let pp = 0
  for (let len = minLen; len <= maxLen; len++) for (let s = 0; s < alphaSize; s++) if (lengths[s] === len) perm[pp++] = s
  // canonical codes: limit[len] is the largest code of that length, base[len] maps a code to its perm index
  const limit = new Int32Array(22).fill(-1)
  const base = new Int32Array(22)
  let code = 0
  let index = 0
  for (let len = minLen; len <= maxLen; len++) {
    let count = 0
    for (let s = 0; s < alphaSize; s++) if (lengths[s] === len) count++
    base[len] = index - code
    code += count
    index += count
    limit[len] = code - 1
    code <<= 1
  }
  return { limit, base, perm, minLen, maxLen }
}

function decodeSymbol(br: BitReader, t: Table): number {
  let len = t.minLen
  let code = br.bits(len)
  for (;;) {
    if (code <= t.limit[len]!) {
      const sym = t.perm[t.base[len]! + code]
      if (sym === undefined) throw new Corrupt('an invalid Huffman code')
      return sym
    }
    if (++len > t.maxLen) throw new Corrupt('an invalid Huffman code')
    code = (code << 1) | br.bit()
  }
}

/** decodes one block into `out`; returns the block's CRC as computed */
function decodeBlock(br: BitReader, blockSizeMax: number, out: Output): number {
  const storedCrc = br.bits(32)
  if (br.bit()) throw new Corrupt('a randomised block (written by bzip2 0.9.0 or older), which is not supported')
  const origPtr = br.bits(24)
  const inUse16 = br.bits(16)
  const seqToUnseq: number[] = []
  for (let i = 0; i < 16; i++) {
    if (inUse16 & (0x8000 >>> i)) {
      const w = br.bits(16)
      for (let j = 0; j < 16; j++) if (w & (0x8000 >>> j)) seqToUnseq.push(16 * i + j)
    }
  }
  if (seqToUnseq.length === 0) throw new Corrupt('a block that uses no byte values')
  const alphaSize = seqToUnseq.length + 2
  const nGroups = br.bits(3)
  if (nGroups < 2 || nGroups > 6) throw new Corrupt(`${nGroups} Huffman groups (2–6 expected)`)
  const nSelectors = br.bits(15)
  if (nSelectors < 1) throw new Corrupt('no Huffman selectors')
  const mtfGroups = [0, 1, 2, 3, 4, 5].slice(0, nGroups)
  const selectors = new Uint8Array(nSelectors)
  for (let i = 0; i < nSelectors; i++) {
    let j = 0
    while (br.bit()) if (++j >= nGroups) throw new Corrupt('a selector out of range')
    const v = mtfGroups[j]!
    mtfGroups.splice(j, 1)
    mtfGroups.unshift(v)
    selectors[i] = v
  }
  const tables: Table[] = []
  for (let g = 0; g < nGroups; g++) {
    const lengths = new Uint8Array(alphaSize)
    let curr = br.bits(5)
    for (let s = 0; s < alphaSize; s++) {
      for (;;) {
        if (curr < 1 || curr > 20) throw new Corrupt(`a Huffman code length of ${curr} (1–20 expected)`)
        if (!br.bit()) break
        curr += br.bit() ? -1 : 1
      }
      lengths[s] = curr
    }
    tables.push(makeTable(lengths, alphaSize))
  }
  // Huffman → RLE2/MTF → bytes of the BWT, counted per value
  const EOB = alphaSize - 1
  const tt = new Uint32Array(blockSizeMax)
  const counts = new Int32Array(256)
  const mtf = Uint8Array.from({ length: 256 }, (_, i) => i)
  let nblock = 0
  let groupPos = 0
  let selIdx = 0
  let table = tables[0]!
  let runLength = 0
  let runWeight = 1
  const flushRun = (): void => {
    if (runLength === 0) return
    const b = seqToUnseq[mtf[0]!]!
    if (nblock + runLength > blockSizeMax) throw new Corrupt('a block longer than its declared size')
    counts[b]! += runLength
    for (let k = 0; k < runLength; k++) tt[nblock++] = b
    runLength = 0
    runWeight = 1
  }
  for (;;) {
    if (groupPos === 0) {
      if (selIdx >= nSelectors) throw new Corrupt('more symbols than selectors')
      table = tables[selectors[selIdx++]!]!
      groupPos = 50
    }
    groupPos--
    const sym = decodeSymbol(br, table)
    if (sym <= 1) {
      runLength += (sym + 1) * runWeight
      runWeight *= 2
      if (runLength > blockSizeMax) throw new Corrupt('a run longer than the block')
      continue
    }
    flushRun()
    if (sym === EOB) break
    const idx = sym - 1
    if (idx >= seqToUnseq.length) throw new Corrupt('a symbol out of range')
    const v = mtf[idx]!
    mtf.copyWithin(1, 0, idx)
    mtf[0] = v
    const b = seqToUnseq[v]!
    if (nblock >= blockSizeMax) throw new Corrupt('a block longer than its declared size')
    counts[b]!++
    tt[nblock++] = b
  }
  if (origPtr >= nblock) throw new Corrupt(`the BWT origin ${origPtr} is outside the block of ${nblock} bytes`)
  // inverse BWT
  const cftab = new Int32Array(256)
  for (let i = 0, sum = 0; i < 256; i++) {
    cftab[i] = sum
    sum += counts[i]!
  }
  for (let i = 0; i < nblock; i++) {
    const b = tt[i]! & 0xff
    tt[cftab[b]!++]! |= i << 8
  }
  let tPos = tt[origPtr]! >>> 8
  // undo RLE1 (4 equal bytes then a count) while computing the CRC
  let crc = 0xffffffff
  let last = -1
  let same = 0
  const emit = (b: number): void => {
    out.push(b)
    crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ b) & 0xff]!) >>> 0
  }
  for (let k = 0; k < nblock; k++) {
    tPos = tt[tPos]!
    const b = tPos & 0xff
    tPos >>>= 8
    if (same === 4) {
      for (let r = 0; r < b; r++) emit(last)
      same = 0
      last = -1
      continue
    }
    emit(b)
    if (b === last) same++
    else {
      last = b
      same = 1
    }
  }
  crc = ~crc >>> 0
  if (crc !== storedCrc) throw new Corrupt(`a block CRC mismatch (stored ${storedCrc.toString(16)}, computed ${crc.toString(16)})`)
  return crc
}

/**
 * Decompresses a whole .bz2 buffer (every concatenated stream). A corrupt or truncated stream, or
 * output over `maxBytes`, is a one-line UserError naming the file.
 */
export function bunzip2Bytes(bytes: Uint8Array, file: string, maxBytes = 4 * 1024 ** 3): Uint8Array {
  if (!isBzip2(bytes)) throw new UserError(`${file}: not bzip2 data (missing the "BZh" magic)`, 'parse')
  const out = new Output(maxBytes)
  const br = new BitReader(bytes)
  try {
    for (;;) {
      if (br.bits(24) !== 0x425a68) throw new Corrupt('a stream that does not start with "BZh"')
      const level = br.bits(8) - 0x30
      if (level < 1 || level > 9) throw new Corrupt(`block size digit ${level}`)
      let combined = 0
      for (;;) {
        const hi = br.bits(24)
        const lo = br.bits(24)
        if (hi === 0x314159 && lo === 0x265359) {
          const crc = decodeBlock(br, level * 100000, out)
          combined = (((combined << 1) | (combined >>> 31)) ^ crc) >>> 0
        } else if (hi === 0x177245 && lo === 0x385090) {
          const stored = br.bits(32)
          if (stored !== combined) throw new Corrupt('a stream CRC mismatch')
          break
        } else throw new Corrupt('a missing block header')
      }
      br.alignToByte()
      if (br.bytesLeft < 4) break
    }
  } catch (err) {
    if (err instanceof RangeError) {
      throw new UserError(`${file}: decompresses to more than ${maxBytes} bytes, over the import limit per file; split it and import the parts together`, 'too-large')
    }
    if (err instanceof Corrupt) throw new UserError(`${file}: bzip2 data is corrupt or truncated (${err.message})`, 'parse')
    throw err
  }
  return out.data.slice(0, out.length)
}
