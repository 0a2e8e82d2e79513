/**
 * The sequential engine: one adapter step at a time for all replicas together (one batched model
 * call per denoising step). Replica r, adapter step t uses normals [t·P, (t+1)·P) of stream r.
 * The next step's normals are drawn while this step's model calls run (they depend only on
 * (seed, replica, step), so drawing them early changes no number), for models whose calls run off
 * this thread; onnxruntime-node computes on it, so there they are drawn in line (docs/speed.md).
 */
import type { AdapterStep } from './adapter-step'
import type { RunState } from './run-state'
import { ROW_REJECTED, ROW_UNSTABLE } from './run-state'

export async function runSequential(st: RunState, stepper: AdapterStep, start: Float32Array): Promise<void> {
  const { R, d, P, inner, timer } = st
  let cur = Float32Array.from(start)
  let next = new Float32Array(R * d)
  // noise of the step being made, and of the next one: the next one is drawn in chunks while the
  // model calls of this one run (stepper.background), so normals overlap the network
  let noise = new Float32Array(R * P)
  let noiseNext = new Float32Array(R * P)
  /** replicas of noiseNext drawn so far, and the step they belong to */
  let drawn = 0
  let drawnStep = -1
  const chunk = Math.max(1, Math.ceil(R / stepper.calls))
  // models whose calls compute on this thread (onnxruntime-node) cannot overlap: draw in line
  const overlap = stepper.overlapsCalls
  const drawNext = (step: number, upTo: number, overlapped: boolean): void => {
    if (drawnStep !== step) {
      drawnStep = step
      drawn = 0
    }
    const t0 = timer.now()
    for (; drawn < upTo; drawn++) st.fillNoise(noiseNext, drawn, step, 1, drawn * P)
    const dt = timer.now() - t0
    if (overlapped) timer.overlapped += dt
    else timer.normals += dt
  }
  const total = st.totalSteps
  for (let f = st.nextFrame; f < st.F; f++) {
    for (let j = 0; j < inner; j++) {
      if (st.checkAbort()) return
      const t = (f - 1) * inner + j
      // this step's noise: drawn during the previous step (whatever part of it was), the rest now
      drawNext(t, R, false)
      const tmpN = noise
      noise = noiseNext
      noiseNext = tmpN
      drawnStep = -1
      stepper.background = overlap && t + 1 < total ? () => drawNext(t + 1, Math.min(R, (drawnStep === t + 1 ? drawn : 0) + chunk), true) : undefined
      const p = stepper.step(cur, noise, R, next)
      if (p) await p
      stepper.background = undefined
      st.modelCalls += stepper.calls
      const t1 = timer.now()
      for (let r = 0; r < R; r++) {
        const verdict = st.check(next, r * d)
        if (verdict === ROW_REJECTED) {
          for (let i = r * d; i < (r + 1) * d; i++) next[i] = cur[i]!
          st.rejections[r]!++
        } else if (verdict === ROW_UNSTABLE) {
          st.unstable(t, r)
          return
        } else if (st.accepted && stepper.accepted[r]) st.accepted[r]!++
      }
      timer.trustRegion += timer.now() - t1
      const tmp = cur
      cur = next
      next = tmp
      const y = st.maybeYield()
      if (y) await y
    }
    const p = st.saveFrame(f, cur)
    if (p) await p
  }
}
