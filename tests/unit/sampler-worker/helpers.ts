/** Helpers the sampler-worker engine tests share. */
import { expect } from 'vitest'

/** largest |a − b| over two arrays of the same length */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length)
  let m = 0
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!))
  return m
}

/** largest |a − b| over two runs' frames (the same number of frames) */
export function worstFrameDiff(a: Float32Array[], b: Float32Array[]): number {
  expect(a.length).toBe(b.length)
  return Math.max(0, ...a.map((f, i) => maxAbsDiff(f, b[i]!)))
}
