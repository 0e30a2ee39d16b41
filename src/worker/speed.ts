import { SPEED_WINDOW_MS } from '../tasks/totals.js'

/**
 * Bytes per second over the last window, from samples of a count of bytes
 * received that only grows (one per progress tick). When nothing arrives for
 * a whole window it reads 0.
 */
export class SpeedMeter {
  private readonly samples: { at: number; bytes: number }[]

  constructor(
    start = Date.now(),
    private readonly windowMs = SPEED_WINDOW_MS,
  ) {
    this.samples = [{ at: start, bytes: 0 }]
  }

  sample(bytes: number, at = Date.now()): number {
    this.samples.push({ at, bytes })
    // The oldest sample kept is the last one at or before the window's start: the base.
    while (this.samples.length > 2 && this.samples[1]!.at <= at - this.windowMs) this.samples.shift()
    const base = this.samples[0]!
    const elapsed = at - base.at
    return elapsed > 0 ? Math.round(((bytes - base.bytes) * 1000) / elapsed) : 0
  }
}
