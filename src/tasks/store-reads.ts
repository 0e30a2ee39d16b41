// The task store's reads: what a worker loads to run a task, what GET
// /tasks/:id answers, and the small questions the API, the worker and the
// retention sweeper ask. None of them changes anything.
import { finishedIndex, type TaskKeys } from './keys.js'
import type { FileFilter, Priority, TaskStatus } from './schemas.js'
import { sourcesOf } from './sources.js'
import { toStatus } from './status-view.js'
import { TOTALS_FIELDS } from './totals.js'
import type { FileSpec, LoadedTask, StoreContext } from './store-types.js'
import type { FileState } from '../vocabulary.js'

/** What GET /tasks/:id?files=none reads of the task's hash. */
const SUMMARY_FIELDS = ['task_id', 'priority', 'created_at', 'started_at', 'finished_at', 'callback_url', 'max_bps', ...TOTALS_FIELDS]

export function createTaskReads({ redis, config, keys, deliveries }: StoreContext) {
  async function readAll(k: TaskKeys) {
    const res = await redis.multi().hgetall(k.meta).hgetall(k.files).exec()
    if (!res) throw new Error('transaction aborted')
    for (const [err] of res) if (err) throw err
    return { meta: res[0]![1] as Record<string, string>, files: res[1]![1] as Record<string, string> }
  }

  return {
    /** What a worker needs to run the task: the files, and each one's state. */
    async load(id: string): Promise<LoadedTask | null> {
      const { meta, files } = await readAll(keys(id))
      if (!meta.spec) return null
      const spec = JSON.parse(meta.spec) as FileSpec[]
      return {
        spec,
        states: spec.map((_, i) => files[`${i}.state`] as FileState | undefined),
        bytes: spec.map((_, i) => Number(files[`${i}.bytes`] ?? 0)),
        sizes: spec.map((_, i) => (files[`${i}.size`] ? Number(files[`${i}.size`]) : null)),
        counts: { done: Number(meta.done), failed: Number(meta.failed) },
        sources: sourcesOf(meta),
      }
    },

    async status(id: string, filter: FileFilter = 'all'): Promise<TaskStatus | null> {
      if (filter === 'none') {
        // The summary alone: neither the file list nor the files' hash is read
        // (megabytes for 10,000 files); the totals come from the counters and
        // the worker's last figures.
        const values = await redis.hmget(keys(id).meta, ...SUMMARY_FIELDS)
        const meta = Object.fromEntries(SUMMARY_FIELDS.flatMap((name, i) => (values[i] === null ? [] : [[name, values[i]!]])))
        if (!meta.task_id) return null
        const webhook = meta.callback_url ? await deliveries.status(id) : undefined
        return toStatus(meta, {}, webhook, 'none')
      }
      const { meta, files } = await readAll(keys(id))
      if (!meta.spec) return null
      const webhook = meta.callback_url ? await deliveries.status(id) : undefined
      return toStatus(meta, files, webhook, filter)
    },

    /** The BullMQ job of the task's current run (a retry is a new job). */
    async jobId(id: string): Promise<string | null> {
      return redis.hget(keys(id).meta, 'job_id')
    },

    async priority(id: string): Promise<Priority> {
      return ((await redis.hget(keys(id).meta, 'priority')) as Priority | null) ?? 'normal'
    },

    /** Whether the task exists, and whether its `end` was written. */
    async lifecycle(id: string): Promise<{ exists: boolean; ended: boolean }> {
      const [state, ended] = await redis.hmget(keys(id).meta, 'state', 'end_pushed')
      return { exists: state !== null, ended: ended !== null }
    },

    async hasEventsAfter(id: string, eventId: string): Promise<boolean> {
      return (await redis.xrange(keys(id).events, `(${eventId}`, '+', 'COUNT', 1)).length > 0
    },

    async isCancelRequested(id: string): Promise<boolean> {
      return (await redis.hexists(keys(id).meta, 'cancel_requested')) === 1
    },

    /** Finished tasks that ended before `cutoffMs`, oldest first. */
    async finishedBefore(cutoffMs: number, limit: number): Promise<string[]> {
      return redis.zrangebyscore(finishedIndex(config), '-inf', cutoffMs, 'LIMIT', 0, limit)
    },
  }
}
