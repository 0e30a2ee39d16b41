// The connection budget of one worker process, shared by every task it runs.
// A free connection goes, in this order: to a file waiting for its first
// connection, from the task that holds the fewest (round robin among equals:
// tasks are served fairly, not files); otherwise to a running file that can
// use one more (a segment of a large file). Nothing is granted past the
// process's budget, a task's cap or an origin host's cap. A task that holds
// none while all are busy gets one back from the task holding the most: a
// new task starts within moments whatever runs (docs/decisions/0010-preemption.md).
import type { Release } from '../download/types.js'
import { TaskLane, type LaneOwner } from './task-lane.js'

export interface SchedulerLimits {
  /** MAX_CONCURRENT_DOWNLOADS */
  maxConnections: number
  /** MAX_CONNECTIONS_PER_HOST */
  maxPerHost: number
  /** told the number of connections granted whenever it changes (a metrics gauge) */
  onCount?: (inUse: number) => void
}

/** How soon a task that holds no connection asks again when none could be given back. */
const PREEMPT_RETRY_MS = 50

export class Scheduler implements LaneOwner {
  private active = 0
  private readonly perHost = new Map<string, number>()
  private readonly lanes: TaskLane[] = []
  /** where the next round robin pass starts */
  private next = 0
  private pumping = false

  /** a pump that comes back to ask again: a file can give a connection back only once its answer is in */
  private retry: NodeJS.Timeout | null = null

  constructor(private readonly limits: SchedulerLimits) {}

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
      this.preempt()
    } finally {
      this.pumping = false
    }
  }

  private hostFree(host: string): boolean {
    return (this.perHost.get(host) ?? 0) < this.limits.maxPerHost
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
      const index = lane.waiters.findIndex((w) => this.hostFree(w.host))
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
    const n = this.lanes.length
    for (let k = 0; k < n; k++) {
      const at = (this.next + k) % n
      const lane = this.lanes[at]!
      // A task whose own files wait (held back by a host cap) keeps its share for them.
      if (lane.active >= lane.cap || lane.waiters.length > 0) continue
      while (lane.wanters.length > 0) {
        const wanter = lane.wanters.find((w) => this.hostFree(w.host))
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

  /**
   * For each task that holds no connection while its files wait, asks the
   * task holding the most (two at least) to give one back: on the host its
   * next file needs when that host is at its cap, on any host when the budget
   * is spent. Asks already out count, so a release is never asked twice.
   * When no file can give one yet, it looks again shortly.
   */
  private preempt(): void {
    let asked = 0
    for (const lane of this.lanes) asked += lane.yielding
    for (const lane of this.lanes) {
      if (lane.active > 0 || lane.waiters.length === 0) continue
      if (asked > 0) {
        asked--
        continue
      }
      const host = lane.waiters[0]!.host
      const hostBound = (this.perHost.get(host) ?? 0) >= this.limits.maxPerHost
      if (!hostBound && this.active < this.limits.maxConnections) continue
      if (!this.askBack(lane, hostBound ? host : null)) {
        this.retry ??= setTimeout(() => {
          this.retry = null
          this.pump()
        }, PREEMPT_RETRY_MS).unref()
        return
      }
    }
  }

  /** Asks the task holding the most connections (on `host`, when given) to give one back. */
  private askBack(starving: TaskLane, host: string | null): boolean {
    const victims = this.lanes.filter((l) => l !== starving && l.active >= 2).sort((a, b) => b.active - a.active)
    for (const victim of victims) {
      for (const yielder of victim.yielders) {
        if (host !== null && yielder.host !== host) continue
        if (yielder.yieldOne()) {
          victim.yielding++
          return true
        }
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
      if (lane.yielding > 0) lane.yielding--
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
