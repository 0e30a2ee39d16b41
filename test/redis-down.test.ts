import assert from 'node:assert/strict'
import { before, describe, it } from 'node:test'
import { once } from 'node:events'
import { closeRedis, createRedis, type Redis } from '../src/redis/connection.js'
import { createLogger } from '../src/logger.js'
import { withService, type InProcessService } from '../testkit/service.js'

// Nothing listens on port 1: the API starts anyway and answers 503 at once.
describe('Redis unreachable', () => {
  let svc: InProcessService
  const service = withService('redisdown', { REDIS_URL: 'redis://127.0.0.1:1' }, { inProcess: 'api' })
  before(() => ({ svc } = service))

  it('answers POST /tasks with 503 and Retry-After', async () => {
    const started = Date.now()
    const res = await svc.app.inject({
      method: 'POST',
      url: '/tasks',
      payload: { task_id: 'r1', task_info: [{ fn: 'a', url: 'http://example.com/a' }] },
    })
    assert.equal(res.statusCode, 503)
    assert.equal(res.json().error, 'unavailable')
    assert.equal(res.headers['retry-after'], '5')
    assert.ok(Date.now() - started < 1000, 'fails fast')
  })

  it('answers GET and DELETE with 503', async () => {
    for (const method of ['GET', 'DELETE'] as const) {
      assert.equal((await svc.app.inject({ method, url: '/tasks/r1' })).statusCode, 503)
    }
  })

  it('is live but not ready', async () => {
    assert.equal((await svc.app.inject({ method: 'GET', url: '/health/live' })).statusCode, 200)
    const ready = await svc.app.inject({ method: 'GET', url: '/health/ready' })
    assert.equal(ready.statusCode, 503)
    assert.deepEqual(ready.json(), { status: 'unavailable', reason: 'Redis does not answer' })
  })
})

describe('closing a connection that waits to reconnect', () => {
  it('ends it at once', async () => {
    const target = { REDIS_URL: 'redis://127.0.0.1:1', REDIS_SENTINELS: [], REDIS_SENTINEL_MASTER: '', REDIS_CLUSTER_NODES: [] }
    const redis = createRedis(target, 'api', createLogger('silent')) as Redis
    // (events.once would reject on the connection's 'error', which createRedis already handles)
    await new Promise((resolve) => redis.once('reconnecting', resolve))
    assert.equal(redis.status, 'reconnecting')
    const ended = once(redis, 'end')
    await closeRedis(redis)
    await ended
    assert.equal(redis.status, 'end')
  })
})
