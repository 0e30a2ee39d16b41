// Webhook deliveries in Redis. Each task's deliveries live in its own hash
// (taskKeys().webhook, in the task's slot), written pending by the Lua step
// that ends the task; a sorted set indexes the pending ones by when each is
// due, and is what every worker's delivery loop reads. The index is written
// right after that step, and again whenever a task that has ended is looked at
// (a worker resuming it, a cancel), so a process dying in between loses nothing.
import type { RedisClient } from '../redis/connection.js'
import { LuaScript } from '../redis/script.js'
import { taskKeys, webhookIndex, type KeyConfig } from '../tasks/keys.js'
import type { Totals, WebhookState, WebhookStatus } from '../tasks/schemas.js'
import type { TaskState } from '../vocabulary.js'

/** A record is kept this long after its last attempt: each attempt renews it (7 days). */
const RECORD_TTL_SECONDS = 7 * 86_400

/** ARGV: none. The delivery id of the task's last end when it is still pending, else nil. */
const lastPending = new LuaScript<string | null, []>(
  `local id = redis.call('HGET', KEYS[1], 'last')
if id and redis.call('HGET', KEYS[1], id .. '.state') == 'pending' then return id end
return false`,
  1,
)

/** Takes up to ARGV[2] deliveries due at ARGV[1] (ms) and leases them until ARGV[3]. */
const claimDue = new LuaScript<string[], [now: number, limit: number, leaseUntil: number]>(
  `local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, member in ipairs(due) do redis.call('ZADD', KEYS[1], ARGV[3], member) end
return due`,
  1,
)

/** What the Lua step recorded about a task's end, and what the attempts made of it. */
export interface Delivery {
  taskId: string
  id: string
  url: string
  event: { state: TaskState; totals: Totals; ended_at: string }
  state: WebhookState
  attempts: number
  /** the body of the first attempt: every retry sends the same */
  body: string | null
}

export interface AttemptResult {
  state: WebhookState
  attempts: number
  httpStatus: number | null
  error: string | null
  /** ms; when the next attempt is due (pending only) */
  nextAt: number | null
}

export const memberOf = (taskId: string, id: string) => `${taskId}/${id}`
const parseMember = (member: string) => {
  const cut = member.indexOf('/')
  return { taskId: member.slice(0, cut), id: member.slice(cut + 1) }
}

export type DeliveryStore = ReturnType<typeof createDeliveryStore>

export function createDeliveryStore(redis: RedisClient, config: KeyConfig) {
  const hashOf = (taskId: string) => taskKeys(config, taskId).webhook
  const index = webhookIndex(config)

  return {
    /** Indexes the task's last delivery when it is pending and not indexed yet. */
    async indexPending(taskId: string): Promise<void> {
      const id = await lastPending.run(redis, [hashOf(taskId)], [])
      if (id) await redis.zadd(index, 'NX', Date.now(), memberOf(taskId, id))
    },

    /** Deliveries due now, each leased to this caller for `leaseMs`. */
    async claimDue(limit: number, leaseMs: number, now = Date.now()): Promise<{ taskId: string; id: string }[]> {
      const members = await claimDue.run(redis, [index], [now, limit, now + leaseMs])
      return members.map(parseMember)
    },

    async load(taskId: string, id: string): Promise<Delivery | null> {
      const [event, state, attempts, body] = await redis.hmget(hashOf(taskId), id, `${id}.state`, `${id}.attempts`, `${id}.body`)
      if (!event || !state) return null
      const { url, ...rest } = JSON.parse(event) as Delivery['event'] & { url: string }
      return { taskId, id, url, event: rest, state: state as WebhookState, attempts: Number(attempts ?? 0), body: body ?? null }
    },

    /** Keeps the first attempt's body; returns the one kept. */
    async keepBody(taskId: string, id: string, body: string): Promise<string> {
      const key = hashOf(taskId)
      if ((await redis.hsetnx(key, `${id}.body`, body)) === 1) return body
      return (await redis.hget(key, `${id}.body`)) ?? body
    },

    /** Records an attempt, then moves the delivery in the index: due again at nextAt, or out. */
    async record(taskId: string, id: string, r: AttemptResult): Promise<void> {
      const key = hashOf(taskId)
      await redis
        .multi()
        .hset(key, `${id}.state`, r.state, `${id}.attempts`, r.attempts, `${id}.http_status`, r.httpStatus ?? '', `${id}.error`, r.error ?? '')
        .hset(key, `${id}.next_at`, r.nextAt ?? '')
        .expire(key, RECORD_TTL_SECONDS)
        .exec()
      const member = memberOf(taskId, id)
      if (r.state === 'pending' && r.nextAt !== null) await redis.zadd(index, r.nextAt, member)
      else await redis.zrem(index, member)
    },

    /** Gives a leased delivery back, due now (an attempt a shutdown interrupted). */
    async release(taskId: string, id: string): Promise<void> {
      await redis.zadd(index, 'XX', Date.now(), memberOf(taskId, id))
    },

    /** A delivery that is gone or no longer pending leaves the index. */
    async unindex(taskId: string, id: string): Promise<void> {
      await redis.zrem(index, memberOf(taskId, id))
    },

    /** The last end's delivery, as GET /tasks/:id shows it; null when there is none yet. */
    async status(taskId: string): Promise<WebhookStatus | null> {
      const fields = await redis.hgetall(hashOf(taskId))
      const id = fields.last
      if (!id || !fields[`${id}.state`]) return null
      const f = (name: string) => fields[`${id}.${name}`] || null
      const nextAt = f('next_at')
      return {
        delivery_id: id,
        state: f('state') as WebhookState,
        attempts: Number(f('attempts') ?? 0),
        http_status: f('http_status') === null ? null : Number(f('http_status')),
        error: f('error'),
        next_attempt_at: nextAt === null ? null : new Date(Number(nextAt)).toISOString(),
      }
    },
  }
}
