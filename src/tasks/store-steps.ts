// The task store's steps that change what readers see: each is one Lua step
// (scripts.ts, file-scripts.ts) on the task's keys, plus the indexes outside
// its slot that follow it.
import { randomUUID } from 'node:crypto'
import type { LuaScript, ReplicaAcks, ScriptArg } from '../redis/script.js'
import type { FileEventData } from '../events/schemas.js'
import { cancelChannel, finishedIndex, keyList } from './keys.js'
import * as fileScripts from './file-scripts.js'
import * as scripts from './scripts.js'
import type { BeginResult, CancelResult, FinishOutcome } from './scripts.js'
import type { FileEnd, FileSpec, ProgressStep, StoreContext, TaskOptions } from './store-types.js'
import { isFinalTaskState, type TaskState } from '../vocabulary.js'

const now = () => new Date().toISOString()

/**
 * With `acks` (REDIS_REPLICA_ACKS), every step that changes what PHP or a
 * reader sees resolves only once the replicas have it: a failover then
 * cannot take back a step the caller went on from. Progress is not waited for.
 */
export function createTaskSteps({ redis, config, keys, deliveries }: StoreContext, acks: ReplicaAcks | null) {
  const run = <R, A extends ScriptArg[]>(script: LuaScript<R, A>, id: string, args: A) => script.run(redis, keyList(keys(id)), args, acks)
  // Outside the task's slot, so not in its Lua step; a task whose worker died
  // right between is indexed when the task is next looked at by a worker.
  const indexFinished = (id: string, ...mode: ['NX'] | []) => redis.zadd(finishedIndex(config), ...mode, Date.now(), id)
  // After each step that may end a task: the end's webhook delivery, written by
  // that step, joins the index the delivery loops read (a no-op when it has).
  const ended = async (id: string) => {
    await indexFinished(id)
    await deliveries.indexPending(id)
  }

  return {
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

    /** Tells every worker; the one running the task aborts it. */
    async requestCancel(id: string): Promise<void> {
      await redis.publish(cancelChannel(config), id)
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
  }
}
