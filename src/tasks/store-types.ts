// What the task store (store.ts) takes and gives: shared by its steps
// (store-steps.ts), its reads (store-reads.ts), and the worker and API that use it.
import type { RedisClient } from '../redis/connection.js'
import type { DeliveryStore } from '../webhooks/store.js'
import type { FileEventData } from '../events/schemas.js'
import type { KeyConfig, TaskKeys } from './keys.js'
import type { Priority, Totals } from './schemas.js'
import type { StoredHeaders, TaskSources } from './sources.js'
import type { FileErrorCode, FileState, FinalFileState } from '../vocabulary.js'

/** What a file is, fixed at submit. */
export interface FileSpec {
  fn: string
  url: string
  saved_as: string
  sha256?: string
}

/** How a file attempt series ended. */
export interface FileOutcome {
  state: FinalFileState
  bytes: number
  size: number | null
  httpStatus: number | null
  error: FileErrorCode | null
  attempts: number
  /** which of the file's URLs served it: 0 its url, 1.. a mirror */
  source?: number
}

/** A file that ended, to be recorded. */
export interface FileEnd {
  index: number
  file: FileSpec
  outcome: FileOutcome
}

/** A file being downloaded, or waiting for its next attempt, as the worker reports it. */
export interface RunningFile {
  index: number
  state: 'downloading' | 'retrying'
  /** the most its attempts reached: never less than before */
  bytes: number
  attempts: number
  size: number | null
  /** while retrying: when, the failure that made it wait */
  retryAt: string | null
  error: string | null
  httpStatus: number | null
}

/** One progress step of a running task (src/worker/progress.ts). */
export interface ProgressStep {
  /** the progress event, when there is one to send */
  event: Totals | null
  /** the figures GET answers with until the next step */
  live: Totals
  files: RunningFile[]
  /** files that began waiting for a retry */
  fileEvents: FileEventData[]
}

export interface LoadedTask {
  spec: FileSpec[]
  states: (FileState | undefined)[]
  /** per file: its bytes and size as last written (what a resumed run starts from) */
  bytes: number[]
  sizes: (number | null)[]
  counts: { done: number; failed: number }
  sources: TaskSources
}

/** What a task is besides its files, fixed at submit. */
export interface TaskOptions {
  priority: Priority
  callbackUrl?: string
  headers?: StoredHeaders
  mirrors?: TaskSources['mirrors']
  maxBytesPerSecond?: number
}

export interface StoreConfig extends KeyConfig {
  REPLY_TTL_SECONDS: number
  TASK_RETENTION_SECONDS: number
}

/** What the store's steps and reads share: one connection, one configuration. */
export interface StoreContext {
  redis: RedisClient
  config: StoreConfig
  keys: (id: string) => TaskKeys
  deliveries: DeliveryStore
}
