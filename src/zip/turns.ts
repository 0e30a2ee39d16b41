// The zip's work is cut into pieces of a bounded time, each in its own turn
// of the event loop, so that a large zip never holds it: a file read on the
// event loop, a batch of headers or a slice of the plan all run without an
// await that reaches the loop (docs/decisions/0011-zip-event-loop.md).
import { setImmediate as nextTurn } from 'node:timers/promises'

/** Work between two turns of the event loop, at most (plus the one step that crosses it). */
export const TURN_MS = 2

/** Tells when TURN_MS of work went by since the last turn it gave. */
export class Turns {
  private since = performance.now()

  /** TURN_MS went by since the last turn: the caller should `await take()`. */
  due(): boolean {
    return performance.now() - this.since >= TURN_MS
  }

  /** Lets the event loop turn (timers, I/O, other requests), then starts a new piece. */
  async take(): Promise<void> {
    await nextTurn()
    this.since = performance.now()
  }
}
