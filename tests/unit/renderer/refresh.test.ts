import { describe, expect, it } from 'vitest'
import { refreshDelay, waitBeforeRefresh } from '../../../src/renderer/src/plots/refresh'

describe('refreshDelay: live views spend at most `duty` of the time updating', () => {
  it('is the floor for cheap updates and cost/duty for dear ones', () => {
    expect(refreshDelay(0)).toBe(1000)
    expect(refreshDelay(150)).toBe(1000) // 150 / 0.2 = 750 < 1000
    expect(refreshDelay(300)).toBe(1500)
    expect(refreshDelay(300, 500, 0.5)).toBe(600)
    expect(refreshDelay(NaN)).toBe(1000)
    expect(refreshDelay(-5)).toBe(1000)
  })
  it('counts the time already passed since the last update started', () => {
    expect(waitBeforeRefresh(10_000, 9_000, 300)).toBe(500)
    expect(waitBeforeRefresh(10_000, 8_000, 300)).toBe(0)
    expect(waitBeforeRefresh(10_000, 9_900, 0)).toBe(900)
  })
})
