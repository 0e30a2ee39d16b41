// A service stopped right after its start. BullMQ closing a worker whose
// blocking connection was still being set up (its INFO for the server's
// version in flight) dropped its listeners, then threw the INFO's failure
// unhandled ("Connection is closed"), failing whichever suite was running.
// The worker starts once its connections are up, so a close never meets one
// half set up. Here a proxy to Redis holds back the answer to that INFO for
// a while, and the service is closed while it waits.
import assert from 'node:assert/strict'
import { createConnection, createServer, type Server, type Socket } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { REDIS_URL, startInProcess, waitFor, withService } from '../testkit/service.js'

const HOLD_MS = 1000

interface HoldingProxy {
  url: string
  /** whether a connection named with `marker` has asked for INFO a second time (the first is ioredis's ready check) */
  holding(): boolean
  /** connections open through the proxy */
  open(): number
  close(): Promise<void>
}

/** A TCP proxy to Redis that delays by HOLD_MS what is answered, from its second INFO on, to a connection whose name holds `marker`. */
async function holdingProxy(marker: string): Promise<HoldingProxy> {
  const target = new URL(REDIS_URL)
  const sockets = new Set<Socket>()
  let held = false
  const server: Server = createServer((client) => {
    const redis = createConnection(Number(target.port || 6379), target.hostname)
    for (const s of [client, redis]) {
      sockets.add(s)
      s.on('error', () => {})
      s.on('close', () => {
        sockets.delete(s)
        client.destroy()
        redis.destroy()
      })
    }
    let sent = ''
    let hold = false
    client.on('data', (d: Buffer) => {
      sent += d.toString('latin1')
      if (sent.includes(marker) && sent.split('$4\r\ninfo\r\n').length > 2) hold = held = true
      redis.write(d)
    })
    redis.on('data', (d: Buffer) => {
      if (hold) setTimeout(() => client.destroyed || client.write(d), HOLD_MS)
      else client.write(d)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return {
    url: `redis://127.0.0.1:${port}${target.pathname}`,
    holding: () => held,
    open: () => sockets.size,
    async close() {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

describe('a service stopped right after its start', () => {
  // The environment and its removal; the service is started here, through the proxy.
  // A lock of 2 s: BullMQ leaves its stalled-job check's timer (half the lock) behind a worker closed during the first.
  const fixture = withService('startstop', { JOB_LOCK_MS: '2000' }, { inProcess: false })
  let proxy: HoldingProxy
  const unhandled: unknown[] = []
  const onUnhandled = (err: unknown) => unhandled.push(err)
  before(async () => {
    // BullMQ names the worker's blocking connection after the queue's prefix.
    proxy = await holdingProxy(fixture.env.QUEUE_PREFIX!)
    process.on('unhandledRejection', onUnhandled)
  })
  after(async () => {
    process.off('unhandledRejection', onUnhandled)
    await proxy.close()
  })

  it('closes while the worker\'s blocking connection is set up, without an unhandled rejection', async () => {
    const svc = await startInProcess({ ...fixture.env, REDIS_URL: proxy.url })
    try {
      await waitFor(async () => (proxy.holding() ? true : undefined), 5000, 'the worker connection\'s INFO')
    } finally {
      await svc.close()
    }
    // A dropped connection's commands fail once its socket has closed.
    await waitFor(async () => (proxy.open() === 0 ? true : undefined), 5000, 'every connection closed')
    assert.deepEqual(unhandled.map((e) => (e as Error).message), [])
  })
})
