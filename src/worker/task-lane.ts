// One task's share of a worker's scheduler (./scheduler.ts): the files that
// wait for a connection, the running files that could use more or give one
// back, and how many connections the task holds.
import type { ExtraConnections, ExtraWanter, Release, Yielder } from '../download/types.js'

export interface Waiter {
  host: string
  grant(release: Release): void
}

/** What a lane asks of its scheduler. */
export interface LaneOwner {
  /** hands out free connections, and asks some back for tasks holding none */
  pump(): void
  remove(lane: TaskLane): void
}

/** One task's share of the scheduler: its waiters, its extras and its count. */
export class TaskLane implements ExtraConnections {
  active = 0
  /** connections asked back from this task and not yet released */
  yielding = 0
  readonly waiters: Waiter[] = []
  readonly wanters: ExtraWanter[] = []
  readonly yielders = new Set<Yielder>()

  constructor(
    private readonly scheduler: LaneOwner,
    readonly cap: number,
  ) {}

  /**
   * Resolves with a connection to `host` when the scheduler grants one; rejects
   * with the signal's reason on abort. `first`: ahead of the task's other files
   * (one that gave its connection back and has bytes on disk).
   */
  acquire(host: string, signal: AbortSignal, first = false): Promise<Release> {
    if (signal.aborted) return Promise.reject(signal.reason as Error)
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        host,
        grant: (release) => {
          signal.removeEventListener('abort', onAbort)
          resolve(release)
        },
      }
      const onAbort = () => {
        const i = this.waiters.indexOf(waiter)
        if (i !== -1) this.waiters.splice(i, 1)
        reject(signal.reason as Error)
      }
      signal.addEventListener('abort', onAbort, { once: true })
      if (first) this.waiters.unshift(waiter)
      else this.waiters.push(waiter)
      this.scheduler.pump()
    })
  }

  /** Registers a running file that can use more connections (see ExtraWanter). */
  wantExtra(wanter: ExtraWanter): void {
    if (!this.wanters.includes(wanter)) this.wanters.push(wanter)
    this.scheduler.pump()
  }

  forget(wanter: ExtraWanter): void {
    const i = this.wanters.indexOf(wanter)
    if (i !== -1) this.wanters.splice(i, 1)
  }

  mayYield(yielder: Yielder): void {
    this.yielders.add(yielder)
    this.scheduler.pump()
  }

  forgetYielder(yielder: Yielder): void {
    this.yielders.delete(yielder)
  }

  /** Leaves the scheduler: the task has ended. Its connections are given back by their own releases. */
  close(): void {
    this.wanters.length = 0
    this.yielders.clear()
    this.scheduler.remove(this)
  }
}
