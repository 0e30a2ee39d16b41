// What the API does with tasks; routes/tasks.ts only maps HTTP onto it.
import { randomUUID } from 'node:crypto'
import type { Queue } from 'bullmq'
import type { Backend } from '../backend.js'
import type { TokenSigner } from '../http/token.js'
import type { Config } from '../config.js'
import { DiskCalls } from '../download/disk-calls.js'
import type { Logger } from '../logger.js'
import { addressPolicyFor, type AddressPolicy } from '../net/address-policy.js'
import { ConflictError, InvalidRequestError, NotFoundError, PayloadTooLargeError, UnavailableError } from '../errors.js'
import { buildArchive, type Archive } from './archive.js'
import { archiveReport, reportName } from './archive-report.js'
import { removeTaskFiles, taskDir } from '../tasks/paths.js'
import { replicated, ReplicaAckError, type ReplicaAcks } from '../redis/script.js'
import type { RedisClient } from '../redis/connection.js'
import { isRedisUnavailable } from '../redis/errors.js'
import { callbackCheckFor, type CallbackCheck } from '../webhooks/callback-url.js'
import { fingerprintOf, toSpec } from './task-spec.js'
import { jobIdOf, jobPriority, queueKey, type TaskJob } from '../tasks/queue.js'
import type { FileFilter, Priority, TaskAccepted, TaskRequest, TaskStatus } from '../tasks/schemas.js'
import { isTaskState, TASK_STATES, type TaskState } from '../vocabulary.js'
import { RETRY_MISSING, RETRY_NOT_ENDED } from '../tasks/scripts.js'
import type { TaskStore } from '../tasks/store.js'
import { createTaskList, decodeCursor, type TaskList, type TaskListPage } from './task-list.js'

export interface TaskServiceDeps {
  redis: RedisClient
  store: TaskStore
  list: TaskList
  queue: Queue<TaskJob>
  acks: ReplicaAcks | null
  tokens: TokenSigner
  policy: AddressPolicy
  /** why a callback_url is refused at submit (WEBHOOK_SECRET, address policy) */
  checkCallback: CallbackCheck
  maxFilesPerTask: number
  downloadDir: string
  /** the zip's file calls */
  disk: DiskCalls
}

export type TaskService = ReturnType<typeof createTaskService>

/** The service as the configuration sets it up, for every process that takes tasks (API, legacy intake). */
export function taskServiceFor(config: Config, backend: Backend, tokens: TokenSigner, log: Logger): TaskService {
  return createTaskService({
    redis: backend.redis,
    store: backend.store,
    list: createTaskList(backend.redis, config),
    queue: backend.queue,
    acks: backend.acks,
    tokens,
    policy: addressPolicyFor(config),
    checkCallback: callbackCheckFor(config),
    maxFilesPerTask: config.MAX_FILES_PER_TASK,
    downloadDir: config.DOWNLOAD_DIR,
    disk: new DiskCalls(log),
  })
}

/** Tasks in one page of GET /tasks, by default and at the most. */
const DEFAULT_PAGE = 50
const MAX_PAGE = 200

export function createTaskService({ redis, store, list, queue, acks, tokens, policy, checkCallback, maxFilesPerTask, downloadDir, disk }: TaskServiceDeps) {
  /** Runs a Redis step for a request: a 503 at once when Redis is away, never a hang. */
  async function withRedis<T>(step: () => Promise<T>): Promise<T> {
    if (redis.status !== 'ready') throw new UnavailableError()
    try {
      return await step()
    } catch (err) {
      if (redis.status !== 'ready' || isRedisUnavailable(err) || err instanceof ReplicaAckError) throw new UnavailableError()
      throw err
    }
  }

  async function enqueue(taskId: string, jobId?: string | null, priority?: Priority): Promise<void> {
    // The job id makes this idempotent: adding an existing job is a no-op.
    const p = priority ?? (await store.priority(taskId))
    await queue.add('task', { taskId }, { jobId: jobId ?? jobIdOf(taskId), priority: jobPriority(p) })
    // In a Cluster the queue's keys live on another node than the task's.
    await replicated(redis, queueKey(queue), acks)
    await store.accept(taskId)
  }

  /** The URLs a caller hands on; events and archive carry a signed token, since a browser opens them. */
  function accepted(taskId: string, state: TaskAccepted['state'], files: number): TaskAccepted {
    const base = `/tasks/${encodeURIComponent(taskId)}`
    const token = `?token=${tokens.sign(taskId)}`
    return {
      task_id: taskId,
      state,
      files,
      status_url: base,
      events_url: `${base}/events${token}`,
      archive_url: `${base}/archive${token}`,
    }
  }

  return {
    checkFileCount(count: number): void {
      if (count > maxFilesPerTask) {
        throw new PayloadTooLargeError('too_many_files', `task_info has ${count} files, at most ${maxFilesPerTask} are allowed`)
      }
    },

    /** 202 when the task is new and queued, 200 when the same task was already submitted. */
    async submit(body: TaskRequest): Promise<{ created: boolean; task: TaskAccepted }> {
      this.checkFileCount(body.task_info.length)
      const { spec, sources } = toSpec(body, policy, checkCallback)
      const taskId = body.task_id ?? randomUUID()
      const fingerprint = fingerprintOf(spec, sources)
      const priority = body.priority ?? 'normal'
      const options = {
        priority,
        callbackUrl: body.callback_url,
        headers: sources.headers,
        mirrors: sources.mirrors,
        maxBytesPerSecond: sources.maxBytesPerSecond ?? undefined,
      }
      return withRedis(async () => {
        const res = await store.create(taskId, spec, fingerprint, options)
        if (!res.created) {
          if (res.fingerprint !== fingerprint) {
            throw new ConflictError('task_conflict', `task ${taskId} exists with other files`)
          }
          // A retried submit whose first try died before the job was queued.
          if (res.state === 'queued') {
            await list.add(taskId, Date.now())
            await enqueue(taskId, await store.jobId(taskId))
          }
          return { created: false, task: accepted(taskId, res.state, spec.length) }
        }
        await list.add(taskId, Date.now())
        await enqueue(taskId, null, priority)
        return { created: true, task: accepted(taskId, 'queued', spec.length) }
      })
    },

    /** The task list, newest first; `state` is the query's comma-separated states. */
    async list(query: { state?: string; limit?: string; cursor?: string }): Promise<TaskListPage> {
      const details: { path: string; message: string }[] = []
      const limit = query.limit === undefined ? DEFAULT_PAGE : Number(query.limit)
      if (limit > MAX_PAGE) details.push({ path: '/limit', message: `limit must be a whole number from 1 to ${MAX_PAGE}` })
      let states: TaskState[] | null = null
      if (query.state !== undefined) {
        const asked = query.state.split(',').map((s) => s.trim()).filter(Boolean)
        const unknown = asked.filter((s) => !isTaskState(s))
        if (unknown.length > 0) {
          details.push({ path: '/state', message: `state ${unknown.join(', ')} is not a task state: use ${TASK_STATES.join(', ')}` })
        }
        states = asked.filter(isTaskState)
      }
      if (query.cursor !== undefined && !decodeCursor(query.cursor)) {
        details.push({ path: '/cursor', message: 'cursor is not one this service gave: use next_cursor as it came' })
      }
      if (details.length > 0) throw new InvalidRequestError(`${details[0]!.path}: ${details[0]!.message}`, details)
      return withRedis(() => list.page({ states, limit, cursor: query.cursor ?? null }))
    },

    lifecycle: (taskId: string) => withRedis(() => store.lifecycle(taskId)),
    hasEventsAfter: (taskId: string, eventId: string) => withRedis(() => store.hasEventsAfter(taskId, eventId)),

    async get(taskId: string, files: FileFilter = 'all'): Promise<TaskStatus> {
      const status = await withRedis(() => store.status(taskId, files))
      if (!status) throw new NotFoundError(`no task ${taskId}`)
      return status
    },

    /**
     * Runs the failed and cancelled files of an ended task again, under the
     * same task id: the reply list gets start, one message per retried file
     * and end once more; the events continue on the same stream.
     */
    async retry(taskId: string): Promise<{ retried: number; status: TaskStatus }> {
      return withRedis(async () => {
        const jobId = `${jobIdOf(taskId)}-r${Date.now()}`
        const retried = await store.retry(taskId, jobId)
        if (retried === RETRY_MISSING) throw new NotFoundError(`no task ${taskId}`)
        if (retried === 0) throw new ConflictError('nothing_to_retry', 'no file of the task failed or was cancelled')
        const status = await store.status(taskId)
        if (retried === RETRY_NOT_ENDED) {
          // A retry whose job was not queued yet (the answer was lost) is queued now; a running task is not retried.
          if (status?.state !== 'queued') throw new ConflictError('task_not_finished', 'the task is still running')
          await enqueue(taskId, await store.jobId(taskId))
          return { retried: 0, status }
        }
        await enqueue(taskId, jobId)
        return { retried, status: status! }
      })
    },

    /** Removes a finished task's files and state at once. */
    async purge(taskId: string): Promise<void> {
      await withRedis(async () => {
        const { exists, ended } = await store.lifecycle(taskId)
        if (!exists) throw new NotFoundError(`no task ${taskId}`)
        if (!ended) throw new ConflictError('task_not_finished', 'only a finished task can be purged: cancel it first')
        await store.claimFinished(taskId)
        await removeTaskFiles(downloadDir, taskId)
        await store.remove(taskId)
        await list.remove(taskId)
      })
    },

    /** The zip of the finished files; while the task runs only with `partial`; with `report`, REPORT.txt first. */
    async archive(taskId: string, partial: boolean, report = false): Promise<Archive> {
      const view = await withRedis(() => store.archiveView(taskId, report))
      if (!view) throw new NotFoundError(`no task ${taskId}`)
      if ((view.state === 'queued' || view.state === 'running') && !partial) {
        throw new ConflictError('task_not_finished', 'the task is still running: wait for its end, or ask ?partial=1')
      }
      const made = report ? { name: reportName(view.names), content: Buffer.from(archiveReport(taskId, view)) } : undefined
      // Every entry carries the task's end time: the same task gives the same bytes.
      return buildArchive(disk, taskDir(downloadDir, taskId), view, new Date(view.finished_at ?? Date.now()), made)
    },

    /** Cancels; a running task is stopped by its worker, which ends it as cancelled. */
    async cancel(taskId: string): Promise<TaskStatus> {
      return withRedis(async () => {
        const res = await store.cancel(taskId)
        if (res === 'missing') throw new NotFoundError(`no task ${taskId}`)
        if (res === 'cancelled') await queue.remove((await store.jobId(taskId)) ?? jobIdOf(taskId)).catch(() => 0)
        if (res === 'cancelling') await store.requestCancel(taskId)
        const status = await store.status(taskId)
        if (!status) throw new NotFoundError(`no task ${taskId}`)
        return status
      })
    },
  }
}
