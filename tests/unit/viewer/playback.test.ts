/**
 * The viewer's playback rules (src/renderer/src/viewer/playback.ts): one step, and the clock that
 * turns animation-frame times into steps, for loop / once / rock, stride and streaming.
 */
import { describe, expect, it } from 'vitest'
import { PlaybackClock, stepFrame, type PlaybackState } from '../../../src/renderer/src/viewer/playback'

const base = { count: 10, mode: 'loop' as const, stride: 1, direction: 1 as const, streaming: false }

/** frames visited by repeated single steps from `frame` */
function walk(s: Omit<PlaybackState, 'fps' | 'frame'>, frame: number, n: number): number[] {
  const out: number[] = []
  let t = { frame, direction: s.direction, playing: true }
  for (let k = 0; k < n && t.playing; k++) {
    t = stepFrame({ ...s, frame: t.frame, direction: t.direction })
    out.push(t.frame)
  }
  return out
}

describe('stepFrame', () => {
  it('loop: to the end, then from 0 again', () => {
    expect(walk(base, 7, 5)).toEqual([8, 9, 0, 1, 2])
  })
  it('once: stops on the last frame', () => {
    expect(walk({ ...base, mode: 'once' }, 7, 5)).toEqual([8, 9, 9])
    expect(stepFrame({ ...base, mode: 'once', frame: 9 }).playing).toBe(false)
  })
  it('rock: back and forth, each end shown once', () => {
    expect(walk({ ...base, count: 4, mode: 'rock' }, 1, 8)).toEqual([2, 3, 2, 1, 0, 1, 2, 3])
  })
  it('stride lands on the ends before wrapping or turning', () => {
    expect(walk({ ...base, stride: 4 }, 0, 5)).toEqual([4, 8, 9, 0, 4])
    expect(walk({ ...base, stride: 4, mode: 'rock' }, 0, 6)).toEqual([4, 8, 9, 5, 1, 0])
  })
  it('streaming holds at the newest frame instead of looping', () => {
    const t = stepFrame({ ...base, streaming: true, frame: 9 })
    expect(t).toEqual({ frame: 9, playing: true, direction: 1 })
  })
  it('a single frame or none', () => {
    expect(stepFrame({ ...base, count: 1, frame: 0, mode: 'rock' }).playing).toBe(false)
    expect(stepFrame({ ...base, count: 0, frame: 0 }).frame).toBe(0)
  })
})

describe('PlaybackClock', () => {
  const st = (frame: number, extra: Partial<PlaybackState> = {}): PlaybackState => ({ ...base, frame, fps: 10, ...extra })
  it('10 fps: one step per 100 ms, carrying fractions', () => {
    const c = new PlaybackClock()
    expect(c.tick(0, st(0)).frame).toBe(0) // the first tick sets the time base
    expect(c.tick(50, st(0)).frame).toBe(0)
    expect(c.tick(100, st(0)).frame).toBe(1)
    expect(c.tick(350, st(1)).frame).toBe(3) // 2.5 steps: 2 now, 0.5 carried
    expect(c.tick(400, st(3)).frame).toBe(4)
  })
  it('a slow display skips frames but always shows the last one', () => {
    const c = new PlaybackClock()
    c.tick(0, st(5))
    expect(c.tick(1000, st(5)).frame).toBe(9) // 10 steps due: lands on 9, the rest dropped
    expect(c.tick(1100, st(9)).frame).toBe(0) // then wraps
  })
  it('once stops; rock turns; stride multiplies', () => {
    const c = new PlaybackClock()
    c.tick(0, st(8, { mode: 'once' }))
    expect(c.tick(500, st(8, { mode: 'once' }))).toEqual({ frame: 9, playing: true, direction: 1 })
    expect(c.tick(600, st(9, { mode: 'once' })).playing).toBe(false)
    const r = new PlaybackClock()
    r.tick(0, st(9, { mode: 'rock' }))
    expect(r.tick(200, st(9, { mode: 'rock' }))).toEqual({ frame: 7, playing: true, direction: -1 })
    const s = new PlaybackClock()
    s.tick(0, st(0, { stride: 3 }))
    expect(s.tick(200, st(0, { stride: 3 })).frame).toBe(6)
  })
})
