/** Small pure helpers of the sampler panel and store: run names, the rejection line, file stems. */
import type { RunParams } from '../../../api/run-params'

/**
 * A run name that says what the run is, with a number first so runs of the same settings differ
 * where the sidebar cuts long names off: "#3 bridge · 5 ps/frame · 4×2000" (the next free number
 * from the project's run count up).
 */
export function uniqueRunName(p: Pick<RunParams, 'mode' | 'dtPerFrame' | 'replicas' | 'frames'>, taken: readonly string[]): string {
  const base = `${p.mode} · ${p.dtPerFrame} ps/frame · ${p.replicas}×${p.frames}`
  const used = new Set(taken)
  for (let n = taken.length + 1; ; n++) {
    const name = `#${n} ${base}`
    if (!used.has(name)) return name
  }
}

/** above this fraction of rejected adapter steps the model is weak at the edge of its data (as `diffmd simulate` warns) */
export const REJECTION_WARN_RATE = 1e-3

function pct(rate: number): string {
  if (rate === 0) return '0 %'
  const v = 100 * rate
  return `${v >= 10 ? v.toFixed(1) : String(Number(v.toPrecision(2)))} %`
}

/**
 * "rejected steps R of N (x %)" with the CLI's warning when the rate exceeds 0.1 %.
 * rejections: per replica; steps: adapter steps made, all replicas together.
 */
export function rejectionSummary(rejections: readonly number[], steps: number): { text: string; rate: number; warning: string | null } {
  const total = rejections.reduce((a, b) => a + b, 0)
  const rate = steps > 0 ? total / steps : 0
  const warning = rate > REJECTION_WARN_RATE ? `${pct(rate)} of steps were rejected at the trust region (above 0.1 %: the model is weak at the edge of its data)` : null
  return { text: `rejected steps ${total} of ${steps} (${pct(rate)})`, rate, warning }
}
