import type { FileEnd, TaskStore } from '../tasks/store.js'

/** Most file ends recorded by one Lua step. */
export const MAX_ENDS_PER_STEP = 64

interface Waiting extends FileEnd {
  resolve(recorded: boolean): void
  reject(err: unknown): void
}

/**
 * Records a task's file ends in Redis, several per round trip: the files that
 * end in the same turn of the event loop go together, and while one step is
 * out, those that end meanwhile wait for the next, in the order they ended.
 * An idle task adds no delay but the rest of the turn; a busy one (thousands
 * of small files a second) pays one round trip, and one wake of Redis, for
 * several files.
 */
export class FileEndRecorder {
  private waiting: Waiting[] = []
  private writing = false

  constructor(
    private readonly store: TaskStore,
    private readonly taskId: string,
  ) {}

  /** Resolves once the end is in Redis: true when this call recorded it, false when it had already ended. */
  record(end: FileEnd): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ ...end, resolve, reject })
      if (!this.writing) {
        this.writing = true
        setImmediate(() => void this.write())
      }
    })
  }

  private async write(): Promise<void> {
    while (this.waiting.length > 0) {
      const step = this.waiting.splice(0, MAX_ENDS_PER_STEP)
      try {
        const recorded = await this.store.finishFiles(this.taskId, step)
        step.forEach((w, i) => w.resolve(recorded[i] === true))
      } catch (err) {
        for (const w of step) w.reject(err)
      }
    }
    this.writing = false
  }
}
