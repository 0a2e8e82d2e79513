/**
 * How long a live view waits before it recomputes or redraws again while a run streams
 * (docs/viewer.md, "Keeping the page responsive"): at least `minMs`, and long enough that the last
 * update's cost is at most `duty` of the time — an O(frames) plot of a 20 000-frame run that takes
 * 300 ms then refreshes every 1.5 s instead of holding the page's thread all the time.
 */
export function refreshDelay(lastCostMs: number, minMs = 1000, duty = 0.2): number {
  const cost = Number.isFinite(lastCostMs) && lastCostMs > 0 ? lastCostMs : 0
  return Math.max(minMs, cost / duty)
}

/** the wait before the next refresh, given when the last one started (ms, performance.now()) */
export function waitBeforeRefresh(now: number, lastStart: number, lastCostMs: number, minMs = 1000, duty = 0.2): number {
  return Math.max(0, refreshDelay(lastCostMs, minMs, duty) - (now - lastStart))
}
