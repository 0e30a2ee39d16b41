// Finished tasks' files and state are removed TASK_RETENTION_SECONDS after
// their end. Any number of processes may sweep: a task is claimed by taking
// it off the finished index, which succeeds for one of them only. Running
// tasks are never in that index.
import type { Logger } from '../logger.js'
import { removeTaskFiles } from '../tasks/paths.js'
import type { TaskStore } from '../tasks/store.js'

const BATCH = 100

export interface Sweeper {
  close(): Promise<void>
}

export function startRetentionSweeper(opts: { store: TaskStore; downloadDir: string; retentionSeconds: number; log: Logger }): Sweeper {
  const { store, downloadDir, retentionSeconds, log } = opts
  let sweeping: Promise<void> = Promise.resolve()
  const sweep = async () => {
    for (;;) {
      const due = await store.finishedBefore(Date.now() - retentionSeconds * 1000, BATCH)
      for (const taskId of due) {
        if (!(await store.claimFinished(taskId))) continue
        await removeTaskFiles(downloadDir, taskId)
        await store.remove(taskId)
        log.info({ taskId }, 'finished task removed after its retention time')
      }
      if (due.length < BATCH) return
    }
  }
  // Often enough that nothing outlives its time by more than a quarter of it.
  const everyMs = Math.min(60_000, Math.max(1000, (retentionSeconds * 1000) / 4))
  const timer = setInterval(() => {
    sweeping = sweep().catch((err: unknown) => log.warn({ err }, 'retention sweep failed'))
  }, everyMs)
  return {
    async close() {
      clearInterval(timer)
      await sweeping
    },
  }
}
