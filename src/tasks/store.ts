// The task's state in Redis, the source of truth every process reads.
import { randomUUID } from 'node:crypto'
import type { RedisClient } from '../redis/connection.js'
import type { LuaScript, ReplicaAcks, ScriptArg } from '../redis/script.js'
import { createDeliveryStore } from '../webhooks/store.js'
import { cancelChannel, finishedIndex, keyList, taskKeys, type KeyConfig, type TaskKeys } from './keys.js'
import type { FileEventData } from '../events/schemas.js'
import type { FileFilter, Priority, TaskStatus, Totals } from './schemas.js'
import { sourcesOf, type StoredHeaders, type TaskSources } from './sources.js'
import { jsonArraySlices } from './json-slices.js'
import * as fileScripts from './file-scripts.js'
import * as scripts from './scripts.js'
import type { BeginResult, CancelResult, FinishOutcome } from './scripts.js'
import { FILE_STATES, isFinalTaskState, type FileErrorCode, type FileState, type FinalFileState, type TaskState } from '../vocabulary.js'
import { toStatus } from './status-view.js'
import { TOTALS_FIELDS } from './totals.js'

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

export type { BeginResult, CancelResult, FinishOutcome }

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

const now = () => new Date().toISOString()
const orNull = (v: string | undefined) => (v === undefined || v === '' ? null : v)

export type TaskStore = ReturnType<typeof createTaskStore>

/**
 * With `acks` (REDIS_REPLICA_ACKS), every step that changes what PHP or a
 * reader sees resolves only once the replicas have it: a failover then
 * cannot take back a step the caller went on from. Progress is not waited for.
 */
export function createTaskStore(redis: RedisClient, config: StoreConfig, acks: ReplicaAcks | null = null) {
  const keys = (id: string) => taskKeys(config, id)
  const run = <R, A extends ScriptArg[]>(script: LuaScript<R, A>, id: string, args: A) => script.run(redis, keyList(keys(id)), args, acks)
  // Outside the task's slot, so not in its Lua step; a task whose worker died
  // right between is indexed when the task is next looked at by a worker.
  const indexFinished = (id: string, ...mode: ['NX'] | []) => redis.zadd(finishedIndex(config), ...mode, Date.now(), id)
  const deliveries = createDeliveryStore(redis, config)
  // After each step that may end a task: the end's webhook delivery, written by
  // that step, joins the index the delivery loops read (a no-op when it has).
  const ended = async (id: string) => {
    await indexFinished(id)
    await deliveries.indexPending(id)
  }

  async function readAll(k: TaskKeys) {
    const res = await redis.multi().hgetall(k.meta).hgetall(k.files).exec()
    if (!res) throw new Error('transaction aborted')
    for (const [err] of res) if (err) throw err
    return { meta: res[0]![1] as Record<string, string>, files: res[1]![1] as Record<string, string> }
  }

  return {
    keys,

    /** Creates the task unless it exists; then returns the existing fingerprint and state. */
    async create(id: string, spec: FileSpec[], fingerprint: string, opts: TaskOptions = { priority: 'normal' }) {
      const json = (v: object | undefined) => (v && Object.keys(v).length > 0 ? JSON.stringify(v) : '')
      const args: Parameters<typeof scripts.createTask.run>[2] = [
        id, fingerprint, JSON.stringify(spec), spec.length, now(), opts.priority, opts.callbackUrl ?? '',
        json(opts.headers), json(opts.mirrors), opts.maxBytesPerSecond ?? '',
      ]
      const existing = await run(scripts.createTask, id, args)
      return existing ? { created: false as const, fingerprint: existing[0], state: existing[1] } : { created: true as const }
    },

    async accept(id: string): Promise<void> {
      await run(scripts.acceptTask, id, [config.REPLY_TTL_SECONDS])
    },

    async begin(id: string): Promise<BeginResult> {
      const result = await run(scripts.beginTask, id, [now(), config.REPLY_TTL_SECONDS])
      if (isFinalTaskState(result)) {
        await indexFinished(id, 'NX')
        await deliveries.indexPending(id)
      }
      return result
    },

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

    /**
     * Records the ends of files and pushes their reply messages, in order and
     * once each, in one round trip. Per file: whether this call recorded it
     * (false when it had already ended).
     */
    async finishFiles(id: string, ends: FileEnd[]): Promise<boolean[]> {
      const args: ScriptArg[] = [config.REPLY_TTL_SECONDS]
      for (const { index, file, outcome: o } of ends) {
        const event: FileEventData = {
          index, fn: file.fn, saved_as: file.saved_as, state: o.state, bytes: o.bytes, size: o.size,
          attempts: o.attempts, retry_at: null, http_status: o.httpStatus, error: o.error,
        }
        args.push(index, o.state, o.bytes, o.size ?? '', o.httpStatus ?? '', o.error ?? '', o.attempts, file.fn, JSON.stringify(event), o.source ?? '')
      }
      const recorded = await run(fileScripts.finishFiles, id, args)
      return recorded.map((r) => r === 1)
    },

    /** The files being downloaded or waiting, the live totals and the events due; one round trip. */
    async progress(id: string, step: ProgressStep): Promise<void> {
      const args: (string | number)[] = [step.event ? JSON.stringify(step.event) : '', JSON.stringify(step.live), Date.now(), step.fileEvents.length]
      for (const e of step.fileEvents) args.push(e.index, JSON.stringify(e))
      for (const f of step.files) {
        args.push(f.index, f.state, f.bytes, f.attempts, f.size ?? '', f.retryAt ?? '', f.error ?? '', f.httpStatus ?? '')
      }
      await fileScripts.progress.run(redis, keyList(keys(id)), args)
    },

    async finish(id: string, outcome: FinishOutcome, reason = ''): Promise<TaskState | null> {
      const state = await run(scripts.finishTask, id, [outcome, reason, now(), config.REPLY_TTL_SECONDS, config.TASK_RETENTION_SECONDS, randomUUID()])
      if (state) await ended(id)
      return state
    },

    async cancel(id: string): Promise<CancelResult> {
      const result = await run(scripts.cancelTask, id, [now(), config.REPLY_TTL_SECONDS, config.TASK_RETENTION_SECONDS, randomUUID()])
      if (result === 'cancelled') await ended(id)
      return result
    },

    /** Queues the failed and cancelled files of an ended task again: the count, or RETRY_NOT_ENDED, RETRY_MISSING. */
    async retry(id: string, jobId: string): Promise<number> {
      const n = await run(scripts.retryTask, id, [jobId])
      if (n > 0) await redis.zrem(finishedIndex(config), id)
      return n
    },

    /** The BullMQ job of the task's current run (a retry is a new job). */
    async jobId(id: string): Promise<string | null> {
      return redis.hget(keys(id).meta, 'job_id')
    },

    async priority(id: string): Promise<Priority> {
      return ((await redis.hget(keys(id).meta, 'priority')) as Priority | null) ?? 'normal'
    },

    /** Finished tasks that ended before `cutoffMs`, oldest first. */
    async finishedBefore(cutoffMs: number, limit: number): Promise<string[]> {
      return redis.zrangebyscore(finishedIndex(config), '-inf', cutoffMs, 'LIMIT', 0, limit)
    },

    /** Takes a finished task off the index; true for exactly one caller, whoever asks. */
    async claimFinished(id: string): Promise<boolean> {
      return (await redis.zrem(finishedIndex(config), id)) === 1
    },

    /** Deletes the task's state and events; the reply list is left to expire, a reader may be on it. */
    async remove(id: string): Promise<void> {
      const k = keys(id)
      await redis.del(k.meta, k.files, k.events)
    },

    /** Tells every worker; the one running the task aborts it. */
    async requestCancel(id: string): Promise<void> {
      await redis.publish(cancelChannel(config), id)
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

/** What GET /tasks/:id?files=none reads of the task's hash. */
const SUMMARY_FIELDS = ['task_id', 'priority', 'created_at', 'started_at', 'finished_at', 'callback_url', 'max_bps', ...TOTALS_FIELDS]

export interface ArchiveView {
  state: TaskState
  finished_at: string | null
  files: { fn: string; saved_as: string; state: FileState; bytes: number; error: string | null; http_status: number | null }[]
}
