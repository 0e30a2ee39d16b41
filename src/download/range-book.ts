// Which ranges of one file no request fetches right now: missing ranges
// waiting for a connection, ranges split off whose record is being saved
// before their request goes out, and requests stopped to give their
// connection back to the scheduler (docs/decisions/0010-preemption.md).
// It picks the range a new connection takes and the request that gives one back.
import type { Segment } from './resume-state.js'
import { planNext, type RunningRange } from './segment-planner.js'

/** A request this close to its end is left to finish rather than stopped for another task: it frees its connection soon anyway. */
const YIELD_MIN_BYTES = 256 * 1024

/** What the book needs of a running request: a SegmentReceiver. */
export interface RunningRequest extends RunningRange {
  /** whether its answer's bytes go to the file now: it may be stopped where it stands */
  readonly receiving: boolean
  /** ends the request where it stands, its segment shrunk to the bytes it wrote */
  stop(): void
}

export class RangeBook {
  /** missing ranges no connection fetches yet, first in line first */
  private readonly pending: Segment[] = []
  /** ranges split off with a connection, waiting for their record to be saved */
  private readonly starting = new Set<Segment>()
  /** requests stopped to give their connection back */
  private readonly yielded = new Set<RunningRequest>()

  /** Whether some missing range waits for a connection. */
  get anyWaiting(): boolean {
    return this.pending.length > 0
  }

  /** Whether some split waits for its record to be saved before its request goes out. */
  get anyStarting(): boolean {
    return this.starting.size > 0
  }

  /** Ranges missing from the partial file, fetched once a connection is free. */
  waitFor(missing: readonly Segment[]): void {
    this.pending.push(...missing)
  }

  /** Forgets the missing ranges: the file starts over from byte 0. */
  clear(): void {
    this.pending.length = 0
  }

  /** The next missing range, for a connection this file holds already. */
  next(): Segment | undefined {
    return this.pending.shift()
  }

  /** The range one more connection takes: a missing one, or half of the widest running or starting one; null when none is worth it. */
  plan(running: Iterable<RunningRequest>, minBytes: number): Segment | null {
    const ranges = [...running].map((r) => ({ segment: r.segment, position: r.position }))
    for (const segment of this.starting) ranges.push({ segment, position: segment.start })
    return planNext(this.pending, ranges, minBytes)
  }

  /** A split's record is being saved: its range counts as running meanwhile. */
  startSplit(segment: Segment): void {
    this.starting.add(segment)
  }

  splitSaved(segment: Segment): void {
    this.starting.delete(segment)
  }

  /**
   * Stops the receiving request with the most left to fetch where it stands;
   * the rest of its range waits, first in line. Returns that rest, or null
   * when no request has enough left to be worth stopping.
   */
  yieldOne(running: Iterable<RunningRequest>): Segment | null {
    let chosen: RunningRequest | null = null
    for (const r of running) {
      if (this.yielded.has(r) || !r.receiving) continue
      if (r.segment.end - r.position >= YIELD_MIN_BYTES && (!chosen || r.segment.end - r.position > chosen.segment.end - chosen.position)) chosen = r
    }
    if (!chosen) return null
    const rest: Segment = { start: chosen.position, end: chosen.segment.end, done: 0 }
    chosen.stop()
    this.yielded.add(chosen)
    this.pending.unshift(rest)
    return rest
  }

  /** Whether the request ended because it gave its connection back; forgets it. */
  endedYielded(receiver: RunningRequest): boolean {
    return this.yielded.delete(receiver)
  }
}
