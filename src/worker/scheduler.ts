// The connection budget of one worker process, shared by every task it runs.
// A free connection goes, in this order: to a file waiting for its first
// connection, from the task that holds the fewest (round robin among equals:
// tasks are served fairly, not files); otherwise to a running file that can
// use one more (a segment of a large file). Nothing is granted past the
// process's budget, a task's cap or an origin host's cap.
import type { ExtraConnections, ExtraWanter, Release } from '../download/types.js'

export interface SchedulerLimits {
  /** MAX_CONCURRENT_DOWNLOADS */
  maxConnections: number
  /** MAX_CONNECTIONS_PER_HOST */
  maxPerHost: number
  /** told the number of connections granted whenever it changes (a metrics gauge) */
  onCount?: (inUse: number) => void
}

interface Waiter {
  host: string
  grant(release: Release): void
}

/** One task's share of the scheduler: its waiters, its extras and its count. */
export class TaskLane implements ExtraConnections {
  active = 0
  readonly waiters: Waiter[] = []
  readonly wanters: ExtraWanter[] = []

  constructor(
    private readonly scheduler: Scheduler,
    readonly cap: number,
  ) {}

  /** Resolves with a connection to `host` when the scheduler grants one; rejects with the signal's reason on abort. */
  acquire(host: string, signal: AbortSignal): Promise<Release> {
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
      this.waiters.push(waiter)
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

  /** Leaves the scheduler: the task has ended. Its connections are given back by their own releases. */
  close(): void {
    this.wanters.length = 0
    this.scheduler.remove(this)
  }
}

export class Scheduler {
  private active = 0
  private readonly perHost = new Map<string, number>()
  private readonly lanes: TaskLane[] = []
  /** where the next round robin pass starts */
  private next = 0
  private pumping = false

  /**
   * Connections that only a task holding none may take: a task submitted
   * while every connection is busy starts at once, instead of waiting for
   * the next file to end (seconds, behind slow files). A twentieth of the
   * budget, none below 20.
   */
  private readonly reserve: number
  /**
   * The same for each origin host: one of every 16 of its connections (none
   * under a cap of 4), since tasks mostly share one object store and its cap
   * binds before the budget does. See docs/decisions/0007-connection-reserve.md.
   */
  private readonly hostReserve: number

  constructor(private readonly limits: SchedulerLimits) {
    this.reserve = Math.floor(limits.maxConnections / 20)
    this.hostReserve = limits.maxPerHost >= 4 ? Math.max(1, Math.floor(limits.maxPerHost / 16)) : 0
  }

  /** A task joins with its own cap (MAX_CONNECTIONS_PER_TASK). */
  join(cap: number): TaskLane {
    const lane = new TaskLane(this, cap)
    this.lanes.push(lane)
    return lane
  }

  /** Connections granted now, in all. */
  get inUse(): number {
    return this.active
  }

  remove(lane: TaskLane): void {
    const i = this.lanes.indexOf(lane)
    if (i === -1) return
    this.lanes.splice(i, 1)
    if (this.next > i) this.next--
    this.pump()
  }

  /** Hands out free connections until none is free or nobody can take one. */
  pump(): void {
    if (this.pumping) return // a grant that asks again is served by the loop below
    this.pumping = true
    try {
      while (this.active < this.limits.maxConnections && (this.grantWaiter() || this.grantExtra()));
    } finally {
      this.pumping = false
    }
  }

  /** Whether `lane` may open one more connection to `host`: the reserve is for tasks holding none. */
  private hostFree(host: string, lane: TaskLane): boolean {
    const cap = lane.active > 0 ? this.limits.maxPerHost - this.hostReserve : this.limits.maxPerHost
    return (this.perHost.get(host) ?? 0) < cap
  }

  /**
   * The waiter of the task with the fewest connections; among those, the
   * task with the fewest files waiting (a small task is done sooner and gives
   * its connections back), then round robin.
   */
  private grantWaiter(): boolean {
    let best: { lane: TaskLane; at: number; index: number } | null = null
    const n = this.lanes.length
    for (let k = 0; k < n; k++) {
      const at = (this.next + k) % n
      const lane = this.lanes[at]!
      if (lane.active >= lane.cap || (best && !before(lane, best.lane))) continue
      if (lane.active > 0 && this.active >= this.limits.maxConnections - this.reserve) continue
      const index = lane.waiters.findIndex((w) => this.hostFree(w.host, lane))
      if (index !== -1) best = { lane, at, index }
    }
    if (!best) return false
    const [waiter] = best.lane.waiters.splice(best.index, 1)
    this.next = (best.at + 1) % n
    waiter!.grant(this.take(best.lane, waiter!.host))
    return true
  }

  /** Offers a connection to a running file, round robin over tasks, when no file waits for its first. */
  private grantExtra(): boolean {
    if (this.active >= this.limits.maxConnections - this.reserve) return false
    const n = this.lanes.length
    for (let k = 0; k < n; k++) {
      const at = (this.next + k) % n
      const lane = this.lanes[at]!
      // A task whose own files wait (held back by a host cap) keeps its share for them.
      if (lane.active >= lane.cap || lane.waiters.length > 0) continue
      while (lane.wanters.length > 0) {
        const wanter = lane.wanters.find((w) => this.hostFree(w.host, lane))
        if (!wanter) break
        // The wanter goes to the back of its task's line: files of one task share too.
        lane.forget(wanter)
        const release = this.take(lane, wanter.host)
        if (wanter.offer(release)) {
          lane.wanters.push(wanter)
          this.next = (at + 1) % n
          return true
        }
        release()
      }
    }
    return false
  }

  private take(lane: TaskLane, host: string): Release {
    this.active++
    this.limits.onCount?.(this.active)
    lane.active++
    this.perHost.set(host, (this.perHost.get(host) ?? 0) + 1)
    let released = false
    return () => {
      if (released) return
      released = true
      this.active--
      this.limits.onCount?.(this.active)
      lane.active--
      const left = this.perHost.get(host)! - 1
      if (left === 0) this.perHost.delete(host)
      else this.perHost.set(host, left)
      this.pump()
    }
  }
}

/** Whether `a` is served before `b`: fewer connections, else fewer files waiting. */
function before(a: TaskLane, b: TaskLane): boolean {
  return a.active < b.active || (a.active === b.active && a.waiters.length < b.waiters.length)
}

/** host:port of a URL, the unit of MAX_CONNECTIONS_PER_HOST. */
export function hostOf(url: string): string {
  return new URL(url).host
}
