/**
 * Counter-based uniforms for training (batch indices, σ draws, data split): uniform n of
 * (seed, stream) is a pure function of n, so a resumed run draws exactly what an uninterrupted
 * one would. Philox4x32-10 as in rng/normals.ts, but with counter word 3 = 1 so these words never
 * coincide with the normals' (which use 0).
 */
import { philox4x32 } from '../rng/philox'

const TWO32 = 4294967296
const words = new Uint32Array(4)

/** out[i] = uniform (start + i) of (seed, stream), in (0, 1) */
export function fillUniforms(out: Float64Array, seed: number, stream: number, start: number, count = out.length): void {
  const k0 = seed >>> 0
  const k1 = Math.floor(seed / TWO32) >>> 0
  let n = start
  let o = 0
  while (o < count) {
    const b = Math.floor(n / 4)
    const lane = n - 4 * b
    philox4x32(b >>> 0, Math.floor(b / TWO32) >>> 0, stream >>> 0, 1, k0, k1, words, 0)
    const take = Math.min(4 - lane, count - o)
    for (let i = 0; i < take; i++) out[o + i] = (words[lane + i]! + 0.5) / TWO32
    o += take
    n += take
  }
}

/** a seeded permutation of 0…n−1 (Fisher–Yates over uniforms of `stream`) */
export function permutation(n: number, seed: number, stream: number): Int32Array {
  const p = new Int32Array(n)
  for (let i = 0; i < n; i++) p[i] = i
  const u = new Float64Array(Math.max(n, 1))
  fillUniforms(u, seed, stream, 0, n)
  for (let i = n - 1; i > 0; i--) {
    const j = Math.min(i, Math.floor(u[i]! * (i + 1)))
    const t = p[i]!
    p[i] = p[j]!
    p[j] = t
  }
  return p
}
