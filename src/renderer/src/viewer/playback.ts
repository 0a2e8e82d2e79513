/**
 * Playback clock of the trajectory viewer: turns animation-frame timestamps into frame indices at
 * a requested rate (frames are skipped when the rate exceeds the display's), with loop and
 * streaming behaviour. Pure state, no DOM, so the rules are easy to follow and test.
 */

export interface PlaybackState {
  /** frame shown now */
  frame: number
  /** frames available (0 … count − 1) */
  count: number
  /** requested frames per second */
  fps: number
  loop: boolean
  /** more frames are coming: at the end, wait for them instead of looping or stopping */
  streaming: boolean
}

export interface PlaybackTick {
  /** frame to show */
  frame: number
  /** false when playback should stop (end reached without loop or streaming) */
  playing: boolean
}

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
    if (s.count <= 0) return { frame: 0, playing: s.streaming }
    if (this.last === undefined) {
      this.last = now
      return { frame: Math.min(s.frame, s.count - 1), playing: true }
    }
    const dt = Math.max(0, now - this.last)
    this.last = now
    this.carry += (dt / 1000) * Math.max(0, s.fps)
    const steps = Math.floor(this.carry)
    if (steps === 0) return { frame: s.frame, playing: true }
    this.carry -= steps
    const target = s.frame + steps
    const lastFrame = s.count - 1
    if (target <= lastFrame) return { frame: target, playing: true }
    if (s.streaming) {
      // hold at the newest frame; continue when more arrive
      this.carry = 0
      return { frame: lastFrame, playing: true }
    }
    if (s.loop) {
      // wrap; from the last frame, the next step shows frame 0
      if (s.frame >= lastFrame) return { frame: (target - lastFrame - 1) % s.count, playing: true }
      return { frame: lastFrame, playing: true }
    }
    return { frame: lastFrame, playing: false }
  }
}
