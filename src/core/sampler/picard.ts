/**
 * Time-parallel generation (docs/science.md "Time-parallel generation (Picard)", ParaDiGMS-style Picard iteration). A trajectory is the
 * fixed point of X_{t+1} = Φ(X_t, ξ_t) with Φ one adapter step (§3) and all noise of a window of
 * w ≤ W steps drawn up front. A sweep applies Φ to all w frames of all R replicas at once — ONE
 * batched model call per denoising step, batch R·w — using the previous sweep's frames as inputs:
 *   G'_j = Φ(G_{j−1}) + θ ⊙ (G'_{j−1} − G_{j−1}),   G_{−1} = G'_{−1} = X_0 (the exact anchor).
 * θ = 1 is the prefix-sum (integral) form G'_j = X_0 + Σ_{i≤j}(Φ(G_{i−1}) − G_{i−1}) of §5, right
 * when Φ is close to the identity (small η: EM forms, slow coordinates). For coordinates that one
 * step relaxes strongly (η comparable to their variance, e.g. bond lengths) the sum amplifies
 * errors; there θ should be the slope ∂Φ_i/∂x_i < 1. So θ is estimated per replica and coordinate
 * from the last two sweeps (least squares of ΔΦ against Δinput over the window's slots, clamped to
 * [0, 1]; 1 before there are two sweeps) — a diagonal quasi-Newton correction. On a 66-d Gaussian
 * mixture (bridge, M = 20) this cut the sweeps per step from 0.8 (θ = 1) to 0.13 at W = 16. The fixed point is the same for every θ, and since the
 * correction vanishes exactly when G'_{j−1} = G_{j−1}, converged frames are bit-identical to the
 * sequential ones.
 * δ_j = max over replicas and coordinates |G'_j − G_j| (Å). Slot 0 is exact after every sweep, and
 * slot j+1 is as exact as slot j once δ_j ≤ tol; so the window slides past
 * k = 1 + #{leading j with δ_j ≤ tol} frames (≥ 1 per sweep: ≤ w sweeps per window; tol = 0
 * reproduces the sequential path exactly). Noise addressing is the sequential one (replica r, step t
 * → normals [t·P, (t+1)·P) of stream r), and the trust-region guard is part of Φ (a rejected step
 * returns its input), so Picard and sequential runs agree.
 */
import type { AdapterStep } from './adapter-step'
import type { RunState } from './run-state'
import { ROW_REJECTED, ROW_UNSTABLE } from './run-state'

/** the window's buffers and its steps: inputs and one batched step, the θ-corrected update, accepting, sliding */
class PicardWindow {
  readonly R: number
  readonly d: number
  readonly P: number
  readonly W: number
  /** slots in the current window */
  w: number
  /** absolute adapter step of slot 0 */
  t0: number
  /** the exact frame before slot 0, [R, d] */
  readonly anchor: Float32Array
  /** current guesses of the window's frames X_{t0+1} … X_{t0+w}, rows r·w + j */
  readonly G: Float32Array
  In: Float32Array
  Out: Float32Array
  /** the previous sweep's In and Out, aligned with the current slots where prevValid[j] */
  prevIn: Float32Array
  prevOut: Float32Array
  readonly prevValid: Uint8Array
  readonly noise: Float32Array
  readonly flags: Uint8Array
  /** bridge-mh: the sweep's Metropolis decisions per slot */
  readonly acc: Uint8Array
  readonly delta: Float64Array
  private readonly corr: Float64Array
  /** θ [R, d], see above */
  private readonly theta: Float64Array
  private readonly num: Float64Array
  private readonly den: Float64Array
  private readonly frame: Float32Array

  constructor(
    private readonly st: RunState,
    private readonly stepper: AdapterStep,
    start: Float32Array,
    window: number
  ) {
    const { R, d, P } = st
    this.R = R
    this.d = d
    this.P = P
    this.W = window
    this.t0 = st.startStep
    this.anchor = Float32Array.from(start)
    this.G = new Float32Array(R * window * d)
    this.In = new Float32Array(R * window * d)
    this.Out = new Float32Array(R * window * d)
    this.prevIn = new Float32Array(R * window * d)
    this.prevOut = new Float32Array(R * window * d)
    this.prevValid = new Uint8Array(window)
    this.noise = new Float32Array(R * window * P)
    this.flags = new Uint8Array(R * window)
    this.acc = new Uint8Array(st.accepted ? R * window : 0)
    this.delta = new Float64Array(window)
    this.corr = new Float64Array(d)
    this.theta = new Float64Array(R * d).fill(1)
    this.num = new Float64Array(d)
    this.den = new Float64Array(d)
    this.frame = new Float32Array(R * d)
    this.w = Math.min(window, st.totalSteps - this.t0)
    const t0 = st.timer.now()
    for (let r = 0; r < R; r++) {
      for (let j = 0; j < this.w; j++) copyRow(this.anchor, r, this.G, r * this.w + j, d)
      st.fillNoise(this.noise, r, this.t0, this.w, r * this.w * P)
    }
    st.timer.normals += st.timer.now() - t0
  }

  /** one sweep: slot 0 ← the anchor, slot j ← the previous sweep's frame j − 1; Φ on all slots; guard verdicts */
  async sweep(): Promise<void> {
    const { R, d, w, st, In, Out } = this
    for (let r = 0; r < R; r++) {
      copyRow(this.anchor, r, In, r * w, d)
      for (let j = 1; j < w; j++) copyRow(this.G, r * w + j - 1, In, r * w + j, d)
    }
    const p = this.stepper.step(In, this.noise, R * w, Out)
    if (p) await p
    st.modelCalls += this.stepper.calls
    st.sweeps++
    const t0 = st.timer.now()
    for (let b = 0; b < R * w; b++) {
      const v = st.check(Out, b * d)
      this.flags[b] = v
      if (v === ROW_REJECTED) copyRow(In, b, Out, b, d)
      if (st.accepted) this.acc[b] = this.stepper.accepted[b]!
    }
    st.timer.trustRegion += st.timer.now() - t0
  }

  /** G'_j = Φ(G_{j−1}) + θ ⊙ (G'_{j−1} − G_{j−1}); δ_j per slot; this sweep becomes the previous one */
  update(): void {
    const { R, d, w, G, Out, delta, corr, theta } = this
    estimateSlope(this.In, Out, this.prevIn, this.prevOut, this.prevValid, R, w, d, this.num, this.den, theta)
    delta.fill(0, 0, w)
    for (let r = 0; r < R; r++) {
      corr.fill(0)
      for (let j = 0; j < w; j++) {
        const o = (r * w + j) * d
        let dj = delta[j]!
        for (let i = 0; i < d; i++) {
          const old = G[o + i]!
          const gnew = Math.fround(Out[o + i]! + theta[r * d + i]! * corr[i]!)
          G[o + i] = gnew
          const c = gnew - old
          corr[i] = c
          const a = Math.abs(c)
          if (a > dj || a !== a) dj = a === a ? a : Infinity
        }
        delta[j] = dj
      }
    }
    let tmp = this.prevIn
    this.prevIn = this.In
    this.In = tmp
    tmp = this.prevOut
    this.prevOut = this.Out
    this.Out = tmp
    this.prevValid.fill(1, 0, w)
  }

  /** slots that have converged: 1 + the leading slots with δ ≤ tol */
  converged(tol: number): number {
    let k = 1
    while (k < this.w && this.delta[k - 1]! <= tol) k++
    return k
  }

  /** books slots 0 … k−1 (rejections, acceptances, saved frames); false when the run became unstable */
  async accept(k: number): Promise<boolean> {
    const { R, d, w, st } = this
    for (let j = 0; j < k; j++) {
      const t = this.t0 + j
      for (let r = 0; r < R; r++) {
        const v = this.flags[r * w + j]!
        if (v === ROW_REJECTED) st.rejections[r]!++
        else if (v === ROW_UNSTABLE) {
          st.unstable(t, r)
          return false
        } else if (st.accepted && this.acc[r * w + j]) st.accepted[r]!++
      }
      if ((t + 1) % st.inner === 0) {
        for (let r = 0; r < R; r++) copyRow(this.G, r * w + j, this.frame, r, d)
        const s = st.saveFrame((t + 1) / st.inner, this.frame)
        if (s) await s
      }
    }
    return true
  }

  /** slides past k slots: survivors move to the front, new slots start from the last guess with fresh noise */
  slide(k: number): void {
    const { R, d, P, w, G, st } = this
    this.t0 += k
    const w2 = Math.min(this.W, st.totalSteps - this.t0)
    const keep = w - k
    for (let r = 0; r < R; r++) {
      copyRow(G, r * w + k - 1, this.anchor, r, d)
      G.copyWithin(r * w2 * d, (r * w + k) * d, (r * w + w) * d)
      this.prevIn.copyWithin(r * w2 * d, (r * w + k) * d, (r * w + w) * d)
      this.prevOut.copyWithin(r * w2 * d, (r * w + k) * d, (r * w + w) * d)
      this.noise.copyWithin(r * w2 * P, (r * w + k) * P, (r * w + w) * P)
      for (let j = keep; j < w2; j++) {
        if (keep > 0) copyRow(G, r * w2 + keep - 1, G, r * w2 + j, d)
        else copyRow(this.anchor, r, G, r * w2 + j, d)
      }
      if (w2 > keep) {
        const t0 = st.timer.now()
        st.fillNoise(this.noise, r, this.t0 + keep, w2 - keep, (r * w2 + keep) * P)
        st.timer.normals += st.timer.now() - t0
      }
    }
    this.prevValid.copyWithin(0, k, w)
    this.prevValid.fill(0, keep, w2)
    this.w = w2
  }
}

/** Steps: sweep the window, update the guesses, accept the converged slots, slide; until the run is done. */
export async function runPicard(st: RunState, stepper: AdapterStep, start: Float32Array, window: number, tol: number): Promise<void> {
  if (st.startStep >= st.totalSteps) return
  const win = new PicardWindow(st, stepper, start, window)
  while (true) {
    if (st.checkAbort()) return
    await win.sweep()
    win.update()
    const k = win.converged(tol)
    if (!(await win.accept(k))) return
    if (win.t0 + k >= st.totalSteps) return
    win.slide(k)
    const y = st.maybeYield()
    if (y) await y
  }
}

/**
 * θ_ri ← clamp(Σ_j ΔOut_ji·ΔIn_ji / Σ_j ΔIn_ji², 0, 1) over the slots j of replica r that have a
 * previous sweep (Δ = this sweep − previous sweep, same step and noise): the mean slope of Φ along
 * coordinate i. Coordinates whose inputs did not change keep their θ.
 */
function estimateSlope(
  In: Float32Array, Out: Float32Array, prevIn: Float32Array, prevOut: Float32Array, prevValid: Uint8Array,
  R: number, w: number, d: number, num: Float64Array, den: Float64Array, theta: Float64Array
): void {
  for (let r = 0; r < R; r++) {
    num.fill(0)
    den.fill(0)
    for (let j = 0; j < w; j++) {
      if (!prevValid[j]) continue
      const o = (r * w + j) * d
      for (let i = 0; i < d; i++) {
        const di = In[o + i]! - prevIn[o + i]!
        const dout = Out[o + i]! - prevOut[o + i]!
        num[i] = num[i]! + dout * di
        den[i] = den[i]! + di * di
      }
    }
    for (let i = 0; i < d; i++) {
      const q = num[i]! / den[i]!
      if (den[i]! > 0 && Number.isFinite(q)) theta[r * d + i] = q < 0 ? 0 : q > 1 ? 1 : q
    }
  }
}

function copyRow(src: Float32Array, srcRow: number, dst: Float32Array, dstRow: number, d: number): void {
  const s = srcRow * d
  const o = dstRow * d
  for (let i = 0; i < d; i++) dst[o + i] = src[s + i]!
}
