/**
 * The kernels as they were before the speed work of issue 12, kept only so that the benches can
 * print before/after side by side in one run (a loaded machine's absolute numbers drift; ratios
 * measured in one process hold). Not used by the app.
 */
import { philox4x32 } from '../src/core/rng/philox'

const TWO32 = 4294967296
const INV_TWO32 = 1 / TWO32
const TWO_PI = 2 * Math.PI
const words = new Uint32Array(4)
const block = new Float64Array(4)

/** fillNormals before: one Philox call per block through philox4x32, then Box–Muller */
export function fillNormalsBefore(out: Float32Array, seed: number, stream: number, start: number, outOffset: number, count: number): void {
  const k0 = seed >>> 0
  const k1 = Math.floor(seed / TWO32) >>> 0
  let n = start
  let o = outOffset
  const end = outOffset + count
  while (o < end) {
    const b = Math.floor(n / 4)
    const lane = n - 4 * b
    philox4x32(b >>> 0, Math.floor(b / TWO32) >>> 0, stream, 0, k0, k1, words, 0)
    const r0 = Math.sqrt(-2 * Math.log((words[0]! + 0.5) * INV_TWO32))
    const t0 = TWO_PI * (words[1]! + 0.5) * INV_TWO32
    const r1 = Math.sqrt(-2 * Math.log((words[2]! + 0.5) * INV_TWO32))
    const t1 = TWO_PI * (words[3]! + 0.5) * INV_TWO32
    block[0] = r0 * Math.cos(t0)
    block[1] = r0 * Math.sin(t0)
    block[2] = r1 * Math.cos(t1)
    block[3] = r1 * Math.sin(t1)
    const take = Math.min(4 - lane, end - o)
    for (let i = 0; i < take; i++) out[o + i] = block[lane + i]!
    o += take
    n += take
  }
}
