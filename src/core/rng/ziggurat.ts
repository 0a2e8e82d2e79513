/**
 * Ziggurat normals on Philox4x32-10 words: the sampler's noise since noise kind 'ziggurat'
 * (docs/random-numbers.md). Like the Box–Muller normals of normals.ts, normal n of stream
 * (seed, stream) is a pure function of (seed, stream, n), so runs stay checkpointable, shardable
 * and bit-identical however they are split.
 *
 *  - Normal n starts from word n mod 4 of Philox block ⌊n/4⌋ (counter (⌊n/4⌋ mod 2³², ⌊n/4/2³²⌋,
 *    stream, 0), key (seed mod 2³², ⌊seed/2³²⌋), the same blocks Box–Muller uses).
 *  - The word w picks layer i = w & 255 of a 256-layer ziggurat (Marsaglia & Tsang 2000,
 *    r = 3.6541528853610088, layer area v = 4.92867323399·10⁻³), the sign from bit 8 and
 *    u = (⌊w/2⁹⌋ + ½)/2²³ ∈ (0, 1) from the top 23 bits; z = ±u·x[i] when u < x[i+1]/x[i]
 *    (inside the layer's inner rectangle: 98.5 % of words).
 *  - Otherwise (wedge, base-layer tail, or the top cap) the exact rejection steps draw further
 *    words from the extra blocks (counter (⌊n/4⌋ …, stream, 1 + lane + 4k), k = 0, 1, …), read in
 *    order: a wedge test uses one word as a uniform, a new attempt one word as above, the tail
 *    (Marsaglia 1964: a = −ln U₁ / r, b = −ln U₂ until 2b > a², z = ±(r + a)) two per try.
 *
 * The fast path runs in a WebAssembly kernel (ziggurat.wat, bytes in ziggurat-wasm.ts) that hands
 * the rare slow words back to `slowNormal` below, so the kernel and the JavaScript reference
 * (fillBlocksReference) give the same float32 bit for bit (tests/unit/core/ziggurat.test.ts).
 */
import { philox4x32 } from './philox'
import { ZIGGURAT_WASM_BASE64 } from './ziggurat-wasm'
import { decodeBase64 } from '../base64'

/** the base layer's edge r and each layer's area v for 256 layers (Marsaglia & Tsang 2000) */
export const ZIG_R = 3.6541528853610088
export const ZIG_V = 4.92867323399e-3
export const ZIG_LAYERS = 256

const INV_TWO32 = 1 / 4294967296
const INV_TWO23 = 1 / 8388608

function density(x: number): number {
  return Math.exp(-0.5 * x * x)
}

/**
 * x[i]: the layers' widths, x[0] = v/f(r) (the base layer's equivalent width), x[1] = r,
 * x[i+1] = f⁻¹(f(x[i]) + v/x[i]), x[256] = 0; f = exp(−x²/2) unnormalised. k[i] = x[i+1]/x[i];
 * fx[i] = f(x[i]) with fx[256] = 1.
 */
function buildTables(): { x: Float64Array; k: Float64Array; fx: Float64Array } {
  const x = new Float64Array(ZIG_LAYERS + 1)
  x[0] = ZIG_V / density(ZIG_R)
  x[1] = ZIG_R
  for (let i = 1; i < ZIG_LAYERS - 1; i++) x[i + 1] = Math.sqrt(-2 * Math.log(ZIG_V / x[i]! + density(x[i]!)))
  x[ZIG_LAYERS] = 0
  const k = new Float64Array(ZIG_LAYERS)
  for (let i = 0; i < ZIG_LAYERS; i++) k[i] = x[i + 1]! / x[i]!
  const fx = new Float64Array(ZIG_LAYERS + 1)
  for (let i = 0; i < ZIG_LAYERS; i++) fx[i] = density(x[i]!)
  fx[ZIG_LAYERS] = 1
  return { x, k, fx }
}

export const ZIG_TABLES = buildTables()
const X = ZIG_TABLES.x
const K = ZIG_TABLES.k
const FX = ZIG_TABLES.fx

/** reads the extra words of one normal: blocks (c0, c1, stream, 1 + lane + 4j), j = 0, 1, … */
class ExtraWords {
  private readonly buf = new Uint32Array(4)
  private used = 4
  private j = 0
  c0 = 0
  c1 = 0
  stream = 0
  k0 = 0
  k1 = 0
  lane = 0

  reset(c0: number, c1: number, stream: number, k0: number, k1: number, lane: number): void {
    this.c0 = c0
    this.c1 = c1
    this.stream = stream
    this.k0 = k0
    this.k1 = k1
    this.lane = lane
    this.used = 4
    this.j = 0
  }

  next(): number {
    if (this.used === 4) {
      philox4x32(this.c0, this.c1, this.stream, (1 + this.lane + 4 * this.j) >>> 0, this.k0, this.k1, this.buf)
      this.j++
      this.used = 0
    }
    return this.buf[this.used++]!
  }
}

const extra = new ExtraWords()

/** how many words took the slow path (tests read it to see that the wedge and tail ran) */
export const zigStats = { slow: 0, tail: 0 }

/**
 * The normal of a word that missed its layer's inner rectangle (lane 0–3 of block (c0, c1)):
 * the exact rejection steps, drawing the extra words of that normal.
 */
export function slowNormal(c0: number, c1: number, stream: number, k0: number, k1: number, lane: number, w: number): number {
  zigStats.slow++
  extra.reset(c0 >>> 0, c1 >>> 0, stream >>> 0, k0 >>> 0, k1 >>> 0, lane)
  w >>>= 0
  for (;;) {
    const i = w & 255
    const neg = (w & 256) !== 0
    const u = ((w >>> 9) + 0.5) * INV_TWO23
    const z = u * X[i]!
    if (u < K[i]!) return neg ? -z : z
    if (i === 0) {
      zigStats.tail++
      for (;;) {
        const a = -Math.log((extra.next() + 0.5) * INV_TWO32) / ZIG_R
        const b = -Math.log((extra.next() + 0.5) * INV_TWO32)
        if (b + b > a * a) return neg ? -(ZIG_R + a) : ZIG_R + a
      }
    }
    const y = FX[i]! + (extra.next() + 0.5) * INV_TWO32 * (FX[i + 1]! - FX[i]!)
    if (y < density(z)) return neg ? -z : z
    w = extra.next()
  }
}

/** the normal of word w (lane `lane` of block (c0, c1)) exactly as the kernel makes it */
function normalOfWord(w: number, c0: number, c1: number, stream: number, k0: number, k1: number, lane: number): number {
  const i = w & 255
  const u = ((w >>> 9) + 0.5) * INV_TWO23
  if (u < K[i]!) {
    const z = u * X[i]!
    return (w & 256) !== 0 ? -z : z
  }
  return slowNormal(c0, c1, stream, k0, k1, lane, w)
}

const words = new Uint32Array(4)

/** the four normals of block (c0, c1) into out[o … o+3] (JavaScript reference of the kernel) */
function referenceBlock(out: Float32Array | Float64Array, o: number, c0: number, c1: number, stream: number, k0: number, k1: number): void {
  philox4x32(c0, c1, stream, 0, k0, k1, words, 0)
  for (let lane = 0; lane < 4; lane++) out[o + lane] = normalOfWord(words[lane]!, c0, c1, stream, k0, k1, lane)
}

/** the JavaScript reference: n whole blocks from block b0 into out[o …] */
export function fillBlocksReference(out: Float32Array | Float64Array, o: number, b0: number, nBlocks: number, k0: number, k1: number, stream: number): void {
  let c1 = Math.floor(b0 / 4294967296) >>> 0
  let c0 = (b0 - c1 * 4294967296) >>> 0
  for (let nb = 0; nb < nBlocks; nb++, o += 4) {
    referenceBlock(out, o, c0, c1, stream, k0, k1)
    c0 = (c0 + 1) >>> 0
    if (c0 === 0) c1 = (c1 + 1) >>> 0
  }
}

interface Kernel {
  fill(o: number, n: number, c0: number, c1: number, s: number, k0: number, k1: number): void
  out: Float32Array
}

/** output area of the kernel's memory: from byte 4096, 16 384 normals (64 KiB) per call */
const OUT_BYTE = 4096
const CHUNK_BLOCKS = 4096

let kernel: Kernel | null | undefined

/** the WebAssembly kernel, compiled on first use (null where WebAssembly is unavailable) */
export function zigguratKernel(): Kernel | null {
  if (kernel !== undefined) return kernel
  try {
    const bytes = decodeBase64(ZIGGURAT_WASM_BASE64)
    if (!bytes) throw new Error('ziggurat-wasm.ts: not base64')
    const module = new WebAssembly.Module(bytes as BufferSource)
    const instance = new WebAssembly.Instance(module, { zig: { slow: slowNormal } })
    const memory = instance.exports.memory as WebAssembly.Memory
    new Float64Array(memory.buffer, 0, ZIG_LAYERS).set(K)
    new Float64Array(memory.buffer, 2048, ZIG_LAYERS).set(X.subarray(0, ZIG_LAYERS))
    kernel = { fill: instance.exports.fill as Kernel['fill'], out: new Float32Array(memory.buffer, OUT_BYTE, CHUNK_BLOCKS * 4) }
  } catch {
    kernel = null
  }
  return kernel
}

/**
 * Normals 4b … of whole blocks b = b0 … b0+nBlocks−1 into out[o …] through the kernel (or the
 * reference where there is no WebAssembly). `useKernel: false` forces the reference (tests).
 */
export function fillZigguratBlocks(out: Float32Array, o: number, b0: number, nBlocks: number, k0: number, k1: number, stream: number, useKernel = true): void {
  const kern = useKernel ? zigguratKernel() : null
  if (!kern) {
    fillBlocksReference(out, o, b0, nBlocks, k0, k1, stream)
    return
  }
  let b = b0
  let left = nBlocks
  while (left > 0) {
    const n = Math.min(left, CHUNK_BLOCKS)
    const c1 = Math.floor(b / 4294967296) >>> 0
    const c0 = (b - c1 * 4294967296) >>> 0
    kern.fill(OUT_BYTE, n, c0 | 0, c1 | 0, stream | 0, k0 | 0, k1 | 0)
    out.set(n === CHUNK_BLOCKS ? kern.out : kern.out.subarray(0, 4 * n), o)
    o += 4 * n
    b += n
    left -= n
  }
}

const partial = new Float64Array(4)

/** the four normals of block b (for partial blocks at either end of a range) */
export function zigguratBlock(b: number, k0: number, k1: number, stream: number): Float64Array {
  fillBlocksReference(partial, 0, b, 1, k0, k1, stream)
  return partial
}
