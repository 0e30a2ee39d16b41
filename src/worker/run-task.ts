// One task on one worker: every file not yet finished is downloaded, with
// connections granted by the process's scheduler (at most
// MAX_CONNECTIONS_PER_TASK for the task, shared fairly with the other tasks);
// files finished by an earlier (dead) worker are skipped.
import { defaultMaxListeners, setMaxListeners } from 'node:events'
import { mkdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { downloadFile, type Downloader } from '../download/download-file.js'
import { throttleOf, TokenBucket, type Throttle } from '../download/token-bucket.js'
import { redactUrl, type Logger } from '../logger.js'
import { partialDir, taskDir } from '../tasks/paths.js'
import type { Metrics } from '../metrics.js'
import { fileSources } from '../tasks/sources.js'
import { isFinalFileState } from '../vocabulary.js'
import type { FileOutcome, LoadedTask, TaskStore } from '../tasks/store.js'
import { FileEndRecorder } from './file-ends.js'
import { TaskProgress } from './progress.js'
import { forEachLimited } from './for-each-limited.js'
import type { Scheduler } from './scheduler.js'
import type { TaskLane } from './task-lane.js'

/** Abort reasons: only a cancel ends the task; any other abort leaves it for a resume. */
export const CANCELLED = 'cancelled'

/**
 * Files a task has in hand per connection: a file frees its connection once
 * the body is in, and its last write, rename and bookkeeping overlap the next
 * file's request. The bound keeps those (an open file each) from piling up
 * behind a slow disk.
 */
const FILES_PER_CONNECTION = 2

export interface TaskRunnerDeps {
  store: TaskStore
  downloader: Downloader
  scheduler: Scheduler
  metrics: Metrics
  downloadDir: string
  maxConnectionsPerTask: number
  log: Logger
}

/** The task stopped before its end (shutdown, lost lock): another run resumes it. */
export class TaskInterruptedError extends Error {
  constructor(readonly reason: string) {
    super(`task interrupted (${reason}), it will be resumed`)
    this.name = 'TaskInterruptedError'
  }
}

export async function runTask(deps: TaskRunnerDeps, taskId: string, signal: AbortSignal): Promise<void> {
  const { store } = deps
  const log = deps.log.child({ taskId })
  const begun = await store.begin(taskId)
  if (begun === 'missing') {
    log.warn('task state is gone, nothing to run')
    return
  }
  if (begun === 'cancel') return endCancelled(deps, taskId, log)
  if (begun !== 'running') return // ended already: a duplicate delivery

  const task = await store.load(taskId)
  if (!task) return
  const dir = taskDir(deps.downloadDir, taskId)
  const tmpDir = partialDir(deps.downloadDir, taskId)
  try {
    await mkdir(dir, { recursive: true })
    await mkdir(tmpDir, { recursive: true })
  } catch (err) {
    // No file of the task can be written: end it now rather than retry the run for minutes.
    log.error({ err: { code: (err as NodeJS.ErrnoException).code, message: (err as Error).message } }, 'cannot create the task folder')
    const state = await store.finish(taskId, 'failed', 'disk_error')
    if (state) deps.metrics.tasksFinished.inc({ state })
    return
  }

  const pending = task.spec.map((_, i) => i).filter((i) => !isFinalFileState(task.states[i]))
  log.info({ files: task.spec.length, pending: pending.length }, 'task started')
  const inHand = deps.maxConnectionsPerTask * FILES_PER_CONNECTION
  // Each file in hand listens for the abort while it waits for a connection,
  // downloads or backs off: that many listeners is the design, not a leak,
  // and Node warns of one past 10.
  setMaxListeners(inHand + defaultMaxListeners, signal)
  const progress = new TaskProgress(taskId, task, store, log)
  const endTimer = deps.metrics.taskSeconds.startTimer()
  const lane = deps.scheduler.join(deps.maxConnectionsPerTask)
  try {
    const ends = new FileEndRecorder(store, taskId)
    // The task's cap is one bucket for all its connections, inside the process's.
    const cap = task.sources.maxBytesPerSecond
    const throttle = throttleOf([cap ? new TokenBucket(cap) : null, deps.downloader.throttle])
    const run: TaskRun = { deps, task, dir, tmpDir, progress, ends, signal, log, lane, throttle }
    await forEachLimited(pending, inHand, signal, (index) => runFile(run, index))
  } finally {
    lane.close()
    progress.stop()
    endTimer()
  }

  if (signal.aborted) {
    if (signal.reason === CANCELLED) return endCancelled(deps, taskId, log)
    // Partial files stay: whoever resumes the task continues them.
    throw new TaskInterruptedError(String(signal.reason))
  }
  await rm(tmpDir, { recursive: true, force: true })
  const state = await store.finish(taskId, 'normal')
  if (state) deps.metrics.tasksFinished.inc({ state })
  log.info({ state, ...progress.totals() }, 'task finished')
}

interface TaskRun {
  deps: TaskRunnerDeps
  task: LoadedTask
  dir: string
  tmpDir: string
  progress: TaskProgress
  ends: FileEndRecorder
  signal: AbortSignal
  log: Logger
  lane: TaskLane
  throttle: Throttle | undefined
}

/** One file of the task. */
async function runFile(run: TaskRun, index: number): Promise<void> {
  const { deps, task, dir, tmpDir, progress, signal, log, lane } = run
  const file = task.spec[index]!
  const { headers, mirrors } = fileSources(task.sources, index)
  const started = performance.now()
  const outcome = await downloadFile(deps.downloader, {
    url: file.url,
    mirrors,
    headers,
    throttle: run.throttle,
    dest: join(dir, file.saved_as),
    tmp: join(tmpDir, String(index)),
    sha256: file.sha256,
    signal,
    progress: progress.track(index),
    mayHavePartial: task.states[index] === 'downloading' || task.states[index] === 'retrying',
    acquireConnection: (host, resuming) => lane.acquire(host, signal, resuming),
    extra: lane,
  })
  // An aborted file is settled by the task's end (cancel) or its resume.
  if (signal.aborted) return
  const recorded = progress.settle(index, outcome)
  if (await run.ends.record({ index, file, outcome: recorded })) countFile(deps.metrics, outcome, (performance.now() - started) / 1000)
  if (outcome.state === 'failed') {
    log.warn({ fn: file.fn, url: redactUrl(file.url), error: outcome.error, httpStatus: outcome.httpStatus }, 'file failed')
  }
}

function countFile(metrics: Metrics, o: FileOutcome, seconds: number): void {
  metrics.filesFinished.inc({ outcome: o.state, error: o.error ?? 'none' })
  if (o.state === 'done') metrics.bytes.inc(o.bytes)
  if (o.attempts > 1) metrics.retries.inc(o.attempts - 1)
  metrics.fileSeconds.observe(seconds)
}

async function endCancelled(deps: TaskRunnerDeps, taskId: string, log: Logger): Promise<void> {
  await rm(partialDir(deps.downloadDir, taskId), { recursive: true, force: true })
  if (await deps.store.finish(taskId, 'cancelled')) deps.metrics.tasksFinished.inc({ state: 'cancelled' })
  log.info('task cancelled')
}
