// The seed's intake, for PHP code that still LPUSHes its JSON task onto a
// Redis list (LEGACY_TASK_QUEUE, the seed used batch_download_tasks). Each
// message is moved atomically (BLMOVE) to a processing list before it is
// handled and removed from it after, so a process that dies in between loses
// nothing: the next one to start handles what is left there. Handling is a
// submit by task_id, which is idempotent, so a message handled twice still
// runs once.
import { setTimeout as sleep } from 'node:timers/promises'
import { Value } from 'typebox/value'
import type { Backend } from '../backend.js'
import type { Config } from '../config.js'
import { AppError } from '../errors.js'
import { tokenSignerFor } from '../http/token.js'
import type { Logger } from '../logger.js'
import type { RedisClient } from '../redis/connection.js'
import { hashTagOf } from '../tasks/keys.js'
import { TaskRequest } from '../tasks/schemas.js'
import { taskServiceFor, type TaskService } from '../api/task-service.js'
import type { TaskStore } from '../tasks/store.js'

export interface LegacyIntake {
  close(): Promise<void>
}

const BLOCK_SECONDS = 5
const RETRY_MS = 1000

/**
 * The processing list carries the source list's hash tag: BLMOVE moves
 * between two keys of one Redis Cluster slot only. `previous` is where
 * versions before Cluster support kept it, drained at start.
 */
export const legacyKeys = (queuePrefix: string, source: string) => ({
  processing: `${queuePrefix}:{${hashTagOf(source)}}:legacy:processing`,
  previous: `${queuePrefix}:legacy:processing`,
  dead: `${queuePrefix}:legacy:dead`,
})

/** Takes seed-format tasks on the worker role's backend, which the caller closes after the intake. */
export async function startLegacyIntake(config: Config, backend: Backend, log: Logger): Promise<LegacyIntake> {
  const source = config.LEGACY_TASK_QUEUE
  const { processing, previous, dead } = legacyKeys(config.QUEUE_PREFIX, source)
  const { redis, store } = backend
  const blocking = backend.connect('legacy') // BLMOVE blocks its connection
  const tasks = taskServiceFor(config, backend, tokenSignerFor(config), log)
  const handler = { tasks, store, redis, dead, log, replyTtl: config.REPLY_TTL_SECONDS }
  let closed = false

  async function handleUntilDone(message: string, list = processing): Promise<void> {
    for (;;) {
      try {
        await handle(handler, message)
        await redis.lrem(list, 1, message)
        return
      } catch (err) {
        if (closed) return // still in the processing list: recovered at the next start
        log.warn({ err: { message: (err as Error).message } }, 'legacy message not handled yet, retrying')
        await sleep(RETRY_MS)
      }
    }
  }

  const loop = (async () => {
    // What a process that died had taken and not finished.
    for (const list of [previous, processing]) {
      for (const message of await redis.lrange(list, 0, -1)) await handleUntilDone(message, list)
    }
    while (!closed) {
      let message: string | null
      try {
        message = await blocking.blmove(source, processing, 'RIGHT', 'LEFT', BLOCK_SECONDS)
      } catch (err) {
        if (closed) break
        log.warn({ err: { message: (err as Error).message } }, 'legacy intake cannot read, retrying')
        await sleep(RETRY_MS)
        continue
      }
      if (message === null) continue
      await handleUntilDone(message)
    }
  })().catch((err: unknown) => log.error({ err }, 'legacy intake stopped'))
  log.info({ queue: source }, 'taking seed-format tasks from the legacy list')

  return {
    async close() {
      closed = true
      blocking.disconnect() // ends a BLMOVE in progress
      await loop
    },
  }
}

interface Handler {
  tasks: TaskService
  store: TaskStore
  redis: RedisClient
  dead: string
  log: Logger
  replyTtl: number
}

/** Submits one message; an invalid one goes to the dead-letter list. Throws only when it may pass (Redis away). */
async function handle(h: Handler, message: string): Promise<void> {
  let body: unknown
  try {
    body = JSON.parse(message)
  } catch {
    return deadLetter(h, message, 'not JSON', null)
  }
  const taskId = typeof (body as { task_id?: unknown })?.task_id === 'string' ? (body as { task_id: string }).task_id : null
  if (!taskId) return deadLetter(h, message, 'no task_id', null)
  if (!Value.Check(TaskRequest, body)) {
    const first = Value.Errors(TaskRequest, body)[0]
    return deadLetter(h, message, `${first?.instancePath || 'body'} ${first?.message ?? 'is invalid'}`, taskId)
  }
  try {
    const { created } = await h.tasks.submit(body)
    h.log.info({ taskId, created }, 'legacy task taken')
  } catch (err) {
    if (err instanceof AppError && err.statusCode < 500) {
      const reason = err.details?.[0] ? `${err.details[0].path}: ${err.details[0].message}` : err.message
      // A conflict means the id belongs to another task: its reply list is not ours to touch.
      return deadLetter(h, message, reason, err.statusCode === 409 ? null : taskId)
    }
    throw err
  }
}

/**
 * Keeps the message with its reason; when it names a task that does not
 * exist, its reply list gets `start` and `end`, so its PHP reader stops waiting.
 */
async function deadLetter(h: Handler, message: string, reason: string, taskId: string | null): Promise<void> {
  h.log.warn({ taskId, reason }, 'invalid legacy message moved to the dead-letter list')
  // Two steps: in a Cluster the two lists live in different slots.
  await h.redis.lpush(h.dead, JSON.stringify({ reason, message, at: new Date().toISOString() }))
  if (taskId && !(await h.store.lifecycle(taskId)).exists) {
    const reply = h.store.keys(taskId).reply
    await h.redis.multi().lpush(reply, 'start', 'end').expire(reply, h.replyTtl).exec()
  }
}
