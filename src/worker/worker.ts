// The worker role: takes tasks from the BullMQ queue and runs them.
import { WaitingError, Worker, type Job } from 'bullmq'
import type { Backend } from '../backend.js'
import type { Config } from '../config.js'
import { createDownloadAgent } from '../download/dispatcher.js'
import { BatchBuffers } from '../download/batch-buffers.js'
import { DiskCalls } from '../download/disk-calls.js'
import { TokenBucket } from '../download/token-bucket.js'
import { addressPolicyFor } from '../net/address-policy.js'
import type { Logger } from '../logger.js'
import type { Metrics } from '../metrics.js'
import { warnIfEvicting } from '../redis/connection.js'
import { cancelChannel } from '../tasks/keys.js'
import { downloadDirProblem } from '../tasks/paths.js'
import { bullPrefix, JOB_ATTEMPTS, TASK_QUEUE, type TaskJob } from '../tasks/queue.js'
import { startRetentionSweeper } from './retention.js'
import { startWebhooks } from '../webhooks/start.js'
import { CANCELLED, runTask, TaskInterruptedError } from './run-task.js'
import { Scheduler } from './scheduler.js'

const CANCEL_POLL_MS = 1000
const SHUTDOWN = 'shutdown'

/**
 * A worker going idle collects what its tasks left in the old generation,
 * when node runs it with --expose-gc; otherwise nothing would, since nothing
 * allocates any more. Measured, with the price: docs/decisions/0002-idle-gc.md.
 */
function releaseMemory(batches: BatchBuffers): void {
  batches.trim()
  const gc = (globalThis as { gc?: () => void }).gc
  gc?.()
}

export interface TaskWorker {
  close(): Promise<void>
}

/** Runs tasks on the worker role's backend, which the caller closes after the worker. */
export async function startWorker(config: Config, backend: Backend, log: Logger, metrics: Metrics): Promise<TaskWorker> {
  const { redis, store } = backend
  // A subscribed connection can do nothing else: it gets its own.
  const subscriber = backend.connect('cancel')
  const { agent, dispatcher } = createDownloadAgent({
    policy: addressPolicyFor(config),
    connectTimeoutMs: config.DOWNLOAD_CONNECT_TIMEOUT_MS,
    idleTimeoutMs: config.DOWNLOAD_IDLE_TIMEOUT_MS,
  })
  const batches = new BatchBuffers()
  const deps = {
    store,
    downloader: {
      dispatcher,
      disk: new DiskCalls(log),
      batches,
      policy: {
        maxAttempts: config.RETRY_MAX_ATTEMPTS,
        baseDelayMs: config.RETRY_BASE_DELAY_MS,
        maxDelayMs: config.RETRY_MAX_DELAY_MS,
        maxBytes: config.MAX_FILE_BYTES,
        minSpeedBytes: config.DOWNLOAD_MIN_SPEED_BYTES,
        minSpeedWindowMs: config.DOWNLOAD_MIN_SPEED_WINDOW_MS,
        segmentMinBytes: config.SEGMENT_MIN_BYTES,
      },
      throttle: config.MAX_BYTES_PER_SECOND > 0 ? new TokenBucket(config.MAX_BYTES_PER_SECOND) : undefined,
    },
    // One per process: every task it runs shares its connections.
    scheduler: new Scheduler({
      maxConnections: config.MAX_CONCURRENT_DOWNLOADS,
      maxPerHost: config.MAX_CONNECTIONS_PER_HOST,
      onCount: (n) => metrics.activeDownloads.set(n),
    }),
    metrics,
    downloadDir: config.DOWNLOAD_DIR,
    maxConnectionsPerTask: config.MAX_CONNECTIONS_PER_TASK,
    log,
  }

  const running = new Map<string, string>() // task id -> job id, for what this worker runs now
  const processor = async (job: Job<TaskJob>, token?: string, signal?: AbortSignal) => {
    running.set(job.data.taskId, job.id!)
    try {
      await runTask(deps, job.data.taskId, signal!)
    } catch (err) {
      if (err instanceof TaskInterruptedError && err.reason === SHUTDOWN) {
        // Hand the task back at once, not after its lock expires, and without
        // counting an attempt: another worker resumes it where it stopped.
        await job.moveToWait(token)
        throw new WaitingError()
      }
      throw err
    } finally {
      running.delete(job.data.taskId)
      if (running.size === 0) releaseMemory(batches)
    }
  }
  const worker = new Worker<TaskJob>(TASK_QUEUE, processor, {
    connection: redis,
    prefix: bullPrefix(config.QUEUE_PREFIX),
    concurrency: config.MAX_CONCURRENT_TASKS,
    autorun: false,
    lockDuration: config.JOB_LOCK_MS,
    stalledInterval: Math.max(1000, Math.floor(config.JOB_LOCK_MS / 2)),
    // A task whose worker died is resumed however often that happens; a task
    // started too many times fails in processJob, where the 'failed' event
    // below can end it for its readers.
    maxStalledCount: Number.MAX_SAFE_INTEGER,
    maxStartedAttempts: config.MAX_TASK_RESUMES,
  })

  worker.on('error', (err) => log.error({ err }, 'worker error'))
  worker.on('lockRenewalFailed', (jobIds: string[]) => {
    // Another worker may take the task over: stop touching it.
    for (const id of jobIds) worker.cancelJob(id, 'lock_lost')
  })
  worker.on('failed', (job: Job<TaskJob> | undefined, err: Error) => {
    if (!job) return
    const final = err.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? JOB_ATTEMPTS)
    log.warn({ taskId: job.data.taskId, err: { message: err.message }, final }, 'task run failed')
    if (!final) return
    // No worker will run it again: end it so that no reader waits forever.
    store.finish(job.data.taskId, 'failed', 'worker_error').then(
      (state) => state && metrics.tasksFinished.inc({ state }),
      (e: unknown) => log.error({ err: e }, 'cannot end failed task'),
    )
  })

  const cancel = (taskId: string) => {
    const jobId = running.get(taskId)
    if (jobId && worker.cancelJob(jobId, CANCELLED)) log.info({ taskId }, 'cancelling task')
  }
  const onCancel = (_channel: string, taskId: string) => cancel(taskId)
  subscriber.on('message', onCancel)
  try {
    await subscriber.subscribe(cancelChannel(config))
    // Started means connected (after the subscription, which fails at once on a
    // refused password where this would wait). BullMQ closing a worker whose
    // connections are still being set up drops its listeners, then throws the
    // failed setup unhandled ("Connection is closed").
    await worker.waitUntilReady()
  } catch (err) {
    // Nothing of a failed start is left running: BullMQ's own blocking connection would retry for ever.
    await worker.close().catch(() => {})
    await agent.close().catch(() => {})
    throw err
  }
  // The published request is instant but lost if this connection was down at
  // that moment: the flag in Redis is checked every second as well.
  const cancelPoll = setInterval(() => {
    for (const taskId of running.keys()) {
      store.isCancelRequested(taskId).then((yes) => yes && cancel(taskId), () => {})
    }
  }, CANCEL_POLL_MS)

  const sweeper =
    config.TASK_RETENTION_SECONDS > 0
      ? startRetentionSweeper({ store, downloadDir: config.DOWNLOAD_DIR, retentionSeconds: config.TASK_RETENTION_SECONDS, log })
      : null
  const webhooks = startWebhooks(config, redis, metrics, log)
  void warnIfEvicting(redis, log)
  void downloadDirProblem(config.DOWNLOAD_DIR).then((problem) => {
    if (problem) log.error({ downloadDir: config.DOWNLOAD_DIR }, `${problem}: every task will fail with disk_error until it can`)
  })
  const runLoop = worker.run().catch((err: unknown) => log.error({ err }, 'worker stopped'))
  log.info({ concurrency: config.MAX_CONCURRENT_TASKS }, 'worker started')

  return {
    async close() {
      // Let running tasks finish for the grace period, then interrupt them:
      // their jobs stay in Redis and another worker resumes them.
      const interrupt = setTimeout(() => worker.cancelAllJobs(SHUTDOWN), config.SHUTDOWN_GRACE_MS)
      try {
        await worker.close()
        await runLoop
      } finally {
        clearTimeout(interrupt)
        clearInterval(cancelPoll)
      }
      subscriber.off('message', onCancel) // the connection itself closes with the backend
      await sweeper?.close()
      await webhooks?.close()
      await agent.close()
    },
  }
}
