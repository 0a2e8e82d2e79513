/**
 * Playback clock of the trajectory viewer: turns animation-frame timestamps into frame indices at
 * a requested rate, with a stride (show every k-th frame), an end behaviour (loop, once, rock) and
 * streaming (more frames are coming). Pure state, no DOM, so the rules are easy to follow and test.
 *
 * Rules, per step (a step moves `stride` frames in the current direction; `fps` steps per second,
 * several steps in one animation frame when the rate exceeds the display's):
 * - a step that would pass the last frame first lands ON the last frame; from the last frame,
 *   loop → frame 0, once → stop there, rock → turn round; streaming → hold at the newest frame
 *   and go on when more arrive;
 * - rock turns round at frame 0 the same way (it lands on 0 first);
 * - a tick that lands on an end shows it (the tick's remaining steps are dropped), so a slow
 *   display never skips the last frame.
 */

export type PlayMode = 'loop' | 'once' | 'rock'
export const PLAY_MODES: readonly PlayMode[] = ['loop', 'once', 'rock']

export interface PlaybackState {
  /** frame shown now */
  frame: number
  /** frames available (0 … count − 1) */
  count: number
  /** requested steps per second */
  fps: number
  mode: PlayMode
  /** frames per step (≥ 1) */
  stride: number
  /** +1 forward, −1 backward (rock) */
  direction: 1 | -1
  /** more frames are coming: at the end, wait for them instead of looping or stopping */
  streaming: boolean
}

export interface PlaybackTick {
  /** frame to show */
  frame: number
  /** false when playback should stop (end reached in 'once' mode) */
  playing: boolean
  direction: 1 | -1
}

/** one step from `frame` (see the rules above) */
export function stepFrame(s: Omit<PlaybackState, 'fps'>): PlaybackTick {
  const last = s.count - 1
  const stride = Math.max(1, Math.floor(s.stride))
  if (last < 0) return { frame: 0, playing: s.streaming, direction: s.direction }
  const frame = Math.min(Math.max(0, s.frame), last)
  if (s.direction > 0) {
    if (frame + stride <= last) return { frame: frame + stride, playing: true, direction: 1 }
    if (frame < last) return { frame: last, playing: true, direction: 1 }
    if (s.streaming) return { frame: last, playing: true, direction: 1 }
    if (s.mode === 'loop') return { frame: 0, playing: true, direction: 1 }
    if (s.mode === 'rock') return { frame: Math.max(0, last - stride), playing: last > 0, direction: -1 }
    return { frame: last, playing: false, direction: 1 }
  }
  if (frame - stride >= 0) return { frame: frame - stride, playing: true, direction: -1 }
  if (frame > 0) return { frame: 0, playing: true, direction: -1 }
  return { frame: Math.min(last, stride), playing: last > 0, direction: 1 }
}

/** at most this many steps in one tick (a long stall does not spin through the whole trajectory) */
const MAX_STEPS_PER_TICK = 1000

export class PlaybackClock {
  private carry = 0
  private last: number | undefined

  /** forget the time base (after pause, seek or a change of rate) */
  reset(): void {
    this.carry = 0
    this.last = undefined
  }

  /** advance to animation-frame time `now` (ms) */
  tick(now: number, s: PlaybackState): PlaybackTick {
    if (s.count <= 0) return { frame: 0, playing: s.streaming, direction: s.direction }
    if (this.last === undefined) {
      this.last = now
      return { frame: Math.min(s.frame, s.count - 1), playing: true, direction: s.direction }
    }
    const dt = Math.max(0, now - this.last)
    this.last = now
    this.carry += (dt / 1000) * Math.max(0, s.fps)
    const steps = Math.floor(this.carry)
    if (steps === 0) return { frame: s.frame, playing: true, direction: s.direction }
    this.carry -= steps
    let t: PlaybackTick = { frame: s.frame, playing: true, direction: s.direction }
    for (let k = 0; k < Math.min(steps, MAX_STEPS_PER_TICK); k++) {
      const before = t.frame
      t = stepFrame({ ...s, frame: t.frame, direction: t.direction })
      if (!t.playing) break
      if (s.streaming && t.frame === before) {
        // holding at the newest frame: no time debt while waiting for more
        this.carry = 0
        break
      }
      // an end is always shown: the steps left in this tick are dropped there
      if (t.frame !== before && ((t.direction > 0 && t.frame === s.count - 1) || (t.direction < 0 && t.frame === 0))) {
        this.carry = 0
        break
      }
    }
    return t
  }
}
