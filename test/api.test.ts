import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { after, before, describe, it } from 'node:test'
import { Redis } from 'ioredis'
import { REDIS_URL, startService, withService, type InProcessService } from '../testkit/service.js'

// The API alone (no worker), against the real Redis.
describe('HTTP API', () => {
  let env: Record<string, string>
  let svc: InProcessService
  let redis: Redis
  const reply = (id: string) => `${env.LEGACY_REPLY_PREFIX}_${id}`
  const post = (payload: unknown) => svc.app.inject({ method: 'POST', url: '/tasks', payload: payload as object })

  const service = withService('api', { MAX_FILES_PER_TASK: '3', MAX_BODY_BYTES: '4096' }, { inProcess: 'api' })
  before(async () => {
    ;({ env, svc } = service)
    redis = new Redis(REDIS_URL)
  })
  after(async () => {
    redis.disconnect()
  })

  it('accepts the legacy body verbatim: 202, Location, start on the reply list', async () => {
    const res = await post({ task_id: 'a1b2c3', task_info: [{ fn: 'cat', url: 'https://oss.example.com/a/cat.jpg?Signature=x' }] })
    assert.equal(res.statusCode, 202)
    assert.equal(res.headers.location, '/tasks/a1b2c3')
    const { events_url, archive_url, ...rest } = res.json()
    assert.deepEqual(rest, { task_id: 'a1b2c3', state: 'queued', files: 1, status_url: '/tasks/a1b2c3' })
    assert.match(events_url, /^\/tasks\/a1b2c3\/events\?token=[\w-]+\.[\w-]+$/)
    assert.match(archive_url, /^\/tasks\/a1b2c3\/archive\?token=[\w-]+\.[\w-]+$/)
    assert.deepEqual(await redis.lrange(reply('a1b2c3'), 0, -1), ['start'])
    assert.ok((await redis.ttl(reply('a1b2c3'))) > 86000)

    const status = await svc.app.inject({ method: 'GET', url: '/tasks/a1b2c3' })
    assert.equal(status.statusCode, 200)
    const body = status.json()
    assert.equal(body.state, 'queued')
    assert.deepEqual(body.totals, { files: 1, done: 0, failed: 0, bytes_done: 0, bytes_total: 0, speed: 0, eta_s: null })
    assert.equal(body.files[0].saved_as, 'cat.jpg')
    assert.equal(body.files[0].url, 'https://oss.example.com/a/cat.jpg', 'the query string (a signature) is not shown')
    assert.equal(body.files[0].state, 'queued')
  })

  it('generates a task_id when absent', async () => {
    const res = await post({ task_info: [{ fn: 'a.txt', url: 'http://example.com/a.txt' }] })
    assert.equal(res.statusCode, 202)
    assert.match(res.json().task_id, /^[A-Za-z0-9_-]{1,64}$/)
  })

  it('answers 200 to the same submit again, 409 to the same id with other files', async () => {
    const payload = { task_id: 'idem', task_info: [{ fn: 'a.txt', url: 'http://example.com/a.txt' }] }
    assert.equal((await post(payload)).statusCode, 202)
    const again = await post(payload)
    assert.equal(again.statusCode, 200)
    assert.equal(again.json().task_id, 'idem')
    assert.deepEqual(await redis.lrange(reply('idem'), 0, -1), ['start'], 'start is pushed once')
    const other = await post({ task_id: 'idem', task_info: [{ fn: 'b.txt', url: 'http://example.com/b.txt' }] })
    assert.equal(other.statusCode, 409)
    assert.equal(other.json().error, 'task_conflict')
  })

  it('refuses every unsafe fn with 400 naming the item, and writes nothing', async () => {
    const unsafe = ['', '.', '..', 'a/b', '../../etc/passwd', 'a\\b', 'x\u0000y', 'x\ny', 'x'.repeat(256), '猫'.repeat(86)]
    for (const [n, fn] of unsafe.entries()) {
      const id = `unsafe${n}`
      const res = await post({ task_id: id, task_info: [{ fn: 'ok.txt', url: 'http://example.com/ok' }, { fn, url: 'http://example.com/x' }] })
      assert.equal(res.statusCode, 400, JSON.stringify(fn))
      const body = res.json()
      assert.equal(body.error, 'invalid_request')
      assert.equal(body.details[0].path, '/task_info/1/fn', JSON.stringify(fn))
      assert.equal(await redis.exists(reply(id)), 0)
      assert.equal((await svc.app.inject({ method: 'GET', url: `/tasks/${id}` })).statusCode, 404)
    }
  })

  it('refuses bad bodies with 400 and the path of the bad value', async () => {
    const cases: [unknown, string][] = [
      [{ task_id: 'x' }, '/task_info'],
      [{ task_info: [] }, '/task_info'],
      [{ task_id: 'bad id!', task_info: [{ fn: 'a', url: 'http://e.com/a' }] }, '/task_id'],
      [{ task_info: [{ fn: 'a', url: 'ftp://e.com/a' }] }, '/task_info/0/url'],
      [{ task_info: [{ fn: 'a', url: 'http://' }] }, '/task_info/0/url'],
      [{ task_info: [{ fn: 'a' }] }, '/task_info/0/url'],
      [{ task_info: [{ fn: 'a', url: 'http://e.com/a', sha256: 'xyz' }] }, '/task_info/0/sha256'],
      [{ task_info: [{ fn: 7, url: 'http://e.com/a' }] }, '/task_info/0/fn'],
    ]
    for (const [payload, path] of cases) {
      const res = await post(payload)
      assert.equal(res.statusCode, 400, JSON.stringify(payload))
      assert.equal(res.json().error, 'invalid_request')
      assert.equal(res.json().details[0].path, path, JSON.stringify(payload))
    }
  })

  it('lists every problem of a body at once, in words, without regular expressions', async () => {
    const res = await post({
      task_id: 'bad id!',
      task_info: [
        { fn: 'a', url: 'ftp://e.com/a' },
        { fn: 'b', url: 'http://e.com/b', sha256: 'xyz' },
        { url: 'http://e.com/c' },
      ],
    })
    assert.equal(res.statusCode, 400)
    const { details, message } = res.json() as { details: { path: string; message: string }[]; message: string }
    assert.deepEqual(
      details.map((d) => d.path).sort(),
      ['/task_id', '/task_info/0/url', '/task_info/1/sha256', '/task_info/2/fn'],
    )
    assert.match(message, /and 3 more/)
    for (const d of details) assert.doesNotMatch(d.message, /\^|\$|\[|pattern/, d.message)
    assert.equal(details.find((d) => d.path === '/task_info/0/url')!.message, 'url must be an http:// or https:// URL')
    assert.equal(details.find((d) => d.path === '/task_info/2/fn')!.message, 'fn is required')
  })

  it('answers a malformed body or a wrong content type in the same shape, with its own words', async () => {
    const inject = (contentType: string, payload: string) =>
      svc.app.inject({ method: 'POST', url: '/tasks', headers: { 'content-type': contentType }, payload })
    const notJson = await inject('application/json', '{"task')
    assert.equal(notJson.statusCode, 400)
    assert.equal(notJson.json().error, 'invalid_request')
    assert.equal(notJson.json().message, 'the body is not valid JSON')
    assert.equal(notJson.json().details.length, 1)
    const empty = await inject('application/json', '')
    assert.equal(empty.statusCode, 400)
    assert.equal(empty.json().error, 'invalid_request')
    const xml = await inject('application/xml', '<task/>')
    assert.equal(xml.statusCode, 415)
    assert.equal(xml.json().error, 'unsupported_media_type')
    assert.match(xml.json().message, /application\/json/)
    for (const res of [notJson, empty, xml]) assert.doesNotMatch(res.body, /fst_err/i)
  })

  it('refuses a URL with credentials, pointing to headers.Authorization, without echoing them', async () => {
    const res = await post({ task_id: 'creds', task_info: [{ fn: 'a.jpg', url: 'http://alice:s3cret@example.com/a.jpg' }] })
    assert.equal(res.statusCode, 400)
    assert.equal(res.json().details[0].path, '/task_info/0/url')
    assert.match(res.json().details[0].message, /headers\.Authorization/)
    assert.doesNotMatch(res.body, /s3cret|alice/)
    assert.equal(await redis.exists(reply('creds')), 0)
  })

  it('answers 413 for too many files and for a body over the limit', async () => {
    const files = Array.from({ length: 4 }, (_, i) => ({ fn: `f${i}`, url: 'http://e.com/f' }))
    const many = await post({ task_id: 'many', task_info: files })
    assert.equal(many.statusCode, 413)
    assert.equal(many.json().error, 'too_many_files')
    const big = await post({ task_id: 'big', task_info: [{ fn: 'a', url: `http://e.com/${'a'.repeat(5000)}` }] })
    assert.equal(big.statusCode, 413)
    assert.equal(big.json().error, 'body_too_large')
    assert.equal(await redis.exists(reply('many')), 0)
  })

  it('answers 404 for an unknown task', async () => {
    for (const method of ['GET', 'DELETE'] as const) {
      const res = await svc.app.inject({ method, url: '/tasks/nosuchtask' })
      assert.equal(res.statusCode, 404)
      assert.equal(res.json().error, 'not_found')
    }
  })

  it('cancels a queued task at once: every file gets its message, then end', async () => {
    await post({ task_id: 'cq', task_info: [{ fn: 'a', url: 'http://e.com/a' }, { fn: 'b', url: 'http://e.com/b' }] })
    const res = await svc.app.inject({ method: 'DELETE', url: '/tasks/cq' })
    assert.equal(res.statusCode, 200)
    assert.equal(res.json().state, 'cancelled')
    assert.deepEqual(res.json().files.map((f: { state: string }) => f.state), ['cancelled', 'cancelled'])
    assert.deepEqual((await redis.lrange(reply('cq'), 0, -1)).reverse(), ['start', 'a', 'b', 'end'])
    const again = await svc.app.inject({ method: 'DELETE', url: '/tasks/cq' })
    assert.equal(again.statusCode, 200)
    assert.equal((await redis.lrange(reply('cq'), 0, -1)).length, 4, 'a second cancel pushes nothing')
  })

  it('serves health checks', async () => {
    assert.equal((await svc.app.inject({ method: 'GET', url: '/health/live' })).statusCode, 200)
    const ready = await svc.app.inject({ method: 'GET', url: '/health/ready' })
    assert.equal(ready.statusCode, 200)
    assert.deepEqual(ready.json(), { status: 'ok' })
  })

  it('serves the committed OpenAPI document and the docs page', async () => {
    const committed = await readFile(new URL('../openapi.yaml', import.meta.url), 'utf8')
    assert.equal(svc.app.swagger({ yaml: true }), committed, 'openapi.yaml is stale: run npm run openapi')
    const json = await svc.app.inject({ method: 'GET', url: '/openapi.json' })
    assert.equal(json.statusCode, 200)
    assert.ok(json.json().paths['/tasks'].post)
    assert.equal((await svc.app.inject({ method: 'GET', url: '/docs/' })).statusCode, 200)
  })
})

describe('API keys', () => {
  let svc: InProcessService
  const service = withService('auth', { API_KEYS: 'old-key,new-key' }, { inProcess: 'api' })
  before(() => ({ svc } = service))

  it('refuses requests without a valid key and accepts every configured key', async () => {
    const payload = { task_info: [{ fn: 'a', url: 'http://e.com/a' }] }
    const none = await svc.app.inject({ method: 'POST', url: '/tasks', payload })
    assert.equal(none.statusCode, 401)
    assert.equal(none.json().error, 'unauthorized')
    const wrong = await svc.app.inject({ method: 'POST', url: '/tasks', payload, headers: { authorization: 'Bearer nope' } })
    assert.equal(wrong.statusCode, 401)
    for (const key of ['old-key', 'new-key']) {
      const ok = await svc.app.inject({ method: 'POST', url: '/tasks', payload, headers: { authorization: `Bearer ${key}` } })
      assert.equal(ok.statusCode, 202)
    }
    assert.equal((await svc.app.inject({ method: 'GET', url: '/health/live' })).statusCode, 200, 'health needs no key')
  })

  it('asks a key for /metrics, unless METRICS_PUBLIC is set', async () => {
    const scrape = (app: InProcessService['app'], headers: Record<string, string> = {}) =>
      app.inject({ method: 'GET', url: '/metrics', headers }).then((r) => r.statusCode)
    assert.equal(await scrape(svc.app), 401)
    assert.equal(await scrape(svc.app, { authorization: 'Bearer new-key' }), 200)
    const pub = await startService('pubmetrics', { API_KEYS: 'k', METRICS_PUBLIC: 'true' }, { inProcess: 'api' })
    try {
      assert.equal(await scrape(pub.svc.app), 200)
    } finally {
      await pub.close()
    }
  })
})

describe('submit rate limit', () => {
  let svc: InProcessService
  const service = withService('ratelimit', { API_KEYS: 'key-a,key-b', SUBMIT_RATE_LIMIT_PER_MINUTE: '2' }, { inProcess: 'api' })
  before(() => ({ svc } = service))

  it('answers 429 past the limit, counting each key apart', async () => {
    const post = (key: string) =>
      svc.app.inject({
        method: 'POST',
        url: '/tasks',
        headers: { authorization: `Bearer ${key}` },
        payload: { task_info: [{ fn: 'a', url: 'http://example.com/a' }] },
      })
    assert.equal((await post('key-a')).statusCode, 202)
    assert.equal((await post('key-a')).statusCode, 202)
    const third = await post('key-a')
    assert.equal(third.statusCode, 429)
    assert.equal(third.json().error, 'rate_limited')
    assert.ok(Number(third.headers['retry-after']) > 0)
    assert.equal((await post('key-b')).statusCode, 202, 'another key has its own budget')
  })

  it('counts a key however its Authorization header is spelled', async () => {
    const post = (authorization: string) =>
      svc.app.inject({ method: 'POST', url: '/tasks', headers: { authorization }, payload: { task_info: [{ fn: 'a', url: 'http://example.com/a' }] } })
    // key-b has one submit left after the test above; each spelling is the same key.
    const codes = []
    for (const spelling of ['bearer key-b', 'BEARER key-b', 'Bearer  key-b']) codes.push((await post(spelling)).statusCode)
    assert.deepEqual(codes, [202, 429, 429])
  })
})
