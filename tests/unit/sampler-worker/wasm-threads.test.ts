import { describe, expect, it } from 'vitest'
import { MAX_WASM_THREADS, wasmThreads } from '../../../src/renderer/src/sampler/wasm-threads'

describe('wasmThreads: one core always left to the page', () => {
  it('cores − 1, at least 1, at most MAX_WASM_THREADS, with cross-origin isolation', () => {
    const expected: [number, number][] = [
      [1, 1],
      [2, 1],
      [3, 2],
      [4, 3],
      [5, 4],
      [16, MAX_WASM_THREADS],
    ]
    for (const [cores, threads] of expected) expect(wasmThreads(cores, true), `${cores} cores`).toBe(threads)
  })
  it('one thread without cross-origin isolation (no SharedArrayBuffer) or with a nonsense core count', () => {
    expect(wasmThreads(16, false)).toBe(1)
    expect(wasmThreads(NaN, true)).toBe(1)
    expect(wasmThreads(0, true)).toBe(1)
  })
})
