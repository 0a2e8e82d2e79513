/**
 * Seeded, counter-based standard normal numbers (checkpointable: a stream position is one integer).
 *
 * Normal number n of stream (seed, stream) comes from Philox4x32-10 block ⌊n/4⌋ with
 *   key     = (seed mod 2³², ⌊seed/2³²⌋)                 (seed < 2⁵³: both halves used)
 *   counter = (⌊n/4⌋ mod 2³², ⌊⌊n/4⌋/2³²⌋, stream, 0)
 * whose four words w₀..w₃ become uniforms uᵢ = (wᵢ + ½)/2³² ∈ (0, 1) (never 0 or 1), and then by
 * Box–Muller normals 4b+0, 4b+1 = √(−2 ln u₀)·(cos 2πu₁, sin 2πu₁), 4b+2, 4b+3 likewise from u₂, u₃.
 * So every normal is a pure function of (seed, stream, n), whatever chunks it is drawn in.
 * (32-bit uniforms cap |z| at √(2·33·ln 2) ≈ 6.8; P(|z| > 6.8) ≈ 10⁻¹¹ for a true normal.)
 */
import { UserError } from '../errors'
import { philox4x32 } from './philox'
import { fillZigguratBlocks, zigguratBlock } from './ziggurat'

/**
 * How a stream's Philox words become normals: 'box-muller' (above; training, initial states, and
 * sampler runs made before noise kinds existed) or 'ziggurat' (ziggurat.ts; the sampler's noise
 * since then: the same distribution, several times cheaper). docs/random-numbers.md.
 */
export type NoiseKind = 'box-muller' | 'ziggurat'
export const NOISE_KINDS: readonly NoiseKind[] = ['box-muller', 'ziggurat']

const TWO32 = 4294967296
const INV_TWO32 = 1 / TWO32
const TWO_PI = 2 * Math.PI

const words = new Uint32Array(4)
const block = new Float64Array(4)

function checkSeed(seed: number): void {
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new UserError(`seed must be a whole number from 0 to 2^53−1, got ${seed}`, 'bad-seed')
  }
}

function checkStream(stream: number): void {
  if (!Number.isInteger(stream) || stream < 0 || stream > 0xffffffff) {
    throw new UserError(`random stream (replica index) must be a whole number from 0 to 2^32−1, got ${stream}`, 'bad-seed')
  }
}

function checkPosition(position: number, what: string): void {
  if (!Number.isSafeInteger(position) || position < 0) {
    throw new RangeError(`${what} must be a whole number from 0 to 2^53−1, got ${position}`)
  }
}

/** Box–Muller on the four Philox words in `words`: normals into dst[o … o+3] */
function boxMuller(dst: Float32Array | Float64Array, o: number): void {
  const r0 = Math.sqrt(-2 * Math.log((words[0]! + 0.5) * INV_TWO32))
  const t0 = TWO_PI * (words[1]! + 0.5) * INV_TWO32
  const r1 = Math.sqrt(-2 * Math.log((words[2]! + 0.5) * INV_TWO32))
  const t1 = TWO_PI * (words[3]! + 0.5) * INV_TWO32
  dst[o] = r0 * Math.cos(t0)
  dst[o + 1] = r0 * Math.sin(t0)
  dst[o + 2] = r1 * Math.cos(t1)
  dst[o + 3] = r1 * Math.sin(t1)
}

/** the four normals of block b, in `block` (float64; a Float32Array store rounds them as fillBlocks does) */
function normalBlock(b: number, k0: number, k1: number, stream: number): Float64Array {
  philox4x32(b >>> 0, Math.floor(b / TWO32) >>> 0, stream, 0, k0, k1, words, 0)
  boxMuller(block, 0)
  return block
}

/**
 * Normals 4b … 4b+3 for whole blocks b = b0 … b0+nBlocks−1 straight into out[o …], the same
 * values as normalBlock (tests/unit/core/rng-fast.test.ts checks them against a BigInt Philox).
 * Requires b0 + nBlocks ≤ 2^53/4; the counter's high word is carried exactly.
 */
function fillBlocks(out: Float32Array, o: number, b0: number, nBlocks: number, k0: number, k1: number, stream: number): void {
  let c1 = Math.floor(b0 / TWO32) >>> 0
  let c0 = (b0 - c1 * TWO32) >>> 0
  for (let nb = 0; nb < nBlocks; nb++, o += 4) {
    philox4x32(c0, c1, stream, 0, k0, k1, words, 0)
    boxMuller(out, o)
    c0 = (c0 + 1) >>> 0
    if (c0 === 0) c1 = (c1 + 1) >>> 0
  }
}

/**
 * Standard normal number n (n = 0,1,2,… < 2^53) of stream (seed, stream) is a pure function of
 * (seed, stream, n). Writes normals start … start+count−1 into out[outOffset …].
 * seed: integer in [0, 2⁵³); stream: uint32 (e.g. the replica index);
 * count defaults to out.length − outOffset. Allocation-free. Whole blocks go through the batched
 * kernel fillBlocks; a partial block at either end through normalBlock (the same values).
 */
export function fillNormals(out: Float32Array, seed: number, stream: number, start: number, outOffset?: number, count?: number): void {
  fillNormalsOf('box-muller', out, seed, stream, start, outOffset, count)
}

/** fillNormals with the given noise kind ('box-muller' is fillNormals itself) */
export function fillNormalsOf(
  kind: NoiseKind,
  out: Float32Array,
  seed: number,
  stream: number,
  start: number,
  outOffset = 0,
  count: number = out.length - outOffset
): void {
  checkSeed(seed)
  checkStream(stream)
  checkPosition(start, 'start')
  if (!Number.isInteger(outOffset) || !Number.isInteger(count) || outOffset < 0 || count < 0 || outOffset + count > out.length) {
    throw new RangeError(`fillNormals: range [${outOffset}, ${outOffset}+${count}) outside an array of ${out.length}`)
  }
  checkPosition(start + count, 'start + count')
  if (!NOISE_KINDS.includes(kind)) throw new RangeError(`noise kind must be one of ${NOISE_KINDS.join(', ')}, got ${String(kind)}`)
  // one block (partial ends) and whole blocks (the batched kernel) of this kind
  const blockOf = kind === 'ziggurat' ? zigguratBlock : normalBlock
  const fillWhole = kind === 'ziggurat' ? fillZigguratBlocks : fillBlocks
  const k0 = seed >>> 0
  const k1 = Math.floor(seed / TWO32) >>> 0
  let n = start
  let o = outOffset
  const end = outOffset + count
  // head: the rest of a block begun before `start`
  if (n % 4 !== 0 && o < end) {
    const b = Math.floor(n / 4)
    const lane = n - 4 * b
    const vals = blockOf(b, k0, k1, stream)
    const take = Math.min(4 - lane, end - o)
    for (let i = 0; i < take; i++) out[o + i] = vals[lane + i]!
    o += take
    n += take
  }
  const whole = Math.floor((end - o) / 4)
  if (whole > 0) {
    fillWhole(out, o, n / 4, whole, k0, k1, stream)
    o += 4 * whole
    n += 4 * whole
  }
  // tail: the first lanes of one more block
  if (o < end) {
    const vals = blockOf(n / 4, k0, k1, stream)
    const take = end - o
    for (let i = 0; i < take; i++) out[o + i] = vals[i]!
  }
}

/** A position in one normal stream (seed, stream): fill() draws the next normals and advances. */
export class NormalStream {
  private pos: number

  constructor(
    readonly seed: number,
    readonly stream: number,
    position = 0
  ) {
    checkSeed(seed)
    checkStream(stream)
    checkPosition(position, 'position')
    this.pos = position
  }

  /** writes the next `count` normals (default: out.length − offset) into out[offset …] */
  fill(out: Float32Array, offset = 0, count: number = out.length - offset): void {
    fillNormals(out, this.seed, this.stream, this.pos, offset, count)
    this.pos += count
  }

  /** index of the next normal this stream will draw */
  get position(): number {
    return this.pos
  }

  /** moves to an absolute position (e.g. when rewinding a Picard window) */
  seek(position: number): void {
    checkPosition(position, 'position')
    this.pos = position
  }

  /** checkpoint: `new NormalStream(j.seed, j.stream, j.position)` continues identically */
  toJSON(): { seed: number; stream: number; position: number } {
    return { seed: this.seed, stream: this.stream, position: this.pos }
  }

  static fromJSON(j: { seed: number; stream: number; position: number }): NormalStream {
    return new NormalStream(j.seed, j.stream, j.position)
  }
}
