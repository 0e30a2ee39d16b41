import { newProgress, type DownloadProgress } from '../download/types.js'
import type { FileEventData } from '../events/schemas.js'
import type { Logger } from '../logger.js'
import type { Totals } from '../tasks/schemas.js'
import type { FileOutcome, LoadedTask, RunningFile, TaskStore } from '../tasks/store.js'
import { isFinalFileState } from '../vocabulary.js'
import { SpeedMeter } from './speed.js'

export const PROGRESS_INTERVAL_MS = 250

/**
 * A task's progress as the worker sees it. Downloads only bump counters in
 * memory; a timer writes what moved to Redis at most every 250 ms, in one
 * round trip: never per chunk, and not per file either (a file's start, and
 * its waits for a retry, are recorded by the next write).
 *
 * What it guarantees readers (docs/api.md, "Progress"): a file's bytes are the
 * most its attempts reached, so neither they nor the task's bytes_done go
 * back when an attempt starts over or the file fails; a progress event is
 * sent only when bytes moved or a count changed, never twice the same, and
 * once more with speed 0 when nothing has moved for a whole speed window.
 */
export class TaskProgress {
  readonly active = new Map<number, DownloadProgress>()
  private done: number
  private failed: number
  private ended = 0
  /** bytes and known sizes of the files that ended, and how many had a size */
  private endedBytes = 0
  private endedSizes = 0
  private endedSized = 0
  /** per file not ended: the most bytes reached, its size once known, the counter as last read */
  private readonly peak = new Map<number, number>()
  private readonly sizes = new Map<number, number>()
  private readonly seen = new Map<number, number>()
  /** waits for a retry announced per file */
  private readonly announced = new Map<number, number>()
  /** bytes received by this run, attempts that start over included: what the speed is made of */
  private received = 0
  private receivedAtLastTick = 0
  private readonly meter = new SpeedMeter()
  private lastEvent: Totals | null = null
  private lastRows = ''
  private writing = false
  private readonly timer: NodeJS.Timeout

  constructor(
    private readonly taskId: string,
    private readonly task: LoadedTask,
    private readonly store: TaskStore,
    private readonly log: Logger,
  ) {
    this.done = task.counts.done
    this.failed = task.counts.failed
    task.spec.forEach((_, i) => {
      const bytes = task.bytes[i] ?? 0
      const size = task.sizes[i] ?? null
      if (isFinalFileState(task.states[i])) {
        this.ended++
        this.endedBytes += bytes
        if (size !== null) {
          this.endedSizes += size
          this.endedSized++
        }
        return
      }
      // A file an earlier run started: it resumes from what that run wrote.
      if (bytes > 0) {
        this.peak.set(i, bytes)
        this.seen.set(i, bytes)
      }
      if (size !== null) this.sizes.set(i, size)
    })
    this.timer = setInterval(() => void this.flush(), PROGRESS_INTERVAL_MS)
  }

  track(index: number): DownloadProgress {
    const counter = newProgress()
    this.active.set(index, counter)
    return counter
  }

  /** A file ended: the outcome as it is recorded, with the bytes it reached and the size it was said to have. */
  settle(index: number, o: FileOutcome): FileOutcome {
    const c = this.active.get(index)
    this.active.delete(index)
    if (c) this.read(index, c)
    const bytes = o.state === 'done' ? o.bytes : (this.peak.get(index) ?? 0)
    const size = o.state === 'done' ? (o.size ?? o.bytes) : (o.size ?? this.sizes.get(index) ?? null)
    this.peak.delete(index)
    this.sizes.delete(index)
    this.seen.delete(index)
    this.announced.delete(index)
    this.ended++
    this.endedBytes += bytes
    if (size !== null) {
      this.endedSizes += size
      this.endedSized++
    }
    if (o.state === 'done') this.done++
    else if (o.state === 'failed') this.failed++
    // A file done says its own bytes and size: the outcome stands as it came.
    return o.bytes === bytes && o.size === size ? o : { ...o, bytes, size }
  }

  totals(speed = 0): Totals {
    let bytes = this.endedBytes
    let total = this.endedSizes
    let sized = this.endedSized
    let left = 0
    for (const b of this.peak.values()) bytes += b
    for (const [i, size] of this.sizes) {
      total += size
      sized++
      left += Math.max(0, size - (this.peak.get(i) ?? 0))
    }
    // Files not ended whose size is not known yet count at the mean size known.
    const unknown = this.task.spec.length - this.ended - this.sizes.size
    const mean = sized > 0 ? total / sized : null
    const remaining = unknown === 0 ? left : mean === null ? null : left + unknown * mean
    const eta = remaining === 0 ? 0 : remaining !== null && speed > 0 ? Math.ceil(remaining / speed) : null
    return { files: this.task.spec.length, done: this.done, failed: this.failed, bytes_done: bytes, bytes_total: total, speed, eta_s: eta }
  }

  stop(): void {
    clearInterval(this.timer)
  }

  /** Takes in what a running file's counter says since the last look. */
  private read(index: number, c: DownloadProgress): void {
    // A file still waiting for its first connection has not started.
    if (c.attempt === 0) return
    const before = this.seen.get(index) ?? 0
    // An attempt that starts over lowers the counter: what it fetches again counts from there.
    if (c.bytes > before) this.received += c.bytes - before
    this.seen.set(index, c.bytes)
    this.peak.set(index, Math.max(this.peak.get(index) ?? 0, c.bytes))
    if (c.size !== null) this.sizes.set(index, c.size)
  }

  private async flush(): Promise<void> {
    if (this.writing) return
    const now = Date.now()
    const files: RunningFile[] = []
    const fileEvents: FileEventData[] = []
    const waits: [number, number][] = []
    for (const [index, c] of this.active) {
      this.read(index, c)
      if (c.attempt === 0) continue
      const retry = c.retry && c.retry.at > now ? c.retry : null
      const row: RunningFile = {
        index,
        state: retry ? 'retrying' : 'downloading',
        bytes: this.peak.get(index) ?? 0,
        attempts: c.attempt,
        size: this.sizes.get(index) ?? null,
        retryAt: retry ? new Date(retry.at).toISOString() : null,
        error: retry?.error ?? null,
        httpStatus: retry?.httpStatus ?? null,
      }
      files.push(row)
      if (c.waits > (this.announced.get(index) ?? 0) && c.retry) {
        // Announced even when the wait is over already (shorter than a tick).
        const f = this.task.spec[index]!
        const at = new Date(c.retry.at).toISOString()
        fileEvents.push({
          index, fn: f.fn, saved_as: f.saved_as, state: 'retrying', bytes: row.bytes, size: row.size,
          attempts: c.attempt, retry_at: at, http_status: c.retry.httpStatus, error: c.retry.error,
        })
        waits.push([index, c.waits])
      }
    }
    const moved = this.received !== this.receivedAtLastTick
    this.receivedAtLastTick = this.received
    const totals = this.totals(this.meter.sample(this.received, now))
    const event = this.isNews(totals, moved) ? totals : null
    const rows = files.map((f) => `${f.index}:${f.state}:${f.bytes}:${f.attempts}:${f.size}`).join(',')
    if (!event && fileEvents.length === 0 && rows === this.lastRows) return
    this.writing = true
    try {
      await this.store.progress(this.taskId, { event, live: totals, files, fileEvents })
      this.lastRows = rows
      if (event) this.lastEvent = event
      for (const [index, n] of waits) this.announced.set(index, n)
    } catch (err) {
      this.log.warn({ err }, 'progress not written')
    } finally {
      this.writing = false
    }
  }

  /**
   * Whether these totals are worth an event: bytes moved or a count changed,
   * and they differ from the last event; or the speed fell to 0 (nothing
   * moved for a whole window), said once.
   */
  private isNews(t: Totals, moved: boolean): boolean {
    const last = this.lastEvent
    if (!last) return moved || t.done + t.failed > 0
    const same = (Object.keys(t) as (keyof Totals)[]).every((k) => t[k] === last[k])
    if (same) return false
    const counts = t.done !== last.done || t.failed !== last.failed || t.bytes_done !== last.bytes_done || t.bytes_total !== last.bytes_total
    return moved || counts || (t.speed === 0 && last.speed > 0)
  }
}
