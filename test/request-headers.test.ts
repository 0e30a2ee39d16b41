// Request headers of a task and of its files, against the real service and
// two real origins (two ports: two origins): sent on every request of a file
// (retries, resumes, segments), credentials kept from another origin after a
// redirect, refused when unsafe, and their values never shown anywhere.
import assert from 'node:assert/strict'
import type { IncomingHttpHeaders } from 'node:http'
import { after, before, describe, it } from 'node:test'
import { Redis } from 'ioredis'
import { captureLogs } from './helpers/logs.js'
import { fileBytes, sha256Hex } from '../testkit/file-bytes.js'
import { startOrigin, type Origin } from '../testkit/origin.js'
import { assertProtocol } from './helpers/protocol.js'
import { readReplies, REDIS_URL, withService, type InProcessService } from '../testkit/service.js'

const MiB = 1024 * 1024

describe('request headers', () => {
  const { log, lines } = captureLogs('trace')
  const service = withService('headers', { SEGMENT_MIN_BYTES: String(MiB), MAX_CONNECTIONS_PER_TASK: '8', LOG_LEVEL: 'trace' }, { log })
  let env: Record<string, string>
  let svc: InProcessService
  let a: Origin
  // A second origin: another port is another origin, for the redirects across.
  let b: Origin

  before(async () => {
    ;({ env, svc, origin: a } = service)
    b = await startOrigin()
  })
  after(() => b.close())

  async function run(body: Record<string, unknown>, files: string[]) {
    const res = await svc.app.inject({ method: 'POST', url: '/tasks', payload: body })
    assert.equal(res.statusCode, 202, res.body)
    assertProtocol(await readReplies(`${env.LEGACY_REPLY_PREFIX}_${String(body.task_id)}`, 30_000), files)
    return (await svc.app.inject({ method: 'GET', url: `/tasks/${String(body.task_id)}` })).body
  }
  const requestsTo = (origin: Origin, name: string) => origin.requests.filter((r) => r.path === `/f/${name}`)
  const sent = (h: IncomingHttpHeaders, names: string[]) => Object.fromEntries(names.map((n) => [n, h[n]]))

  const SECRETS = ['REFsecret', 'UAsecret', 'COOKIEsecret', 'TASKTOKENsecret', 'FILETOKENsecret', 'AUTHsecret']

  it('sends the task\'s headers, overridden by the file\'s, on every attempt, resume and segment', async () => {
    const task = {
      Referer: 'https://site.example/REFsecret',
      'User-Agent': 'batchdl-test UAsecret',
      Cookie: 'session=COOKIEsecret',
      'X-Token': 'TASKTOKENsecret',
    }
    const big = 8 * MiB
    const status = await run(
      {
        task_id: 'sent',
        headers: task,
        task_info: [
          // Two 503s, then the file: three requests.
          { fn: 'retried', url: a.url('retried', { fail: 503, times: 2 }), headers: { 'x-token': 'FILETOKENsecret' } },
          // Cut after 256 KiB: the second request asks for the rest with a Range.
          { fn: 'resumed', url: a.url('resumed', { size: MiB, reset: 256 * 1024 }) },
          // Large and throttled per connection: fetched over several ranged connections.
          { fn: 'split', url: a.url('split', { size: big, rate: 8 * MiB }), sha256: sha256Hex(fileBytes('split', big)) },
        ],
      },
      ['retried', 'resumed', 'split'],
    )
    const names = ['referer', 'user-agent', 'cookie', 'x-token']
    const taskHeaders = { referer: task.Referer, 'user-agent': task['User-Agent'], cookie: task.Cookie, 'x-token': task['X-Token'] }

    const retried = requestsTo(a, 'retried')
    assert.equal(retried.length, 3, 'two failures and the download')
    for (const r of retried) assert.deepEqual(sent(r.headers, names), { ...taskHeaders, 'x-token': 'FILETOKENsecret' })

    const resumed = requestsTo(a, 'resumed')
    assert.ok(resumed.some((r) => r.range?.startsWith('bytes=') && r.range !== 'bytes=0-'), 'a resume asked for the rest')
    for (const r of resumed) assert.deepEqual(sent(r.headers, names), taskHeaders)

    const split = requestsTo(a, 'split')
    assert.ok(split.filter((r) => r.range).length >= 2, `${split.length} requests, ranged segments among them`)
    for (const r of split) assert.deepEqual(sent(r.headers, names), taskHeaders)

    const parsed = JSON.parse(status) as { files: { header_names?: string[] }[] }
    assert.deepEqual(parsed.files[0]!.header_names, names.slice().sort(), 'names only')
    await assertNoSecretShown('sent')
  })

  it('drops Authorization and Cookie on a redirect to another origin, keeps them on the same origin', async () => {
    const headers = { Authorization: 'Bearer AUTHsecret', Cookie: 'c=COOKIEsecret', Referer: 'https://site.example/REFsecret' }
    await run(
      {
        task_id: 'redirected',
        headers,
        task_info: [
          { fn: 'away', url: `${a.base}/to?url=${encodeURIComponent(b.url('away'))}` },
          { fn: 'home', url: a.base + '/r/2/f/home' },
          // A to B and back to A: once the chain has left the origin, they stay off.
          { fn: 'back', url: `${a.base}/to?url=${encodeURIComponent(`${b.base}/to?url=${encodeURIComponent(a.url('back'))}`)}` },
        ],
      },
      ['away', 'home', 'back'],
    )
    const [away] = requestsTo(b, 'away')
    assert.ok(away, 'origin B was reached')
    assert.equal(away.headers.authorization, undefined, 'no Authorization for another origin')
    assert.equal(away.headers.cookie, undefined, 'no Cookie for another origin')
    assert.equal(away.headers.referer, headers.Referer, 'other headers go on')
    const firstHop = a.requests.find((r) => r.path === '/to')!
    assert.equal(firstHop.headers.authorization, headers.Authorization, 'the first origin got them')
    const [home] = requestsTo(a, 'home')
    assert.equal(home!.headers.authorization, headers.Authorization, 'a redirect within the origin keeps them')
    assert.equal(home!.headers.cookie, headers.Cookie)
    const [back] = requestsTo(a, 'back')
    assert.ok(back, 'the chain came back to origin A')
    assert.equal(back.headers.authorization, undefined, 'not after the chain went through another origin')
    assert.equal(back.headers.cookie, undefined)
    await assertNoSecretShown('redirected')
  })

  it('keeps the values only beside the URLs: a purge takes them with the task', async () => {
    const redis = new Redis(REDIS_URL)
    try {
      assert.ok((await everything(redis)).includes('COOKIEsecret'), 'stored while the task is there')
      for (const id of ['sent', 'redirected']) {
        const res = await svc.app.inject({ method: 'DELETE', url: `/tasks/${id}?purge=1` })
        assert.equal(res.statusCode, 204, res.body)
      }
      const left = await everything(redis)
      for (const secret of SECRETS) assert.ok(!left.includes(secret), `${secret} left in Redis after the purge`)
    } finally {
      redis.disconnect()
    }
  })

  /** Every value of every key of this test's service, as text. */
  async function everything(redis: Redis): Promise<string> {
    const out: string[] = []
    for (const pattern of [`${env.QUEUE_PREFIX}*`, `{${env.QUEUE_PREFIX}}*`, `${env.LEGACY_REPLY_PREFIX}*`]) {
      for (const key of await redis.keys(pattern)) {
        const type = await redis.type(key)
        if (type === 'hash') out.push(JSON.stringify(await redis.hgetall(key)))
        else if (type === 'list') out.push(JSON.stringify(await redis.lrange(key, 0, -1)))
        else if (type === 'stream') out.push(JSON.stringify(await redis.xrange(key, '-', '+')))
        else if (type === 'string') out.push((await redis.get(key)) ?? '')
        else if (type === 'zset') out.push(JSON.stringify(await redis.zrange(key, 0, -1)))
        else if (type === 'set') out.push(JSON.stringify(await redis.smembers(key)))
      }
    }
    return out.join('\n')
  }

  it('refuses unsafe headers with every problem listed, never quoting a value', async () => {
    const res = await svc.app.inject({
      method: 'POST',
      url: '/tasks',
      payload: {
        headers: { Connection: 'close', Host: 'evil.example', 'Bad Name': 'x', 'X-Big': 'v'.repeat(9000) },
        task_info: [
          { fn: 'a', url: a.url('a'), headers: { Range: 'bytes=0-', 'X-Inject': 'ok\r\nInjected: VALUEsecret', 'transfer-encoding': 'chunked' } },
          { fn: 'b', url: a.url('b'), headers: { 'If-Range': 'x', Expect: '100-continue', 'Content-Length': '1', 'x-a': '1', 'X-A': '2' } },
        ],
      },
    })
    assert.equal(res.statusCode, 400)
    const body = res.json() as { error: string; details: { path: string; message: string }[] }
    assert.equal(body.error, 'invalid_request')
    const paths = body.details.map((d) => d.path).sort()
    assert.deepEqual(paths, [
      '/headers',
      '/headers/Bad Name',
      '/headers/Connection',
      '/headers/Host',
      '/task_info/0/headers/Range',
      '/task_info/0/headers/X-Inject',
      '/task_info/0/headers/transfer-encoding',
      '/task_info/1/headers/Content-Length',
      '/task_info/1/headers/Expect',
      '/task_info/1/headers/If-Range',
      '/task_info/1/headers/X-A',
    ])
    for (const d of body.details) assert.doesNotMatch(d.message, /\^|\$|\\[sdw]/, `plain words: ${d.message}`)
    assert.match(body.details.find((d) => d.path === '/headers')!.message, /8 KiB/)
    assert.match(body.details.find((d) => d.path === '/headers/Connection')!.message, /hop-by-hop/)
    assert.ok(!res.body.includes('VALUEsecret'), 'a refused value is never quoted')
  })

  /** Neither GET /tasks/:id, GET /tasks, the task's events, /metrics nor the logs show a header's value. */
  async function assertNoSecretShown(taskId: string) {
    const answers = [
      (await svc.app.inject({ method: 'GET', url: `/tasks/${taskId}` })).body,
      (await svc.app.inject({ method: 'GET', url: '/tasks' })).body,
      (await svc.app.inject({ method: 'GET', url: `/tasks/${taskId}/events` })).body,
      (await svc.app.inject({ method: 'GET', url: '/metrics' })).body,
      lines.join('\n'),
    ]
    assert.ok(answers[2]!.includes('event: end'), 'the events were read to their end')
    assert.ok(lines.length > 0, 'logs were captured')
    for (const [i, text] of answers.entries()) {
      for (const secret of SECRETS) assert.ok(!text.includes(secret), `${secret} shown in answer ${i}`)
    }
  }
})
