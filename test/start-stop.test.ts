// A service stopped right after its start: BullMQ closing a worker whose
// connections were still being set up threw their failure unhandled
// ("Connection is closed"), which failed whichever suite was running. The
// worker starts once its connections are up, so the close never meets one
// half set up. The window is a few milliseconds wide: several starts are tried.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { Redis } from 'ioredis'
import { cleanEnv, REDIS_URL, startInProcess, testEnv, waitFor } from '../testkit/service.js'

const STARTS = 8

describe('a service stopped right after its start', () => {
  let env: Record<string, string>
  const unhandled: unknown[] = []
  const onUnhandled = (err: unknown) => unhandled.push(err)
  before(async () => {
    env = await testEnv('startstop')
    process.on('unhandledRejection', onUnhandled)
  })
  after(async () => {
    process.off('unhandledRejection', onUnhandled)
    await cleanEnv(env)
  })

  it('closes every connection without an unhandled rejection', async () => {
    for (let i = 0; i < STARTS; i++) {
      const svc = await startInProcess(env)
      await svc.close()
    }
    // A dropped connection's failed commands are rejected once its socket has closed.
    const redis = new Redis(REDIS_URL)
    try {
      await waitFor(async () => ((await redis.client('LIST')) as string).includes(env.QUEUE_PREFIX!) ? undefined : true, 5000, 'the queue connections to close')
    } finally {
      redis.disconnect()
    }
    assert.deepEqual(unhandled.map((e) => (e as Error).message), [])
  })
})
