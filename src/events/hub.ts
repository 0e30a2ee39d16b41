// Fan-out of task event streams to any number of subscribers in one API
// process, over two Redis connections whatever their number: the shared
// command connection reads history, one blocking connection XREADs the live
// tail of every stream that has a subscriber here. In a Redis Cluster one
// XREAD cannot span slots, and each task's stream has a slot of its own: there
// the reader asks each stream without blocking, every CLUSTER_POLL_MS while
// nothing comes.
import type { Logger } from '../logger.js'
import type { RedisClient } from '../redis/connection.js'
import { hashTagOf } from '../tasks/keys.js'
import { compareIds, parse, type RawEntry, type TaskEvent } from './stream.js'

export interface Subscription {
  unsubscribe(): void
}

interface Subscriber {
  last: string
  /** events that arrived while the subscriber was catching up */
  buffer: TaskEvent[] | null
  onEvents: (events: TaskEvent[]) => void
  heartbeat: () => void
  /** the hub is closing: the subscriber ends its stream */
  onClose: () => void
}

interface Watched {
  lastId: string
  subs: Set<Subscriber>
}

const HISTORY_BATCH = 1000
const LIVE_BATCH = 1000
const BLOCK_MS = 10_000
const RETRY_MS = 500
const CLUSTER_POLL_MS = 100

export class EventHub {
  private readonly watched = new Map<string, Watched>()
  private readonly all = new Set<Subscriber>()
  private readerId: number | null = null
  private blocking = false
  private wakeup: (() => void) | null = null
  private closed = false
  private readonly loop: Promise<void>
  private readonly heartbeats: NodeJS.Timeout

  constructor(
    private readonly redis: RedisClient,
    private readonly reader: RedisClient,
    private readonly log: Logger,
    heartbeatMs: number,
    /** the Redis key of a task's event stream */
    private readonly streamOf: (taskId: string) => string,
  ) {
    if (!reader.isCluster) {
      reader.on('ready', () => {
        reader.client('ID').then((id) => (this.readerId = Number(id)), () => (this.readerId = null))
      })
    }
    this.heartbeats = setInterval(() => {
      for (const sub of this.all) sub.heartbeat()
    }, heartbeatMs)
    this.loop = this.run()
  }

  /**
   * The task's events after `fromId`: history first, then live, in order,
   * each once; `heartbeat` while quiet; `onClose` when the hub closes (the
   * process shuts down), for the subscriber to end its stream.
   */
  subscribeTask(taskId: string, fromId: string, onEvents: (events: TaskEvent[]) => void, heartbeat: () => void, onClose: () => void): Promise<Subscription> {
    return this.subscribe(this.streamOf(taskId), fromId, onEvents, heartbeat, onClose)
  }

  private async subscribe(key: string, fromId: string, onEvents: (events: TaskEvent[]) => void, heartbeat: () => void, onClose: () => void): Promise<Subscription> {
    let last = fromId
    for (;;) {
      const batch = parse((await this.redis.xrange(key, `(${last}`, '+', 'COUNT', HISTORY_BATCH)) as RawEntry[])
      if (batch.length > 0) {
        onEvents(batch)
        last = batch.at(-1)!.id
      }
      if (batch.length < HISTORY_BATCH) break
    }
    if (this.closed) throw new Error('the event hub is closed: the process is shutting down')
    const sub: Subscriber = { last, buffer: null, onEvents, heartbeat, onClose }
    let w = this.watched.get(key)
    if (!w) {
      w = { lastId: last, subs: new Set() }
      this.watched.set(key, w)
      this.wake()
    }
    w.subs.add(sub)
    this.all.add(sub)
    const unsubscribe = () => this.drop(key, sub)
    if (compareIds(w.lastId, last) > 0) {
      // The live reader is ahead of our history: read the gap, and hold what
      // the reader delivers meanwhile, so that nothing is lost or repeated.
      sub.buffer = []
      try {
        const gap = parse((await this.redis.xrange(key, `(${last}`, w.lastId)) as RawEntry[])
        this.deliver(sub, gap)
      } catch (err) {
        unsubscribe()
        throw err
      }
      const held = sub.buffer
      sub.buffer = null
      this.deliver(sub, held)
    }
    return { unsubscribe }
  }

  /** Stops reading and ends every subscriber's stream: an open stream would hold the server's close for ever. */
  async close(): Promise<void> {
    this.closed = true
    clearInterval(this.heartbeats)
    for (const sub of [...this.all]) sub.onClose()
    this.reader.disconnect()
    this.wake()
    await this.loop
  }

  /** How many subscribers this process serves, for tests and metrics. */
  get size(): number {
    return this.all.size
  }

  private deliver(sub: Subscriber, events: TaskEvent[]): void {
    if (sub.buffer) {
      sub.buffer.push(...events)
      return
    }
    if (events.length === 0) return
    // Usually the whole batch is new: hand over the same array to every
    // subscriber, so that what is made of it can be made once.
    const fresh = compareIds(events[0]!.id, sub.last) > 0 ? events : events.filter((e) => compareIds(e.id, sub.last) > 0)
    if (fresh.length === 0) return
    sub.last = fresh.at(-1)!.id
    sub.onEvents(fresh)
  }

  private drop(key: string, sub: Subscriber): void {
    this.all.delete(sub)
    const w = this.watched.get(key)
    if (!w) return
    w.subs.delete(sub)
    if (w.subs.size === 0) this.watched.delete(key)
  }

  /** Makes the reader pick up a newly watched stream now rather than after its block. */
  private wake(): void {
    if (this.wakeup) {
      this.wakeup()
      this.wakeup = null
    } else if (this.blocking && this.readerId !== null && this.redis.status === 'ready') {
      this.redis.client('UNBLOCK', this.readerId).catch(() => {})
    }
  }

  private async run(): Promise<void> {
    while (!this.closed) {
      if (this.watched.size === 0) {
        await new Promise<void>((resolve) => (this.wakeup = resolve))
        continue
      }
      const keys = [...this.watched.keys()]
      const ids = keys.map((k) => this.watched.get(k)!.lastId)
      let res: [string, RawEntry[]][] | null
      try {
        this.blocking = true
        res = this.reader.isCluster
          ? await this.poll(keys, ids)
          : ((await this.reader.xread('COUNT', LIVE_BATCH, 'BLOCK', BLOCK_MS, 'STREAMS', ...keys, ...ids)) as [string, RawEntry[]][] | null)
      } catch (err) {
        if (this.closed) break
        this.log.warn({ err: { message: (err as Error).message } }, 'event reader failed, retrying')
        await new Promise((r) => setTimeout(r, RETRY_MS))
        continue
      } finally {
        this.blocking = false
      }
      for (const [key, entries] of res ?? []) {
        const w = this.watched.get(key)
        if (!w || entries.length === 0) continue
        const events = parse(entries)
        w.lastId = events.at(-1)!.id
        for (const sub of w.subs) this.deliver(sub, events)
      }
    }
  }

  /** Cluster mode: one XREAD per slot, side by side; when none has news, a pause that a new subscriber cuts short. */
  private async poll(keys: string[], ids: string[]): Promise<[string, RawEntry[]][] | null> {
    const bySlot = new Map<string, number[]>()
    keys.forEach((k, i) => {
      const tag = hashTagOf(k)
      bySlot.set(tag, [...(bySlot.get(tag) ?? []), i])
    })
    const reads = [...bySlot.values()].map(async (group) => {
      const streams = [...group.map((i) => keys[i]!), ...group.map((i) => ids[i]!)]
      return ((await this.reader.xread('COUNT', LIVE_BATCH, 'STREAMS', ...streams)) as [string, RawEntry[]][] | null) ?? []
    })
    const res = (await Promise.all(reads)).flat()
    if (res.length > 0) return res
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.wakeup = null
        resolve()
      }, CLUSTER_POLL_MS)
      this.wakeup = () => {
        clearTimeout(timer)
        resolve()
      }
    })
    return null
  }
}
