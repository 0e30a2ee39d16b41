// The requests running for one file, each with the connection it holds, and
// the work still in flight around them (a split's record being saved, a sink
// closing, a connection awaited). It settles once none is left, and the
// first failure stops every request: the transfer then ends with it.
import type { SegmentReceiver } from './segment-receiver.js'
import type { Release } from './types.js'

export class RunningRequests {
  private readonly running = new Map<SegmentReceiver, Release>()
  /** receivers running, segments waiting for their record to be saved, sinks closing */
  private busy = 0
  private failure: unknown = null
  private idle!: () => void
  /** resolves once nothing runs and nothing is in flight */
  readonly settled = new Promise<void>((resolve) => (this.idle = resolve))

  constructor(
    /** called once, on the first failure, before the requests are stopped */
    private readonly onFailure: () => void,
  ) {}

  /** The first failure, once there was one. */
  get failed(): unknown {
    return this.failure
  }

  /** Whether anything runs or is in flight besides the one request asking. */
  get othersRunning(): boolean {
    return this.running.size > 1 || this.busy > 1
  }

  get none(): boolean {
    return this.running.size === 0
  }

  receivers(): IterableIterator<SegmentReceiver> {
    return this.running.keys()
  }

  add(receiver: SegmentReceiver, release: Release): void {
    this.running.set(receiver, release)
    this.busy++
  }

  /** The request ended: its connection, for the next range or to give back. It stays in flight until `leave`. */
  remove(receiver: SegmentReceiver): Release {
    const release = this.running.get(receiver)!
    this.running.delete(receiver)
    return release
  }

  enter(): void {
    this.busy++
  }

  /** Does not settle by itself: the caller may start more work first; `check` settles. */
  leave(): void {
    this.busy--
  }

  check(): void {
    if (this.busy === 0) this.idle()
  }

  fail(err: unknown): void {
    if (this.failure) return
    this.failure = err
    this.onFailure()
    for (const receiver of this.running.keys()) receiver.abort(err)
  }

  /** Brings each running segment's `done` up to the bytes its sink has written. */
  syncDone(): void {
    for (const r of this.running.keys()) r.segment.done = Math.max(r.segment.done, r.written)
  }
}
