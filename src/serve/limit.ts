/**
 * A cap on requests in flight: beyond it the server answers 503 with Retry-After at once instead
 * of queueing without bound (a runaway tab or script cannot pile up work or memory).
 */
export interface ConcurrencyLimit {
  /** true when a slot was taken (call release() exactly once when done); false when full */
  tryAcquire(): boolean
  release(): void
  readonly inFlight: number
}

export function concurrencyLimit(max: number): ConcurrencyLimit {
  if (!Number.isInteger(max) || max < 1) throw new RangeError(`concurrency limit must be a positive integer (got ${max})`)
  let inFlight = 0
  return {
    tryAcquire() {
      if (inFlight >= max) return false
      inFlight++
      return true
    },
    release() {
      inFlight = Math.max(0, inFlight - 1)
    },
    get inFlight() {
      return inFlight
    },
  }
}
