// Webhook deliveries across stops and kills: a delivery a shutdown interrupted
// goes to the next worker at once, and one waiting for its retry survives the
// worker and the API killed and started again.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { Redis } from 'ioredis'
import { webhookIndex } from '../src/tasks/keys.js'
import { memberOf } from '../src/webhooks/store.js'
import type { Origin } from '../testkit/origin.js'
import { startReceiver, type Receiver } from './helpers/receiver.js'
import { FAST } from './helpers/webhook-env.js'
import { notInFastRun, REDIS_URL, startInProcess, startService, waitFor, withService } from '../testkit/service.js'

describe('webhook durability', { skip: notInFastRun }, () => {
  // A retry due 5 to 10 s after a failed attempt: time to kill the processes
  // while the delivery waits in the index, neither in flight nor retried.
  const service = withService('webhooks-restart', { ...FAST, WEBHOOK_RETRY_BASE_MS: '10000', WEBHOOK_RETRY_MAX_DELAY_MS: '10000' }, { inProcess: false })
  let origin: Origin
  let r: Receiver

  before(async () => {
    origin = service.origin
    r = await startReceiver()
  })
  after(() => r.close())

  it('hands a delivery a shutdown interrupted to the next worker at once, without counting it', async () => {
    // Its own environment, for two services in turn: the first stopped mid-delivery.
    const local = await startService('webhooks-stop', FAST, { inProcess: false })
    const hook = await startReceiver()
    try {
      hook.then = 'hang'
      const first = await startInProcess(local.env)
      await first.app.inject({ method: 'POST', url: '/tasks', payload: { task_id: 'stopped', callback_url: hook.url, task_info: [{ fn: 'a', url: origin.url('wh-stop') }] } })
      await waitFor(async () => (hook.received.length === 1 ? true : undefined), 10_000, 'the delivery in flight')
      await first.close()
      hook.then = 200
      const second = await startInProcess(local.env)
      try {
        // Well within the 30 s lease a process that died would leave.
        const s = await waitFor(async () => {
          const st = (await second.app.inject({ method: 'GET', url: '/tasks/stopped' })).json()
          return st.webhook?.state === 'delivered' ? st.webhook : undefined
        }, 10_000, 'the delivery made by the next worker')
        assert.equal(s.attempts, 1, 'the interrupted attempt is not counted')
        assert.equal(hook.received.length, 2)
        assert.equal(hook.received[1]!.headers['batchdl-delivery'], s.delivery_id)
        assert.equal(hook.received[0]!.headers['batchdl-delivery'], s.delivery_id)
      } finally {
        await second.close()
      }
    } finally {
      await hook.close()
      await local.close()
    }
  })

  it('delivers a pending delivery after the worker and the API were killed and started again', async () => {
    const { env } = service
    r.then = 503
    const first = await service.spawn('all')
    const res = await fetch(`${first.address}/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ task_id: 'durable', callback_url: r.url, task_info: [{ fn: 'a.bin', url: origin.url('wh-durable.bin') }] }),
    })
    assert.equal(res.status, 202)
    type Hook = { state: string; attempts: number; delivery_id: string; next_attempt_at: string | null }
    const pending = await waitFor(async () => {
      const s = (await (await fetch(`${first.address}/tasks/durable`)).json()) as { webhook?: Hook }
      return s.webhook?.attempts === 1 ? s.webhook : undefined
    }, 20_000, 'the first attempt recorded')
    assert.equal(pending.state, 'pending')
    // The attempt is recorded in two steps: the delivery's hash, then its place
    // in the index. Killed between the two, the delivery would stay leased (for
    // 30 s) instead of due at next_attempt_at; so the kill waits for the second.
    const dueAt = Date.parse(pending.next_attempt_at!)
    const redis = new Redis(REDIS_URL)
    try {
      const index = webhookIndex({ QUEUE_PREFIX: env.QUEUE_PREFIX!, LEGACY_REPLY_PREFIX: env.LEGACY_REPLY_PREFIX! })
      const member = memberOf('durable', pending.delivery_id)
      await waitFor(async () => (Number(await redis.zscore(index, member)) === dueAt ? true : undefined), 5_000, 'the retry in the index')
    } finally {
      redis.disconnect()
    }
    await first.stop('SIGKILL')
    assert.ok(Date.now() < dueAt, 'killed before the retry was due')

    r.then = 200
    // One after the other: two starting at once on a loaded machine may each take longer than spawnService waits.
    const api = await service.spawn('api')
    await service.spawn('worker')
    const s = await waitFor(async () => {
      const st = (await (await fetch(`${api.address}/tasks/durable`)).json()) as { webhook?: Hook }
      return st.webhook?.state === 'delivered' ? st.webhook : undefined
    }, 30_000, 'the delivery made by the new worker')
    assert.equal(s.delivery_id, pending.delivery_id)
    assert.equal(s.attempts, 2)
    assert.deepEqual(r.received.map((x) => x.status), [503, 200])
    assert.deepEqual(new Set(r.received.map((x) => x.headers['batchdl-delivery'])), new Set([pending.delivery_id]))
  })
})
