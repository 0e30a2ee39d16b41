import type { DownloadProgress } from '../download/types.js'
import type { Logger } from '../logger.js'
import type { Totals } from '../tasks/schemas.js'
import type { RunningFile, TaskStore } from '../tasks/store.js'
import type { FinalFileState } from '../vocabulary.js'

export const PROGRESS_INTERVAL_MS = 250

/**
 * A task's progress as the worker sees it. Downloads only bump counters in
 * memory; a timer writes what moved to Redis at most every 250 ms, in one
 * round trip: never per chunk, and not per file either (a file's start is
 * recorded by the next write).
 */
export class TaskProgress {
  readonly active = new Map<number, DownloadProgress>()
  private done: number
  private failed: number
  private bytesDone: number
  private lastWritten = ''
  private writing = false
  private readonly timer: NodeJS.Timeout

  constructor(
    private readonly taskId: string,
    private readonly files: number,
    start: { done: number; failed: number; bytesDone: number },
    private readonly store: TaskStore,
    private readonly log: Logger,
  ) {
    this.done = start.done
    this.failed = start.failed
    this.bytesDone = start.bytesDone
    this.timer = setInterval(() => void this.flush(), PROGRESS_INTERVAL_MS)
  }

  track(index: number): DownloadProgress {
    const counter = { bytes: 0, attempt: 0 }
    this.active.set(index, counter)
    return counter
  }

  settle(index: number, state: FinalFileState, bytes: number): void {
    this.active.delete(index)
    if (state === 'done') {
      this.done++
      this.bytesDone += bytes
    } else if (state === 'failed') this.failed++
  }

  totals(): Totals {
    let running = 0
    for (const c of this.active.values()) running += c.bytes
    return { files: this.files, done: this.done, failed: this.failed, bytes_done: this.bytesDone + running }
  }

  stop(): void {
    clearInterval(this.timer)
  }

  private async flush(): Promise<void> {
    const totals = this.totals()
    const running: RunningFile[] = []
    // A file still waiting for a connection is not downloading yet.
    for (const [index, c] of this.active) if (c.attempt > 0) running.push({ index, bytes: c.bytes, attempt: c.attempt })
    // Written when bytes moved or an attempt began.
    const state = `${totals.bytes_done} ${running.map((f) => `${f.index}:${f.attempt}`).join(',')}`
    if (this.writing || state === this.lastWritten) return
    this.writing = true
    try {
      await this.store.progress(this.taskId, running, totals)
      this.lastWritten = state
    } catch (err) {
      this.log.warn({ err }, 'progress not written')
    } finally {
      this.writing = false
    }
  }
}
