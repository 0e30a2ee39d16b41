import { DownloadError } from './errors.js'

/**
 * Cuts a body that stays under `minBytes` per second over a whole window
 * (curl's -Y / -y): a connection that trickles would otherwise hold its slot
 * for hours. 0 bytes: no check.
 */
export class SpeedCheck {
  private windowStart: number
  private windowBytes = 0

  constructor(
    private readonly minBytes: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.windowStart = now()
  }

  /** Leaves `ms` out of the window: time the reader itself paused (a bandwidth cap), not the origin's slowness. */
  idle(ms: number): void {
    this.windowStart = Math.min(this.now(), this.windowStart + ms)
  }

  /** Counts `bytes` just received; throws too_slow when the window that ends now was too slow. */
  take(bytes: number, status: number | null = null): void {
    this.windowBytes += bytes
    const now = this.now()
    const elapsed = now - this.windowStart
    if (elapsed < this.windowMs) return
    if ((this.windowBytes * 1000) / elapsed < this.minBytes) {
      throw new DownloadError('too_slow', true, `under ${this.minBytes} bytes/s for ${this.windowMs} ms`, status)
    }
    this.windowStart = now
    this.windowBytes = 0
  }
}
