// Webhooks against a real local receiver: signed, at least once with the same
// delivery id, retried with backoff, checked by the address policy at submit
// and at connect, and never in the downloads' way. Across restarts:
// webhook-durability.test.ts.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { Redis } from 'ioredis'
import { webhookIndex } from '../src/tasks/keys.js'
import { backoffMs } from '../src/webhooks/deliveries.js'
import { verifyWebhook } from '../src/webhooks/signer.js'
import { type Origin } from '../testkit/origin.js'
import { startReceiver, type Receiver } from './helpers/receiver.js'
import { FAST, SECRET } from './helpers/webhook-env.js'
import { notInFastRun, readReplies, REDIS_URL, waitFor, withService, type InProcessService } from '../testkit/service.js'

interface TaskEvent {
  event: string
  task_id: string
  state: string
  totals: { files: number; done: number; failed: number }
  status_url: string
  archive_url: string
  ended_at: string
}

describe('webhooks', () => {
  const h = withService('webhooks', FAST)
  let redis: Redis
  const receivers: Receiver[] = []
  const receiver = async () => {
    const r = await startReceiver()
    receivers.push(r)
    return r
  }

  before(() => {
    redis = new Redis(REDIS_URL)
  })
  after(async () => {
    for (const r of receivers) await r.close()
    redis.disconnect()
  })

  const submit = (body: Record<string, unknown>) => h.svc.app.inject({ method: 'POST', url: '/tasks', payload: body })
  const status = async (id: string) => (await h.svc.app.inject({ method: 'GET', url: `/tasks/${id}` })).json()
  const webhookState = (id: string, want: string) =>
    waitFor(async () => {
      const s = await status(id)
      return s.webhook?.state === want ? s : undefined
    }, 15_000, `webhook of ${id} ${want}`)

  it('POSTs one signed task.ended event, shown delivered and counted', async () => {
    const r = await receiver()
    const res = await submit({ task_id: 'hook1', callback_url: r.url, task_info: [{ fn: 'a.bin', url: h.origin.url('wh-a.bin', { size: 5000 }) }] })
    assert.equal(res.statusCode, 202, res.body)
    const s = await webhookState('hook1', 'delivered')
    assert.equal(s.webhook.attempts, 1)
    assert.equal(s.webhook.http_status, 200)
    assert.equal(r.received.length, 1)
    const [got] = r.received
    assert.equal(got!.headers['content-type'], 'application/json')
    assert.equal(got!.headers['batchdl-delivery'], s.webhook.delivery_id)
    assert.ok(verifyWebhook(SECRET, got!.body, String(got!.headers['batchdl-signature'])), 'the signature verifies')
    assert.ok(!verifyWebhook('another-secret-0123456', got!.body, String(got!.headers['batchdl-signature'])))
    assert.ok(!verifyWebhook(SECRET, got!.body.replace('completed', 'failed'), String(got!.headers['batchdl-signature'])))
    const event = JSON.parse(got!.body) as TaskEvent
    assert.equal(event.event, 'task.ended')
    assert.equal(event.task_id, 'hook1')
    assert.equal(event.state, 'completed')
    assert.deepEqual(event.totals, { files: 1, done: 1, failed: 0, bytes_done: 5000, bytes_total: 5000, speed: 0, eta_s: null })
    assert.equal(event.status_url, '/tasks/hook1')
    assert.match(event.archive_url, /^\/tasks\/hook1\/archive\?token=/)
    assert.equal(event.ended_at, s.finished_at)
    // The record is written before the index and the counter: both follow within a moment.
    await waitFor(async () => ((await redis.zcard(webhookIndex(h.svc.config))) === 0 ? true : undefined), 5000, 'nothing left to deliver')
    await waitFor(async () => {
      const metrics = await h.svc.metrics.registry.getSingleMetricAsString('batchdl_webhook_deliveries_total')
      return /outcome="delivered"} 1\b/.test(metrics) ? true : undefined
    }, 5000, 'the delivery counted')
    assert.equal(r.received.length, 1, 'delivered once')
  })

  it('retries a receiver that answers 500 twice: three POSTs of the same delivery, the same body', async () => {
    const r = await receiver()
    r.answers.push(500, 500)
    const res = await submit({ task_id: 'hook500', callback_url: r.url, task_info: [{ fn: 'a.bin', url: h.origin.url('wh-500.bin') }] })
    assert.equal(res.statusCode, 202, res.body)
    const s = await webhookState('hook500', 'delivered')
    assert.deepEqual(r.received.map((x) => x.status), [500, 500, 200])
    assert.deepEqual(new Set(r.received.map((x) => x.headers['batchdl-delivery'])), new Set([s.webhook.delivery_id]))
    assert.equal(new Set(r.received.map((x) => x.body)).size, 1, 'every attempt sends the same body')
    for (const x of r.received) assert.ok(verifyWebhook(SECRET, x.body, String(x.headers['batchdl-signature'])))
    assert.equal(s.webhook.attempts, 3)
  })

  it('gives up after WEBHOOK_MAX_ATTEMPTS, shown failed with the last answer', async () => {
    const r = await receiver()
    r.then = 503
    await submit({ task_id: 'hookdown', callback_url: r.url, task_info: [{ fn: 'a.bin', url: h.origin.url('wh-down.bin') }] })
    const s = await webhookState('hookdown', 'failed')
    assert.equal(r.received.length, 4)
    assert.deepEqual({ attempts: s.webhook.attempts, http_status: s.webhook.http_status, error: s.webhook.error }, { attempts: 4, http_status: 503, error: 'http_error' })
    await waitFor(async () => {
      const metrics = await h.svc.metrics.registry.getSingleMetricAsString('batchdl_webhook_deliveries_total')
      return /outcome="failed"} 1\b/.test(metrics) ? true : undefined
    }, 5000, 'the failure counted')
  })

  it('does not follow a redirect: a 307 is a failed attempt, and its target is never asked', async () => {
    const target = await receiver()
    const r = await receiver()
    r.then = 307
    r.location = target.url
    await submit({ task_id: 'hookredirect', callback_url: r.url, task_info: [{ fn: 'a.bin', url: h.origin.url('wh-redirect.bin') }] })
    const s = await webhookState('hookredirect', 'failed')
    assert.deepEqual({ attempts: s.webhook.attempts, http_status: s.webhook.http_status }, { attempts: 4, http_status: 307 })
    assert.equal(r.received.length, 4)
    assert.equal(target.connections, 0)
  })

  it('calls again, with a new delivery id, after a retried task ends', async () => {
    const r = await receiver()
    const files = [{ fn: 'ok.bin', url: h.origin.url('wh-r-ok.bin') }, { fn: 'bad.bin', url: h.origin.url('wh-r-bad.bin', { status: 404 }) }]
    await submit({ task_id: 'hookretry', callback_url: r.url, task_info: files })
    const first = await webhookState('hookretry', 'delivered')
    assert.equal((await h.svc.app.inject({ method: 'POST', url: '/tasks/hookretry/retry' })).statusCode, 202)
    const second = await waitFor(async () => {
      const s = await status('hookretry')
      return s.webhook?.state === 'delivered' && s.webhook.delivery_id !== first.webhook.delivery_id ? s : undefined
    }, 15_000, 'the second end delivered')
    assert.equal(r.received.length, 2)
    assert.deepEqual(r.received.map((x) => x.headers['batchdl-delivery']), [first.webhook.delivery_id, second.webhook.delivery_id])
    assert.deepEqual(r.received.map((x) => (JSON.parse(x.body) as TaskEvent).state), ['partial', 'partial'])
  })

  it('refuses a callback_url at submit: bad address, credentials, every problem listed', async () => {
    const res = await submit({
      callback_url: 'http://10.1.2.3/hook',
      task_info: [{ fn: '../x', url: h.origin.url('wh-bad') }],
    })
    assert.equal(res.statusCode, 400)
    const body = res.json() as { details: { path: string; message: string }[] }
    assert.deepEqual(body.details.map((d) => d.path), ['/callback_url', '/task_info/0/fn'])
    assert.match(body.details[0]!.message, /10\.1\.2\.3 is not a public address .*WEBHOOK_ALLOWED_CIDRS/)
    const creds = await submit({ callback_url: 'http://user:pw@127.0.0.1/hook', task_info: [{ fn: 'x', url: h.origin.url('wh-bad') }] })
    assert.equal(creds.statusCode, 400)
    assert.match(creds.json().details[0].message, /credentials/)
    const scheme = await submit({ callback_url: 'ftp://example.com/', task_info: [{ fn: 'x', url: h.origin.url('wh-bad') }] })
    assert.equal(scheme.statusCode, 400)
    assert.equal(scheme.json().details[0].path, '/callback_url')
  })

  it('never holds up downloads: another task runs to its end while a delivery hangs', { skip: notInFastRun }, async () => {
    const r = await receiver()
    r.then = 'hang'
    await submit({ task_id: 'hookhang', callback_url: r.url, task_info: [{ fn: 'a.bin', url: h.origin.url('wh-hang.bin') }] })
    await waitFor(async () => (r.received.length === 1 ? true : undefined), 10_000, 'the delivery in flight')
    const files = Array.from({ length: 30 }, (_, i) => ({ fn: `f${i}.bin`, url: h.origin.url(`wh-free-${i}.bin`, { size: 20_000 }) }))
    await submit({ task_id: 'hookfree', callback_url: r.url, task_info: files })
    const replies = await readReplies(`${h.env.LEGACY_REPLY_PREFIX}_hookfree`, 10_000)
    assert.equal(replies.at(-1), 'end')
    assert.equal((await status('hookfree')).state, 'completed')
    assert.equal(r.received[0]!.status, null, 'the first delivery was still waiting for its answer')
    r.then = 200
    r.release(200)
    await webhookState('hookhang', 'delivered')
    await webhookState('hookfree', 'delivered')
  })
})

describe('webhook backoff', () => {
  it('doubles from the base up to the cap, each delay between half and all of it', () => {
    const base = 60_000
    const cap = 3_600_000
    const low = Array.from({ length: 9 }, (_, i) => backoffMs(i + 1, base, cap, () => 0))
    const high = Array.from({ length: 9 }, (_, i) => backoffMs(i + 1, base, cap, () => 1))
    assert.deepEqual(high, [60_000, 120_000, 240_000, 480_000, 960_000, 1_920_000, 3_600_000, 3_600_000, 3_600_000])
    assert.deepEqual(low, high.map((d) => d / 2))
    // The defaults (10 attempts) spread the retries over at least an hour, whatever the jitter.
    assert.ok(low.reduce((a, b) => a + b) >= 3_600_000)
  })
})

describe('webhooks without WEBHOOK_SECRET, or to a refused address', () => {
  const plain = withService('webhooks-nosecret', {}, { inProcess: 'api' })
  const guarded = withService('webhooks-guard', { ...FAST, WEBHOOK_ALLOWED_CIDRS: '' })
  let origin: Origin
  let noSecret: InProcessService
  let strict: InProcessService
  let r: Receiver

  before(async () => {
    ;({ origin, svc: noSecret } = plain)
    strict = guarded.svc
    r = await startReceiver()
  })
  after(() => r.close())

  it('answers 400 to a callback_url when the service has no WEBHOOK_SECRET', async () => {
    const res = await noSecret.app.inject({ method: 'POST', url: '/tasks', payload: { callback_url: 'https://example.com/hook', task_info: [{ fn: 'a', url: origin.url('ns') }] } })
    assert.equal(res.statusCode, 400)
    assert.equal(res.json().details[0].path, '/callback_url')
    assert.match(res.json().details[0].message, /WEBHOOK_SECRET/)
  })

  it('refuses a loopback literal or localhost at submit, and never connects to them', async () => {
    const literal = await strict.app.inject({ method: 'POST', url: '/tasks', payload: { callback_url: r.url, task_info: [{ fn: 'a', url: origin.url('lit') }] } })
    assert.equal(literal.statusCode, 400)
    assert.match(literal.json().details[0].message, /127\.0\.0\.1 is not a public address \(loopback\)/)
    const v6 = await strict.app.inject({ method: 'POST', url: '/tasks', payload: { callback_url: 'http://[::ffff:127.0.0.1]/', task_info: [{ fn: 'a', url: origin.url('lit') }] } })
    assert.equal(v6.statusCode, 400)

    // localhost is loopback whatever DNS says: refused at submit too, naming the variable that allows it.
    const byName = r.url.replace('127.0.0.1', 'localhost')
    const res = await strict.app.inject({ method: 'POST', url: '/tasks', payload: { task_id: 'byname', callback_url: byName, task_info: [{ fn: 'a', url: origin.url('byname') }] } })
    assert.equal(res.statusCode, 400, res.body)
    assert.match(res.json().details[0].message, /callback_url: host localhost is not a public address \(loopback\).*WEBHOOK_ALLOWED_CIDRS/)
    assert.equal(r.connections, 0, 'the receiver was never connected to')
  })
})
