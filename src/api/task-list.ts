// GET /tasks: every task of the service, newest first, from a sorted set of
// task ids by creation time. The index is written beside the task, not in its
// Lua step (it is shared by all tasks, so outside their Redis Cluster slot);
// entries whose task is gone (purged, expired) are dropped as a page meets them.
import type { RedisClient } from '../redis/connection.js'
import { taskKeys, type KeyConfig } from '../tasks/keys.js'
import type { Priority, TaskSummary } from '../tasks/schemas.js'
import { TOTALS_FIELDS, totalsOf } from '../tasks/totals.js'
import type { TaskState } from '../vocabulary.js'

/** Index entries read per round trip while a page is filled. */
const BATCH = 200
/** Entries one request looks at at most; a filtered page that meets no match says where to go on. */
const SCAN_LIMIT = 2000

export interface TaskListQuery {
  states: readonly TaskState[] | null
  limit: number
  cursor: string | null
}

export interface TaskListPage {
  tasks: TaskSummary[]
  next_cursor: string | null
}

/** Where a page stopped: the score and id of the last entry looked at, opaque to callers. */
interface Cursor {
  score: number
  id: string
}

const encodeCursor = (c: Cursor) => Buffer.from(`${c.score}:${c.id}`).toString('base64url')

/** The cursor, or null when it is not one this service gave. */
export function decodeCursor(text: string): Cursor | null {
  const m = /^(\d+):([A-Za-z0-9_-]{1,64})$/.exec(Buffer.from(text, 'base64url').toString())
  return m ? { score: Number(m[1]), id: m[2]! } : null
}

const META_FIELDS = ['task_id', 'created_at', 'started_at', 'finished_at', 'priority', ...TOTALS_FIELDS] as const

export type TaskList = ReturnType<typeof createTaskList>

export function createTaskList(redis: RedisClient, config: KeyConfig) {
  const index = `${config.QUEUE_PREFIX}:tasks`

  /** Entries after the cursor, newest first: (score desc, id desc), as ZREVRANGEBYSCORE orders them. */
  async function entriesAfter(cursor: Cursor | null, count: number): Promise<Cursor[]> {
    const max = cursor ? String(cursor.score) : '+inf'
    for (let extra = 0; ; extra += BATCH) {
      const flat = await redis.zrevrangebyscore(index, max, '-inf', 'WITHSCORES', 'LIMIT', 0, count + extra)
      const all: Cursor[] = []
      for (let i = 0; i < flat.length; i += 2) all.push({ id: flat[i]!, score: Number(flat[i + 1]) })
      const after = cursor ? all.filter((e) => e.score < cursor.score || e.id < cursor.id) : all
      // Entries of the cursor's own millisecond that sort before it are skipped; fetch further when that was all.
      if (after.length > 0 || all.length < count + extra) return after.slice(0, count)
    }
  }

  async function summaries(entries: readonly Cursor[]): Promise<(TaskSummary | null)[]> {
    // Side by side rather than in one pipeline: in a Redis Cluster each task's
    // hash lives in its own slot, which one pipeline cannot span.
    const results = await Promise.all(entries.map((e) => redis.hmget(taskKeys(config, e.id).meta, ...META_FIELDS)))
    const now = Date.now()
    return results.map((values) => {
      const meta = Object.fromEntries(META_FIELDS.map((name, i) => [name, values[i] ?? null])) as Record<(typeof META_FIELDS)[number], string | null>
      if (!meta.task_id || !meta.state || !meta.created_at) return null
      return {
        task_id: meta.task_id,
        state: meta.state as TaskState,
        priority: (meta.priority as Priority | null) ?? 'normal',
        created_at: meta.created_at,
        started_at: meta.started_at || null,
        finished_at: meta.finished_at || null,
        totals: totalsOf(meta, undefined, now),
      }
    })
  }

  return {
    async add(taskId: string, createdMs: number): Promise<void> {
      await redis.zadd(index, 'NX', createdMs, taskId)
    },

    async remove(taskId: string): Promise<void> {
      await redis.zrem(index, taskId)
    },

    async page({ states, limit, cursor }: TaskListQuery): Promise<TaskListPage> {
      const tasks: TaskSummary[] = []
      let at = cursor ? decodeCursor(cursor) : null
      let looked = 0
      while (tasks.length < limit && looked < SCAN_LIMIT) {
        const entries = await entriesAfter(at, Math.min(BATCH, states ? BATCH : limit - tasks.length))
        if (entries.length === 0) return { tasks, next_cursor: null }
        const found = await summaries(entries)
        const gone: string[] = []
        for (const [i, entry] of entries.entries()) {
          looked++
          at = entry
          const summary = found[i]
          if (!summary) gone.push(entry.id)
          else if (!states || states.includes(summary.state)) tasks.push(summary)
          if (tasks.length === limit) break
        }
        if (gone.length > 0) await redis.zrem(index, ...gone)
      }
      return { tasks, next_cursor: at ? encodeCursor(at) : null }
    },
  }
}
