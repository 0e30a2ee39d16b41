// The worker's scheduler: first as a unit (who gets a freed connection), then
// in a running worker against the real origin and Redis: a small task is not
// stuck behind long ones, and an origin never sees more connections than
// MAX_CONNECTIONS_PER_HOST.
import assert from 'node:assert/strict'
import { before, describe, it } from 'node:test'
import type { Release } from '../src/download/types.js'
import { Scheduler } from '../src/worker/scheduler.js'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileBytes, sha256Hex } from '../testkit/file-bytes.js'
import type { Origin } from '../testkit/origin.js'
import { assertProtocol } from './helpers/protocol.js'
import { readReplies, waitFor, withService, type InProcessService, notInFastRun } from '../testkit/service.js'

const never = new AbortController().signal

describe('Scheduler', () => {
  it('gives a freed connection to the task holding the fewest, whatever the order files asked in', async () => {
    const scheduler = new Scheduler({ maxConnections: 2, maxPerHost: 10 })
    const big = scheduler.join(10)
    const small = scheduler.join(10)
    const held = [await big.acquire('a:1', never), await big.acquire('a:1', never)]
    const order: string[] = []
    const grants = [
      ...[1, 2, 3].map((i) => big.acquire('a:1', never).then((r) => (order.push(`big${i}`), r))),
      small.acquire('a:1', never).then((r) => (order.push('small'), r)),
    ]
    held[0]!()
    await new Promise((r) => setImmediate(r))
    assert.deepEqual(order, ['small'], 'the task with no connection is served first, though it asked last')
    held[1]!()
    await new Promise((r) => setImmediate(r))
    assert.deepEqual(order, ['small', 'big1'])
    for (const grant of grants) (await grant)()
    assert.deepEqual(order, ['small', 'big1', 'big2', 'big3'])
    assert.equal(scheduler.inUse, 0)
  })

  it('holds a host at its cap while another host of the same task goes ahead', async () => {
    const scheduler = new Scheduler({ maxConnections: 10, maxPerHost: 2 })
    const task = scheduler.join(10)
    const a = [await task.acquire('a:1', never), await task.acquire('a:1', never)]
    let third = false
    const waiting = task.acquire('a:1', never).then((r) => ((third = true), r))
    const other = await task.acquire('b:1', never)
    assert.equal(third, false, 'a third connection to a:1 waits')
    a[0]!()
    ;(await waiting)()
    a[1]!()
    other()
    assert.equal(scheduler.inUse, 0)
  })

  it('offers idle connections to running files only while no file waits, and within the task cap', async () => {
    const scheduler = new Scheduler({ maxConnections: 2, maxPerHost: 10 })
    const task = scheduler.join(2)
    const first = await task.acquire('a:1', never)
    const extras: Release[] = []
    // It takes two extras in all, then declines.
    task.wantExtra({ host: 'a:1', offer: (r) => extras.length < 2 && extras.push(r) > 0 })
    assert.equal(extras.length, 1, 'one more, up to the task cap of 2')
    const other = scheduler.join(5)
    const waiting = other.acquire('a:1', never)
    assert.equal(scheduler.inUse, 2)
    extras[0]!()
    // The freed connection went to the waiting file of the other task, not back to the extra.
    const granted = await waiting
    assert.equal(extras.length, 1)
    granted()
    assert.equal(extras.length, 2, 'once nothing waits, the running file is offered it again')
    extras[1]!()
    first()
    task.close()
    other.close()
    assert.equal(scheduler.inUse, 0)
  })

  it('lets a task alone use every connection of a host and of the budget', async () => {
    const scheduler = new Scheduler({ maxConnections: 20, maxPerHost: 16 })
    const task = scheduler.join(40)
    const held = await Promise.all(Array.from({ length: 16 }, () => task.acquire('a:1', never)))
    const more = await Promise.all(Array.from({ length: 4 }, () => task.acquire('b:1', never)))
    assert.equal(scheduler.inUse, 20, 'no connection is kept back for tasks to come')
    for (const r of [...held, ...more]) r()
    task.close()
    assert.equal(scheduler.inUse, 0)
  })

  it('asks one connection back from the task holding the most for a task that holds none', async () => {
    const scheduler = new Scheduler({ maxConnections: 100, maxPerHost: 3 })
    const busy = scheduler.join(10)
    const held = await Promise.all([1, 2, 3].map(() => busy.acquire('a:1', never)))
    let asks = 0
    // Gives back its oldest connection a moment later, as a stopped request does.
    busy.mayYield({ host: 'a:1', yieldOne: () => (asks++, queueMicrotask(() => held.shift()!()), true) })
    busy.mayYield({ host: 'b:1', yieldOne: () => assert.fail('a connection to another host frees none to a:1') })
    const late = scheduler.join(10)
    const first = await late.acquire('a:1', never)
    assert.equal(asks, 1, 'asked once, though the scheduler pumped again before the release')
    assert.equal(busy.active, 2)
    // Holding one now, the late task asks for nothing more.
    const second = late.acquire('a:1', never)
    await new Promise((r) => setImmediate(r))
    assert.equal(asks, 1)
    held.shift()!()
    ;(await second)()
    first()
    for (const r of held) r()
    busy.close()
    late.close()
    assert.equal(scheduler.inUse, 0)
  })

  it('asks nothing back from a task holding a single connection', async () => {
    const scheduler = new Scheduler({ maxConnections: 1, maxPerHost: 1 })
    const one = scheduler.join(10)
    const held = await one.acquire('a:1', never)
    one.mayYield({ host: 'a:1', yieldOne: () => assert.fail('it would only swap which task starves') })
    const late = scheduler.join(10)
    let granted = false
    const waiting = late.acquire('a:1', never).then((r) => ((granted = true), r))
    await new Promise((r) => setImmediate(r))
    assert.equal(granted, false)
    held()
    ;(await waiting)()
    one.close()
    late.close()
    assert.equal(scheduler.inUse, 0)
  })

  it('forgets a waiter whose signal aborts', async () => {
    const scheduler = new Scheduler({ maxConnections: 1, maxPerHost: 1 })
    const task = scheduler.join(1)
    const held = await task.acquire('a:1', never)
    const ac = new AbortController()
    const waiting = task.acquire('a:1', ac.signal)
    ac.abort(new Error('gone'))
    await assert.rejects(waiting, /gone/)
    held()
    assert.equal(scheduler.inUse, 0, 'the aborted waiter took nothing')
  })
})

describe('scheduler in a worker', () => {
  let env: Record<string, string>
  let svc: InProcessService
  let origin: Origin

  const service = withService('sched', { MAX_CONCURRENT_DOWNLOADS: '4', MAX_CONNECTIONS_PER_TASK: '4', MAX_CONNECTIONS_PER_HOST: '3' })
  before(() => ({ env, svc, origin } = service))

  const submit = async (taskId: string, files: { fn: string; url: string; sha256?: string }[]) => {
    const res = await svc.app.inject({ method: 'POST', url: '/tasks', payload: { task_id: taskId, task_info: files } })
    assert.equal(res.statusCode, 202, res.body)
    return readReplies(`${env.LEGACY_REPLY_PREFIX}_${taskId}`, 60_000).then((replies) => {
      assertProtocol(replies, files.map((f) => f.fn))
      return { taskId, at: performance.now() }
    })
  }
  const files = (prefix: string, n: number, params: Record<string, number>) =>
    Array.from({ length: n }, (_, i) => ({ fn: `${prefix}${i}.bin`, url: origin.url(`${prefix}-${i}`, params) }))

  it('never lets the origin see more connections at once than MAX_CONNECTIONS_PER_HOST', { skip: notInFastRun }, async () => {
    origin.resetPeak()
    await Promise.all([submit('host-a', files('ha', 6, { size: 100_000, rate: 200_000 })), submit('host-b', files('hb', 6, { size: 100_000, rate: 200_000 }))])
    assert.equal(origin.peakConcurrent(), 3, 'at the cap of 3, never over it')
    // The same figure over HTTP, as the benchmark reads it from the origin's process; the look resets it.
    const look = async () => ((await (await fetch(`${origin.base}/peak`)).json()) as { peak: number }).peak
    assert.equal(await look(), 3)
    assert.equal(await look(), 0, 'nothing in progress since the last look')
  })

  it('finishes a small task submitted behind long ones before any long one has finished', { skip: notInFastRun }, async () => {
    const long = [1, 2, 3].map((t) => submit(`long${t}`, files(`long${t}-`, 6, { size: 200_000, rate: 200_000 })))
    const settled: string[] = []
    for (const p of long) void p.then((r) => settled.push(r.taskId), () => {})
    // Every connection is busy with the long tasks when the small one arrives.
    await waitFor(async () => (origin.requests.filter((r) => r.path.includes('/long')).length >= 3 ? true : undefined), 10_000, 'long tasks running')
    const submitted = performance.now()
    const small = await submit('small', files('small', 3, { size: 1000 }))
    // Ordering, not a time: on a busy machine seconds stretch, the order does not.
    const seconds = ((small.at - submitted) / 1000).toFixed(2)
    assert.deepEqual(settled, [], `no long task had finished when the small one did (after ${seconds} s)`)
    await Promise.all(long)
  })

  it('gives a task that holds none a connection of a long one, which then fetches only the rest of its file', { skip: notInFastRun }, async () => {
    const size = 1_000_000
    // With sha256: the bytes of a stopped file no longer come in order, and are checked at the end.
    const long = files('yield', 3, { size, rate: 250_000 }).map((f, i) => ({ ...f, sha256: sha256Hex(fileBytes(`yield-${i}`, size)) }))
    const longDone = submit('yield-long', long)
    // The long task holds the host's 3 connections, each with bytes in.
    const longRequests = () => origin.requests.filter((r) => r.path.startsWith('/f/yield-'))
    await waitFor(async () => (longRequests().length >= 3 && longRequests().every((r) => r.sent > 100_000) ? true : undefined), 10_000, 'long files under way')
    await submit('yield-small', files('ysmall', 3, { size: 1000 }))
    const status = (await svc.app.inject({ method: 'GET', url: '/tasks/yield-long' })).json()
    assert.equal(status.totals.done, 0, 'the small task ended before any long file did')
    await longDone
    const resumed = longRequests().filter((r) => r.range)
    assert.ok(resumed.length >= 1, 'a stopped file came back for the rest')
    for (const r of resumed) assert.match(r.range!, /^bytes=[1-9]\d*-/, 'from where it stopped, not from 0')
    for (const [i, f] of long.entries()) {
      const bytes = await readFile(join(env.DOWNLOAD_DIR!, 'yield-long', f.fn))
      assert.equal(sha256Hex(bytes), sha256Hex(fileBytes(`yield-${i}`, size)), `${f.fn} byte-identical`)
    }
  })
})
