/**
 * Wall time of a sampler run split by phase (docs/speed.md "Where the time goes"):
 *   network     the model calls (score and energy; for an asynchronous model, from the call until
 *               its Promise resolves),
 *   normals     drawing the noise (Philox → Gaussian),
 *   alignment   re-aligning frames (Kabsch) and projecting off rigid-body motion,
 *   trustRegion the per-row guard (trust region or explosion check),
 *   other       everything else in the run (the step arithmetic, copies, frames, hooks, yields):
 *               total − the four above.
 * overlapped (not part of the sum): JavaScript done while an asynchronous model call ran (the next
 * step's normals); it costs no wall time unless it outlasts the call, and then the excess shows up
 * in `network`, which runs from a call's dispatch until its result is back on the JavaScript thread.
 * Milliseconds. The clock is read a few times per adapter step (never per replica), so the cost of
 * timing itself is ~0.1 µs per read, far below one model call.
 */
import type { ScoreModel } from '../score/types'

export interface PhaseTimes {
  /** wall time of the whole run (ms) */
  totalMs: number
  network: number
  normals: number
  alignment: number
  trustRegion: number
  other: number
  /** JavaScript work hidden behind the network (ms), not part of the total's split */
  overlapped: number
}

export const PHASES = ['network', 'normals', 'alignment', 'trustRegion', 'other'] as const
export type Phase = (typeof PHASES)[number]

const now: () => number = typeof performance !== 'undefined' ? () => performance.now() : () => Date.now()

/** accumulates the phases of one run; `result()` fills `other` as the remainder of the total */
export class PhaseTimer {
  network = 0
  normals = 0
  alignment = 0
  trustRegion = 0
  overlapped = 0
  private readonly started = now()

  /** the clock (ms); phases are measured as differences of two reads */
  now(): number {
    return now()
  }

  result(): PhaseTimes {
    const totalMs = now() - this.started
    const other = Math.max(0, totalMs - this.network - this.normals - this.alignment - this.trustRegion)
    return { totalMs, network: this.network, normals: this.normals, alignment: this.alignment, trustRegion: this.trustRegion, other, overlapped: this.overlapped }
  }
}

/**
 * The phases of blocks of replicas run side by side (worker threads, shards): each phase summed
 * over the blocks, totalMs the longest block's wall time, busyMs the summed wall times (shares are
 * taken of busyMs then). undefined when any block has no timing.
 */
export function combinePhaseTimes(list: (PhaseTimes | undefined)[]): (PhaseTimes & { busyMs: number }) | undefined {
  if (list.length === 0 || list.some((t) => t === undefined)) return undefined
  const ts = list as PhaseTimes[]
  const sum = (k: keyof PhaseTimes): number => ts.reduce((s, t) => s + t[k], 0)
  return {
    totalMs: Math.max(...ts.map((t) => t.totalMs)),
    busyMs: sum('totalMs'),
    network: sum('network'),
    normals: sum('normals'),
    alignment: sum('alignment'),
    trustRegion: sum('trustRegion'),
    other: sum('other'),
    overlapped: sum('overlapped'),
  }
}

/** share of the total wall time (busyMs for combined blocks) per phase (0…1); the JavaScript share is 1 − network */
export function phaseShares(t: PhaseTimes & { busyMs?: number }): Record<Phase, number> {
  const W = t.busyMs ?? t.totalMs
  const T = W > 0 ? W : 1
  return { network: t.network / T, normals: t.normals / T, alignment: t.alignment / T, trustRegion: t.trustRegion / T, other: t.other / T }
}

/**
 * The model with its score() and energy() calls timed into `timer.network`; every other property
 * reads through to the model. Results are the model's own, untouched.
 */
export function timedModel(model: ScoreModel, timer: PhaseTimer): ScoreModel {
  const timeCall = (fn: (x: Float32Array, sigma: Float32Array, batch: number, out: Float32Array) => void | Promise<void>) =>
    (x: Float32Array, sigma: Float32Array, batch: number, out: Float32Array): void | Promise<void> => {
      const t0 = now()
      const p = fn(x, sigma, batch, out)
      if (p) {
        return p.then(() => {
          timer.network += now() - t0
        })
      }
      timer.network += now() - t0
    }
  const score = timeCall((x, s, b, o) => model.score(x, s, b, o))
  const energy = model.energy ? timeCall((x, s, b, o) => model.energy!(x, s, b, o)) : undefined
  return new Proxy(model, {
    get(target, prop) {
      if (prop === 'score') return score
      if (prop === 'energy') return energy
      const v = Reflect.get(target, prop) as unknown
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v
    },
  })
}
