// The worker's scheduler: first as a unit (who gets a freed connection), then
// in a running worker against the real origin and Redis: a small task is not
// stuck behind long ones, and an origin never sees more connections than
// MAX_CONNECTIONS_PER_HOST.
import assert from 'node:assert/strict'
import { before, describe, it } from 'node:test'
import type { Release } from '../src/download/types.js'
import { Scheduler } from '../src/worker/scheduler.js'
import { type Origin } from '../testkit/origin.js'
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

  it('keeps a twentieth of the budget for tasks that hold no connection', async () => {
    const scheduler = new Scheduler({ maxConnections: 40, maxPerHost: 40 })
    const busy = scheduler.join(40)
    const held = await Promise.all(Array.from({ length: 38 }, () => busy.acquire('a:1', never)))
    let more = false
    const next = busy.acquire('a:1', never).then((r) => ((more = true), r))
    await new Promise((r) => setImmediate(r))
    assert.equal(more, false, 'a task with connections stops at 38 of 40')
    const late = scheduler.join(40)
    const first = await late.acquire('a:1', never)
    assert.equal(scheduler.inUse, 39, 'a task with none starts at once')
    first()
    for (const r of held) r()
    ;(await next)()
    busy.close()
    late.close()
    assert.equal(scheduler.inUse, 0)
  })

  it('keeps one of every 16 connections to a host for tasks that hold none', async () => {
    const scheduler = new Scheduler({ maxConnections: 100, maxPerHost: 16 })
    const busy = scheduler.join(40)
    const held = await Promise.all(Array.from({ length: 15 }, () => busy.acquire('a:1', never)))
    let more = false
    const next = busy.acquire('a:1', never).then((r) => ((more = true), r))
    const other = await busy.acquire('b:1', never)
    assert.equal(more, false, 'a task with connections stops at 15 of the host\'s 16, and goes on with another host')
    const late = scheduler.join(40)
    const first = await late.acquire('a:1', never)
    assert.equal(scheduler.inUse, 17, 'a task with none takes the host\'s 16th at once')
    for (const r of [first, other, ...held]) r()
    ;(await next)()
    busy.close()
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

  const submit = async (taskId: string, files: { fn: string; url: string }[]) => {
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
})
