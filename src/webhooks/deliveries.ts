// The worker role's webhook loop: takes the deliveries that are due from
// Redis, POSTs them, and records each attempt. It has its own timer and its
// own Agent, so a slow or dead receiver never holds up a download; each
// delivery is leased while in flight, so a process that dies mid-attempt
// leaves it to another one (at least once, same delivery id).
import type { Agent } from 'undici'
import type { TokenSigner } from '../http/token.js'
import { redactUrl, type Logger } from '../logger.js'
import type { Metrics } from '../metrics.js'
import type { AddressPolicy } from '../net/address-policy.js'
import { createWebhookAgent, postWebhook, WEBHOOK_TIMEOUT_MS } from './post.js'
import type { AttemptResult, Delivery, DeliveryStore } from './store.js'

/** Deliveries in flight at once per process. */
const MAX_IN_FLIGHT = 16
/** A delivery taken by a process that died is due again after this. */
const LEASE_MS = WEBHOOK_TIMEOUT_MS + 20_000

export interface WebhookLoopDeps {
  store: DeliveryStore
  secret: string
  policy: AddressPolicy
  tokens: TokenSigner
  maxAttempts: number
  baseDelayMs: number
  maxDelayMs: number
  pollMs: number
  metrics: Metrics
  log: Logger
}

export interface WebhookLoop {
  close(): Promise<void>
}

/** Exponential, with "equal jitter": between half and all of the doubled delay. */
export function backoffMs(attempts: number, baseMs: number, maxMs: number, random = Math.random): number {
  const delay = Math.min(maxMs, baseMs * 2 ** Math.min(attempts - 1, 40))
  return Math.round(delay / 2 + (random() * delay) / 2)
}

/** The event's body: built at the first attempt and kept, so every retry sends the same bytes. */
function bodyOf(d: Delivery, tokens: TokenSigner): string {
  const base = `/tasks/${encodeURIComponent(d.taskId)}`
  return JSON.stringify({
    event: 'task.ended',
    task_id: d.taskId,
    state: d.event.state,
    totals: d.event.totals,
    status_url: base,
    archive_url: `${base}/archive?token=${tokens.sign(d.taskId)}`,
    ended_at: d.event.ended_at,
  })
}

export function startWebhookLoop(deps: WebhookLoopDeps): WebhookLoop {
  const { store, log, metrics } = deps
  const agent: Agent = createWebhookAgent(deps.policy)
  const stop = new AbortController()
  const inFlight = new Set<Promise<void>>()
  let timer: NodeJS.Timeout | null = null
  let ticking: Promise<void> = Promise.resolve()
  let redisDown = false

  async function deliver(taskId: string, id: string): Promise<void> {
    const d = await store.load(taskId, id)
    if (!d || d.state !== 'pending') return store.unindex(taskId, id)
    const body = d.body ?? (await store.keepBody(taskId, id, bodyOf(d, deps.tokens)))
    const res = await postWebhook(agent, { url: d.url, body, deliveryId: id, secret: deps.secret, signal: stop.signal })
    // Interrupted by a shutdown: not an attempt; due again at once, for another process.
    if (stop.signal.aborted) return store.release(taskId, id)
    const attempts = d.attempts + 1
    const result: AttemptResult = { state: 'pending', attempts, httpStatus: res.httpStatus, error: res.error, nextAt: null }
    if (res.ok) result.state = 'delivered'
    else if (res.permanent || attempts >= deps.maxAttempts) result.state = 'failed'
    else result.nextAt = Date.now() + backoffMs(attempts, deps.baseDelayMs, deps.maxDelayMs)
    await store.record(taskId, id, result)
    metrics.webhookDeliveries.inc({ outcome: result.state === 'pending' ? 'retry' : result.state })
    const fields = { taskId, deliveryId: id, url: redactUrl(d.url), attempts, httpStatus: res.httpStatus, error: res.error }
    if (result.state === 'delivered') log.info(fields, 'webhook delivered')
    else if (result.state === 'failed') log.warn(fields, 'webhook failed for good')
    else log.info({ ...fields, nextAt: new Date(result.nextAt!).toISOString() }, 'webhook attempt failed, will retry')
  }

  async function tick(): Promise<void> {
    const room = MAX_IN_FLIGHT - inFlight.size
    if (room <= 0) return
    let due: { taskId: string; id: string }[]
    try {
      due = await store.claimDue(room, LEASE_MS)
      if (redisDown) log.info('webhook deliveries resumed')
      redisDown = false
    } catch (err) {
      if (!redisDown) log.warn({ err: { message: (err as Error).message } }, 'cannot read webhook deliveries')
      redisDown = true
      return
    }
    for (const { taskId, id } of due) {
      const p = deliver(taskId, id)
        .catch((err: unknown) => log.warn({ taskId, deliveryId: id, err: { message: (err as Error).message } }, 'webhook delivery not recorded'))
        .finally(() => inFlight.delete(p))
      inFlight.add(p)
    }
  }

  const schedule = () => {
    timer = setTimeout(() => {
      ticking = tick().finally(() => {
        if (!stop.signal.aborted) schedule()
      })
    }, deps.pollMs)
  }
  schedule()

  return {
    async close() {
      stop.abort()
      if (timer) clearTimeout(timer)
      await ticking
      await Promise.allSettled([...inFlight])
      await agent.close()
    },
  }
}
