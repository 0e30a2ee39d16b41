// The task's state in Redis, the source of truth every process reads: its
// state-changing steps (store-steps.ts) and its reads (store-reads.ts) on one
// connection. The types it takes and gives are in store-types.ts.
import type { RedisClient } from '../redis/connection.js'
import type { ReplicaAcks } from '../redis/script.js'
import { createDeliveryStore } from '../webhooks/store.js'
import { taskKeys } from './keys.js'
import { readArchiveView } from './archive-view.js'
import { createTaskReads } from './store-reads.js'
import { createTaskSteps } from './store-steps.js'
import type { StoreConfig, StoreContext } from './store-types.js'

export type { FileEnd, FileOutcome, FileSpec, LoadedTask, ProgressStep, RunningFile, StoreConfig, TaskOptions } from './store-types.js'
export type { BeginResult, CancelResult, FinishOutcome } from './scripts.js'
export type { ArchiveView, LeftOutFile } from './archive-view.js'

export type TaskStore = ReturnType<typeof createTaskStore>

/** `acks` (REDIS_REPLICA_ACKS): the steps resolve once the replicas have them (store-steps.ts). */
export function createTaskStore(redis: RedisClient, config: StoreConfig, acks: ReplicaAcks | null = null) {
  const keys = (id: string) => taskKeys(config, id)
  const ctx: StoreContext = { redis, config, keys, deliveries: createDeliveryStore(redis, config) }

  return {
    keys,
    ...createTaskSteps(ctx, acks),
    ...createTaskReads(ctx),

    /** What a zip of the task needs, and only that (archive-view.ts); `leftOut` for REPORT.txt. */
    archiveView: (id: string, leftOut = false) => readArchiveView(redis, keys(id), leftOut),
  }
}
