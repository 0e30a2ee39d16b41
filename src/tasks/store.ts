// The task's state in Redis, the source of truth every process reads: its
// state-changing steps (store-steps.ts) and its reads (store-reads.ts) on one
// connection. The types it takes and gives are in store-types.ts.
import type { RedisClient } from '../redis/connection.js'
import type { ReplicaAcks } from '../redis/script.js'
import { createDeliveryStore } from '../webhooks/store.js'
import { taskKeys } from './keys.js'
import { jsonArraySlices } from './json-slices.js'
import { createTaskReads } from './store-reads.js'
import { createTaskSteps } from './store-steps.js'
import type { FileSpec, StoreConfig, StoreContext } from './store-types.js'
import { FILE_STATES, type FileState, type TaskState } from '../vocabulary.js'

export type { FileEnd, FileOutcome, FileSpec, LoadedTask, ProgressStep, RunningFile, StoreConfig, TaskOptions } from './store-types.js'
export type { BeginResult, CancelResult, FinishOutcome } from './scripts.js'

const orNull = (v: string | undefined) => (v === undefined || v === '' ? null : v)

export type TaskStore = ReturnType<typeof createTaskStore>

/** `acks` (REDIS_REPLICA_ACKS): the steps resolve once the replicas have them (store-steps.ts). */
export function createTaskStore(redis: RedisClient, config: StoreConfig, acks: ReplicaAcks | null = null) {
  const keys = (id: string) => taskKeys(config, id)
  const ctx: StoreContext = { redis, config, keys, deliveries: createDeliveryStore(redis, config) }

  return {
    keys,
    ...createTaskSteps(ctx, acks),
    ...createTaskReads(ctx),

    /**
     * What a zip of the task needs, and only that: status() of a 10,000-file
     * task held the event loop for hundreds of milliseconds (every field of
     * every file, as an object); this reads the four fields per file it
     * needs, as arrays, a slice of files per round trip, and parses the file
     * list a slice at a time too (json-slices.ts).
     */
    async archiveView(id: string): Promise<ArchiveView | null> {
      const k = keys(id)
      // The file list as bytes: decoded a slice at a time, never as one 2 MB string.
      const [spec, state, finishedAt] = await redis.hmgetBuffer(k.meta, 'spec', 'state', 'finished_at')
      if (!spec) return null
      const files: ArchiveView['files'] = []
      for await (const slice of jsonArraySlices<FileSpec>(spec, ARCHIVE_VIEW_SLICE)) {
        const from = files.length
        const fields = slice.flatMap((_, j) => ['state', 'bytes', 'error', 'http_status'].map((name) => `${from + j}.${name}`))
        const values = await redis.hmget(k.files, ...fields)
        slice.forEach((f, j) => {
          const [fileState, bytes, error, httpStatus] = values.slice(4 * j, 4 * j + 4)
          files.push({
            fn: f.fn,
            // The view lives until the zip starts: one string where the name was kept, and the
            // vocabulary's own state strings, keep 10,000 files' view small for the young GC.
            saved_as: f.saved_as === f.fn ? f.fn : f.saved_as,
            state: FILE_STATES.find((state) => state === fileState) ?? 'queued',
            bytes: Number(bytes ?? 0),
            error: error || null,
            http_status: httpStatus ? Number(httpStatus) : null,
          })
        })
      }
      return { state: state?.toString() as TaskState, finished_at: orNull(finishedAt?.toString()), files }
    },
  }
}

const ARCHIVE_VIEW_SLICE = 500

export interface ArchiveView {
  state: TaskState
  finished_at: string | null
  files: { fn: string; saved_as: string; state: FileState; bytes: number; error: string | null; http_status: number | null }[]
}
