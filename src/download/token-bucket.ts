// Bandwidth caps (MAX_BYTES_PER_SECOND for a worker process, a task's
// max_bytes_per_second): a token bucket that every connection of its scope
// charges with the bytes it has just read, and that tells it how long to
// stop reading. The caller pauses the socket for that long (backpressure:
// nothing is buffered), so the sender is slowed by TCP itself.

/** Tells a connection how long to stop reading after the bytes it just got. */
export interface Throttle {
  /** Charges `bytes` just read; the milliseconds reading should pause for the rate to hold (0: none). */
  take(bytes: number): number
  /** Whether the cap sets the pace now: more connections would only wait. */
  saturated(): boolean
}

/** How long after a reader last had to wait the cap still counts as what sets the pace. */
const SATURATED_MS = 1000

/**
 * How much may pass at once after a quiet spell: a quarter second of the
 * rate, at least 16 KiB. Enough to make up for a reader held up by a slow
 * disk write or a busy event loop (with 50 ms a 4 MiB/s cap gave 3.5 MiB/s
 * on a loaded machine), too little for a burst worth the name
 * (docs/decisions/0008-bandwidth-caps.md).
 */
export const depthFor = (bytesPerSecond: number) => Math.max(16 * 1024, Math.round(bytesPerSecond / 4))

/**
 * Tokens are bytes; they accrue at `rate` per second up to `depth`. A charge
 * may take the level below zero: the debt is what the caller waits off, so
 * connections sharing the bucket queue up in the order they read, and the
 * rate over any span is at most `depth` bytes (plus one read) above the cap.
 */
export class TokenBucket implements Throttle {
  private tokens: number
  private at: number
  private waitedAt = -Infinity

  constructor(
    readonly rate: number,
    readonly depth: number = depthFor(rate),
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(rate > 0)) throw new RangeError('a token bucket needs a rate above 0')
    this.tokens = depth
    this.at = now()
  }

  take(bytes: number): number {
    this.refill()
    this.tokens -= bytes
    if (this.tokens >= 0) return 0
    this.waitedAt = this.at
    return (-this.tokens * 1000) / this.rate
  }

  /** In debt, or was within the last second: a stall of the event loop does not make a busy cap look idle. */
  saturated(): boolean {
    this.refill()
    return this.tokens < 0 || this.at - this.waitedAt < SATURATED_MS
  }

  private refill(): void {
    const now = this.now()
    this.tokens = Math.min(this.depth, this.tokens + ((now - this.at) * this.rate) / 1000)
    this.at = now
  }
}

/** One throttle for several caps (a task's and the process's): every one charged, the longest wait kept. */
export function throttleOf(buckets: readonly (Throttle | null | undefined)[]): Throttle | undefined {
  const all = buckets.filter((b): b is Throttle => !!b)
  if (all.length <= 1) return all[0]
  return {
    take: (bytes) => all.reduce((wait, b) => Math.max(wait, b.take(bytes)), 0),
    saturated: () => all.some((b) => b.saturated()),
  }
}
