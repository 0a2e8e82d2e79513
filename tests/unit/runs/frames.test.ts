import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { appendFrames, readFrames, storedFrames } from '../../../src/services/runs/frames'

let dir: string
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'diffmd-frames-'))
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

const ROW = 3 * 4 * 2 // 2 replicas × 3 coordinates × float32
/** frames [start, start+n): frame f, coordinate i holds f + i/100 */
function batch(start: number, n: number): Uint8Array {
  const a = new Float32Array((n * ROW) / 4)
  for (let f = 0; f < n; f++) for (let i = 0; i < ROW / 4; i++) a[f * (ROW / 4) + i] = start + f + i / 100
  return new Uint8Array(a.buffer)
}
function frameValues(bytes: Uint8Array): number[] {
  const a = new Float32Array(Uint8Array.from(bytes).buffer) // a copy: Buffers share pooled memory
  const out: number[] = []
  for (let f = 0; f < a.length / (ROW / 4); f++) out.push(Math.round(a[f * (ROW / 4)]!))
  return out
}

describe('frames.f32 appends', () => {
  it('appends in order and is idempotent for a repeated start index', async () => {
    const file = path.join(dir, 'frames.f32')
    expect(await appendFrames(file, ROW, 0, batch(0, 3), 100, 'run t')).toEqual({ framesStored: 3, written: 3 })
    // the same batch again (a retry after a lost reply): nothing written
    expect(await appendFrames(file, ROW, 0, batch(0, 3), 100, 'run t')).toEqual({ framesStored: 3, written: 0 })
    expect(statSync(file).size).toBe(3 * ROW)
    // overlapping batch: only the new tail is written
    expect(await appendFrames(file, ROW, 2, batch(2, 4), 100, 'run t')).toEqual({ framesStored: 6, written: 3 })
    expect(frameValues(readFileSync(file))).toEqual([0, 1, 2, 3, 4, 5])
    // a batch inside what is stored is a no-op too
    expect(await appendFrames(file, ROW, 1, batch(1, 2), 100, 'run t')).toEqual({ framesStored: 6, written: 0 })
    expect(frameValues(readFileSync(file))).toEqual([0, 1, 2, 3, 4, 5])
  })

  it('refuses gaps, partial rows and frames beyond the run length with one-line messages', async () => {
    const file = path.join(dir, 'frames.f32')
    await appendFrames(file, ROW, 0, batch(0, 2), 5, 'run t')
    await expect(appendFrames(file, ROW, 4, batch(4, 1), 5, 'run t')).rejects.toThrowError(/starts at frame 4 but only 2 are stored; resend from frame 2/)
    await expect(appendFrames(file, ROW, 2, batch(2, 1).subarray(0, ROW - 4), 5, 'run t')).rejects.toThrowError(/not a whole number of 24-byte frames/)
    await expect(appendFrames(file, ROW, 2, batch(2, 4), 5, 'run t')).rejects.toThrowError(/frames 2…5 are beyond the 5 frames/)
    expect(await storedFrames(file, ROW)).toBe(2)
  })

  it('concurrent appends of the same and following batches never duplicate or interleave', async () => {
    const file = path.join(dir, 'frames.f32')
    const calls: Promise<unknown>[] = []
    for (let k = 0; k < 10; k++) {
      calls.push(appendFrames(file, ROW, k * 2, batch(k * 2, 2), 100, 'run t'))
      calls.push(appendFrames(file, ROW, k * 2, batch(k * 2, 2), 100, 'run t')) // duplicate in flight
    }
    await Promise.all(calls)
    expect(frameValues(readFileSync(file))).toEqual(Array.from({ length: 20 }, (_, i) => i))
  })

  it('after a crash mid-write the torn last frame is discarded and the next append replaces it', async () => {
    const file = path.join(dir, 'frames.f32')
    await appendFrames(file, ROW, 0, batch(0, 4), 100, 'run t')
    // the process died while writing frame 4: only part of its row reached the disk
    appendFileSync(file, batch(4, 1).subarray(0, 10))
    expect(statSync(file).size).toBe(4 * ROW + 10)
    expect(await storedFrames(file, ROW)).toBe(4)
    const r = await readFrames(file, ROW)
    expect(r.count).toBe(4)
    expect(frameValues(r.bytes)).toEqual([0, 1, 2, 3])
    // the resumed sampler re-sends frame 4 onwards
    expect(await appendFrames(file, ROW, 4, batch(4, 2), 100, 'run t')).toEqual({ framesStored: 6, written: 2 })
    expect(statSync(file).size).toBe(6 * ROW)
    expect(frameValues(readFileSync(file))).toEqual([0, 1, 2, 3, 4, 5])
    const whole = new Float32Array(Uint8Array.from(readFileSync(file)).buffer)
    expect(whole[4 * (ROW / 4) + 1]).toBeCloseTo(4.01, 5)
  })

  it('reads a range of frames, clipped to what is stored', async () => {
    const file = path.join(dir, 'frames.f32')
    expect((await readFrames(file, ROW)).count).toBe(0)
    await appendFrames(file, ROW, 0, batch(0, 5), 100, 'run t')
    const r = await readFrames(file, ROW, 3, 10)
    expect(r.start).toBe(3)
    expect(r.count).toBe(2)
    expect(frameValues(r.bytes)).toEqual([3, 4])
  })
})
