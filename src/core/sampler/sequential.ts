/**
 * The sequential engine: one adapter step at a time for all replicas together (one batched model
 * call per denoising step). Replica r, adapter step t uses normals [t·P, (t+1)·P) of stream r.
 */
import type { AdapterStep } from './adapter-step'
import type { RunState } from './run-state'
import { ROW_REJECTED, ROW_UNSTABLE } from './run-state'

export async function runSequential(st: RunState, stepper: AdapterStep, start: Float32Array): Promise<void> {
  const { R, d, P, inner, timer } = st
  let cur = Float32Array.from(start)
  let next = new Float32Array(R * d)
  const noise = new Float32Array(R * P)
  for (let f = st.nextFrame; f < st.F; f++) {
    for (let j = 0; j < inner; j++) {
      if (st.checkAbort()) return
      const t = (f - 1) * inner + j
      const t0 = timer.now()
      for (let r = 0; r < R; r++) st.fillNoise(noise, r, t, 1, r * P)
      timer.normals += timer.now() - t0
      const p = stepper.step(cur, noise, R, next)
      if (p) await p
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
