// Closing the API while a client follows a task: the server's close waits for
// every connection, so an event stream left open would hold the process's
// shutdown for as long as the client stays.
import assert from 'node:assert/strict'
import { Agent, get, type IncomingMessage } from 'node:http'
import { once } from 'node:events'
import { describe, it } from 'node:test'
import { startService } from '../testkit/service.js'

/** `promise`, or a failure after `ms`. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)))
  try {
    return await Promise.race([promise, late])
  } finally {
    clearTimeout(timer)
  }
}

describe('shutdown with open event streams', () => {
  it('ends every open stream and its connection when the API closes', async () => {
    const s = await startService('shutstream', {}, { listen: true })
    // A browser keeps its connections alive.
    const agent = new Agent({ keepAlive: true })
    try {
      const task_info = [{ fn: 'slow.bin', url: s.origin.url('shut-slow', { size: 400_000, rate: 20_000 }) }]
      const res = await fetch(`${s.base}/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ task_id: 'shut', task_info }) })
      assert.equal(res.status, 202)
      const { events_url } = (await res.json()) as { events_url: string }
      const stream = await within(new Promise<IncomingMessage>((resolve, reject) => get(s.base + events_url, { agent }, resolve).on('error', reject)), 5_000, 'the stream answers')
      assert.equal(stream.statusCode, 200)
      stream.setEncoding('utf8')
      await within(once(stream, 'data'), 5_000, 'the first frame')
      const ended = new Promise<void>((resolve) => {
        stream.on('end', resolve)
        stream.on('close', resolve)
      })
      stream.resume()
      await within(s.svc.app.close(), 5_000, 'the API closes with a stream open')
      await within(ended, 1_000, 'the client sees its stream end')
    } finally {
      agent.destroy()
      await s.close()
    }
  })
})
