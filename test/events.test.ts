// GET /tasks/:id/events with a real SSE client against a real server.
import assert from 'node:assert/strict'
import { before, describe, it } from 'node:test'
import { Redis } from 'ioredis'
import { createTokenSigner, tokenKey } from '../src/http/token.js'
import { taskKeys } from '../src/tasks/keys.js'
import { type Origin } from '../testkit/origin.js'
import { readReplies, REDIS_URL, waitFor, withService, type InProcessService, notInFastRun } from '../testkit/service.js'
import { follow, type Received } from './helpers/sse.js'

/** The stream as Redis holds it: the truth a subscriber must match. */
async function history(env: Record<string, string>, taskId: string): Promise<{ id: string; type: string }[]> {
  const redis = new Redis(REDIS_URL)
  try {
    const entries = await redis.xrange(taskKeys({ QUEUE_PREFIX: env.QUEUE_PREFIX!, LEGACY_REPLY_PREFIX: env.LEGACY_REPLY_PREFIX! }, taskId).events, '-', '+')
    return entries.map(([id, fields]) => ({ id, type: fields[1]! }))
  } finally {
    redis.disconnect()
  }
}

const idsAndTypes = (events: Received[]) => events.map(({ id, type }) => ({ id, type }))

describe('event stream', () => {
  const service = withService('events', { MAX_CONNECTIONS_PER_TASK: '4', SSE_HEARTBEAT_MS: '200', CORS_ORIGINS: 'https://app.example.com' }, { listen: true })
  let env: Record<string, string>
  let origin: Origin
  let base: string
  before(() => ({ env, origin, base } = service))

  async function submit(taskId: string, files: number, params: Record<string, number>) {
    const task_info = Array.from({ length: files }, (_, i) => ({ fn: `f${i}.bin`, url: origin.url(`${taskId}-${i}`, params) }))
    const res = await fetch(`${base}/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ task_id: taskId, task_info }) })
    assert.equal(res.status, 202)
    return (await res.json()) as { events_url: string }
  }

  it('resumes after a disconnect with Last-Event-ID: the full ordered sequence, no gap, no duplicate', async () => {
    const { events_url } = await submit('resume', 20, { size: 40_000, rate: 100_000 })
    const first = await follow(base + events_url, { stopAfter: 5 })
    assert.equal(first.length, 5)
    const rest = await follow(base + events_url, { headers: { 'last-event-id': first.at(-1)!.id } })
    const all = [...first, ...rest]
    assert.deepEqual(idsAndTypes(all), await history(env, 'resume'))
    assert.equal(all.at(-1)!.type, 'end')
    assert.equal(new Set(all.map((e) => e.id)).size, all.length, 'no duplicates')
    const files = all.filter((e) => e.type === 'file').map((e) => (e.data as { fn: string }).fn)
    assert.deepEqual(files.sort(), Array.from({ length: 20 }, (_, i) => `f${i}.bin`).sort())
    assert.ok(all.some((e) => e.type === 'progress'), 'progress events while bytes move')
    assert.deepEqual(all.at(-1)!.data, { state: 'completed', totals: { files: 20, done: 20, failed: 0, bytes_done: 800_000, bytes_total: 800_000, speed: 0, eta_s: null } })
  })

  it('gives a late subscriber the whole history then closes; a reconnect after end gets 204', async () => {
    const { events_url } = await submit('late', 3, { size: 1000 })
    await readReplies(`${env.LEGACY_REPLY_PREFIX}_late`)
    const events = await follow(base + events_url)
    assert.deepEqual(idsAndTypes(events), await history(env, 'late'))
    assert.deepEqual(events.map((e) => e.type).filter((t) => t !== 'progress'), ['state', 'state', 'file', 'file', 'file', 'state', 'end'])

    const raw = await fetch(base + events_url) // without Last-Event-ID: the history again, and the body ends
    assert.equal(raw.status, 200)
    assert.equal(raw.headers.get('content-type'), 'text/event-stream; charset=utf-8')
    assert.equal(raw.headers.get('x-accel-buffering'), 'no')
    const text = await raw.text()
    assert.match(text, /^retry: \d+\n\n/)
    assert.ok(text.trimEnd().endsWith(`id: ${events.at(-1)!.id}\nevent: end\ndata: ${JSON.stringify(events.at(-1)!.data)}`))

    const again = await fetch(base + events_url, { headers: { 'last-event-id': events.at(-1)!.id } })
    assert.equal(again.status, 204)
  })

  it('shows byte progress in GET /tasks/:id while a file downloads', async () => {
    await submit('bytes', 1, { size: 400_000, rate: 200_000 })
    const file = await waitFor(async () => {
      const s = (await (await fetch(`${base}/tasks/bytes`)).json()) as { files: { state: string; bytes: number }[] }
      const f = s.files[0]!
      return f.state === 'downloading' && f.bytes > 0 ? f : undefined
    }, 5000, 'bytes of a running file')
    assert.ok(file.bytes < 400_000)
    await readReplies(`${env.LEGACY_REPLY_PREFIX}_bytes`)
  })

  it('reports as downloading only the files that have a connection, not those waiting for one', async () => {
    // 4 connections: files 5 to 8 are already in hand, waiting for one.
    await submit('inhand', 12, { size: 200_000, rate: 250_000 })
    // Watched from start to end, however long a loaded machine makes that. Not
    // a count of "downloading" capped at 4: a file whose body is in gives its
    // connection to the next one before it is renamed and its end recorded,
    // so for a moment both show as downloading. A file that never had a
    // connection has no attempt yet.
    const seen = { most: 0, waiting: 0 }
    await waitFor(async () => {
      const s = (await (await fetch(`${base}/tasks/inhand`)).json()) as { state: string; files: { state: string; attempts: number }[] }
      const downloading = s.files.filter((f) => f.state === 'downloading')
      seen.most = Math.max(seen.most, downloading.length)
      seen.waiting += downloading.filter((f) => f.attempts === 0).length
      return s.state === 'queued' || s.state === 'running' ? undefined : s
    }, 30_000, 'the task to end')
    assert.equal(seen.waiting, 0, 'no file waiting for its first connection shown as downloading')
    assert.ok(seen.most >= 4, `every connection's file shown as downloading at once (at most ${seen.most})`)
    await readReplies(`${env.LEGACY_REPLY_PREFIX}_inhand`)
  })

  it('sends heartbeats while nothing happens', async () => {
    const { events_url } = await submit('beat', 1, { size: 2000, delay: 1500 })
    // The deadline aborts a read that waits for ever; a stream that ends fails at once.
    const res = await fetch(base + events_url, { signal: AbortSignal.timeout(5000) })
    const reader = res.body!.getReader()
    const decoder = new TextDecoder()
    let text = ''
    while (!text.includes(': heartbeat')) {
      const { value, done } = await reader.read()
      assert.ok(!done, `the stream ended before any heartbeat: ${JSON.stringify(text)}`)
      text += decoder.decode(value, { stream: true })
    }
    await reader.cancel()
    assert.match(text, /^: heartbeat$/m)
  })

  it('answers 404 for an unknown task and allows only the configured CORS origin', async () => {
    assert.equal((await fetch(`${base}/tasks/nope/events`)).status, 404)
    const ok = await fetch(`${base}/tasks/late/events`, { headers: { origin: 'https://app.example.com' } })
    assert.equal(ok.headers.get('access-control-allow-origin'), 'https://app.example.com')
    await ok.body?.cancel()
    const other = await fetch(`${base}/tasks/late/events`, { headers: { origin: 'https://evil.example.com' } })
    assert.equal(other.headers.get('access-control-allow-origin'), null)
    await other.body?.cancel()
  })
})

describe('event stream tokens', () => {
  const keys = ['k-one', 'k-two']
  const service = withService('tokens', { API_KEYS: keys.join(','), TOKEN_TTL_SECONDS: '600' }, { inProcess: 'api' })
  let svc: InProcessService
  before(() => ({ svc } = service))

  it('accepts the signed token of events_url and refuses expired, tampered and other-task tokens', async () => {
    const auth = { authorization: 'Bearer k-one' }
    const post = (task_id: string) =>
      svc.app.inject({ method: 'POST', url: '/tasks', headers: auth, payload: { task_id, task_info: [{ fn: 'a', url: 'http://example.com/a' }] } })
    const mine = (await post('mine')).json()
    await post('theirs')
    // End the task so that its stream closes by itself.
    assert.equal((await svc.app.inject({ method: 'DELETE', url: '/tasks/mine', headers: auth })).statusCode, 200)

    const good = await svc.app.inject({ method: 'GET', url: mine.events_url })
    assert.equal(good.statusCode, 200)
    assert.match(good.body, /event: end/)

    const signer = createTokenSigner(tokenKey(undefined, keys), 600)
    const token = new URL(mine.events_url, 'http://x').searchParams.get('token')!
    const tampered = token.slice(0, -2) + (token.endsWith('A') ? 'BB' : 'AA')
    const cases: [string, number, string][] = [
      ['/tasks/mine/events', 401, 'unauthorized'],
      [`/tasks/mine/events?token=${signer.sign('mine', Date.now() - 601_000)}`, 401, 'token_expired'],
      [`/tasks/mine/events?token=${tampered}`, 401, 'invalid_token'],
      ['/tasks/mine/events?token=garbage', 401, 'invalid_token'],
      [`/tasks/theirs/events?token=${token}`, 403, 'token_wrong_task'],
    ]
    for (const [url, status, code] of cases) {
      const res = await svc.app.inject({ method: 'GET', url })
      assert.equal(res.statusCode, status, url)
      assert.equal(res.json().error, code, url)
    }
    const withKey = await svc.app.inject({ method: 'GET', url: '/tasks/mine/events', headers: auth })
    assert.equal(withKey.statusCode, 200)
  })
})

describe('event stream across processes', { skip: notInFastRun }, () => {
  const service = withService('xproc', {}, { inProcess: false })

  it('serves every event on an API process other than the one that took the task', async () => {
    const { env, origin } = service
    // One after the other: three starting at once on a loaded machine may each take longer than a start may.
    const apiA = await service.spawn('api')
    const apiB = await service.spawn('api')
    await service.spawn('worker')
    const task_info = Array.from({ length: 6 }, (_, i) => ({ fn: `x${i}`, url: origin.url(`xproc-${i}`, { size: 50_000, rate: 250_000 }) }))
    const res = await fetch(`${apiA.address}/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ task_id: 'xp', task_info }),
    })
    const { events_url } = (await res.json()) as { events_url: string }
    const events = await follow(apiB.address + events_url)
    assert.deepEqual(idsAndTypes(events), await history(env, 'xp'))
    assert.equal(events.filter((e) => e.type === 'file').length, 6)
    assert.equal(events.at(-1)!.type, 'end')
  })
})
