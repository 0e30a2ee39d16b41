// A Redis that speaks TLS only and requires a password, started here with a
// certificate signed by a throwaway CA: the real program reaches it through
// REDIS_URL=rediss://:<password>@host:port, trusting the CA the way a user
// does, with NODE_EXTRA_CA_CERTS. With a wrong password it does not start,
// says why, and does not log the password it was given.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { before, describe, it } from 'node:test'
import { fileBytes } from '../testkit/file-bytes.js'
import type { Origin } from '../testkit/origin.js'
import { startTlsRedis, type TlsRedis } from '../testkit/redis-tls.js'
import { waitFor, withService } from '../testkit/service.js'

const START_MS = 60_000

describe('Redis over TLS with a password', { timeout: 180_000 }, () => {
  let redis: TlsRedis
  // The task's keys go with the server; the download folder is what the fixture removes.
  const service = withService('tls', {}, {
    inProcess: false,
    setup: async () => {
      redis = await startTlsRedis(`pw-${randomBytes(8).toString('hex')}`)
      return { env: { REDIS_URL: redis.url, NODE_EXTRA_CA_CERTS: redis.caFile }, stop: () => redis.stop() }
    },
  })
  let origin: Origin
  let env: Record<string, string>
  before(() => ({ env, origin } = service))
  const withPassword = (password: string) => `rediss://:${password}@127.0.0.1:${redis.port}`

  it('downloads a task and writes the reply list over TLS, and is ready', async () => {
    const all = await service.spawn('all', {}, { startTimeoutMs: START_MS })
    const files = [
      { fn: 'a.bin', url: origin.url('tls-a', { size: 70_000 }) },
      { fn: 'b.bin', url: origin.url('tls-b', { size: 1_000 }) },
      { fn: 'c.bin', url: origin.url('tls-c', { size: 200_000 }) },
    ]
    const res = await fetch(`${all.address}/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ task_id: 'tls1', task_info: files }),
    })
    assert.equal(res.status, 202, await res.clone().text())

    const client = redis.connect()
    client.on('error', () => {})
    try {
      const key = `${env.LEGACY_REPLY_PREFIX}_tls1`
      // Read, not popped: LPUSHed, so the oldest is last.
      const replies = await waitFor(async () => {
        const list = (await client.lrange(key, 0, -1)).reverse()
        return list.at(-1) === 'end' ? list : undefined
      }, START_MS, 'end on the reply list')
      assert.equal(replies[0], 'start')
      assert.equal(replies.at(-1), 'end')
      assert.deepEqual(replies.slice(1, -1).sort(), files.map((f) => f.fn).sort(), 'each fn once')
    } finally {
      client.disconnect()
    }
    for (const [name, size, fn] of [['tls-a', 70_000, 'a.bin'], ['tls-b', 1_000, 'b.bin'], ['tls-c', 200_000, 'c.bin']] as const) {
      assert.deepEqual(await readFile(join(env.DOWNLOAD_DIR!, 'tls1', fn)), fileBytes(name, size), fn)
    }
    const ready = await fetch(`${all.address}/health/ready`)
    assert.equal(ready.status, 200, await ready.clone().text())
    assert.ok(!all.logs.join('\n').includes(redis.password), 'the password is not logged')
  })

  it('with a wrong password, a worker stops at start naming the refusal, without logging the password', async () => {
    const wrong = `wrong-${randomBytes(8).toString('hex')}`
    // spawn() rejects with the logs when the process exits before it started.
    const err = await service.spawn('all', { REDIS_URL: withPassword(wrong) }, { startTimeoutMs: START_MS }).then(
      () => null,
      (e: Error) => e,
    )
    assert.ok(err, 'the service did not start')
    assert.match(err.message, /service exited \(1\) before starting/)
    const lines = err.message.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg: string; level: number; err?: { message: string } })
    assert.ok(lines.some((l) => l.msg === 'redis connection error' && /WRONGPASS/.test(l.err?.message ?? '')), 'Redis named as the cause')
    const fatal = lines.find((l) => l.msg === 'cannot start')
    assert.equal(fatal?.level, 60)
    assert.match(fatal.err?.message ?? '', /WRONGPASS/)
    assert.ok(!err.message.includes(wrong), 'the password given is not logged')
  })

  it('with a wrong password, an API process stays up and answers /health/ready with 503', async () => {
    const wrong = `wrong-${randomBytes(8).toString('hex')}`
    const api = await service.spawn('api', { REDIS_URL: withPassword(wrong) }, { startTimeoutMs: START_MS })
    const ready = await fetch(`${api.address}/health/ready`)
    assert.equal(ready.status, 503)
    assert.deepEqual(await ready.json(), { status: 'unavailable', reason: 'Redis does not answer' })
    const submit = await fetch(`${api.address}/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ task_id: 'tls2', task_info: [{ fn: 'x.bin', url: origin.url('tls-x') }] }),
    })
    assert.equal(submit.status, 503)
    assert.equal(api.child.exitCode, null, 'still running')
    assert.ok(api.logs.some((l) => l.includes('redis connection error') && l.includes('WRONGPASS')), 'Redis named in the log')
    assert.ok(!api.logs.join('\n').includes(wrong), 'the password given is not logged')
  })
})
