// Priorities: with the one worker slot busy, queued tasks start high first,
// then normal, then low, and first come first served within a priority.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { readReplies, waitFor, withService, notInFastRun } from '../testkit/service.js'

describe('task priority', { skip: notInFastRun }, () => {
  // Set explicitly: one task at a time, whatever the default becomes.
  const h = withService('priority', { MAX_CONCURRENT_TASKS: '1' })

  const submit = (taskId: string, name: string, priority?: string) =>
    h.svc.app.inject({
      method: 'POST',
      url: '/tasks',
      payload: { task_id: taskId, task_info: [{ fn: 'a.bin', url: h.origin.url(name, { size: 1000 }) }], ...(priority ? { priority } : {}) },
    })
  const status = async (id: string) => (await h.svc.app.inject({ method: 'GET', url: `/tasks/${id}` })).json()

  it('starts a high task submitted after ten normal ones first, and a low one last', async () => {
    // Five seconds of one slow file: time enough to queue the rest behind it on a loaded machine.
    const blocker = await h.svc.app.inject({
      method: 'POST',
      url: '/tasks',
      payload: { task_id: 'blocker', task_info: [{ fn: 'slow.bin', url: h.origin.url('prio-slow.bin', { size: 500_000, rate: 100_000 }) }] },
    })
    assert.equal(blocker.statusCode, 202)
    await waitFor(async () => ((await status('blocker')).state === 'running' ? true : undefined), 10_000, 'the blocker running')

    assert.equal((await submit('low', 'prio-low', 'low')).statusCode, 202)
    const normals = Array.from({ length: 10 }, (_, i) => `normal${i}`)
    for (const id of normals) assert.equal((await submit(id, `prio-${id}`)).statusCode, 202)
    assert.equal((await submit('high', 'prio-high', 'high')).statusCode, 202)
    assert.equal((await status('blocker')).state, 'running', 'everything was queued behind the blocker')

    for (const id of ['low', 'high', ...normals]) await readReplies(`${h.env.LEGACY_REPLY_PREFIX}_${id}`, 20_000)
    const order = h.origin.requests.map((r) => r.path.replace('/f/prio-', '')).filter((p) => p !== 'slow.bin')
    assert.deepEqual(order, ['high', ...normals, 'low'])
    assert.equal((await status('high')).priority, 'high')
    assert.equal((await status('normal0')).priority, 'normal')
    assert.equal((await status('low')).priority, 'low')
    const list = (await h.svc.app.inject({ method: 'GET', url: '/tasks?limit=200' })).json() as { tasks: { task_id: string; priority: string }[] }
    const listed = Object.fromEntries(list.tasks.map((t) => [t.task_id, t.priority]))
    assert.deepEqual([listed.high, listed.normal0, listed.low], ['high', 'normal', 'low'])
  })

  it('refuses an unknown priority, in words', async () => {
    const res = await submit('badprio', 'prio-bad', 'urgent')
    assert.equal(res.statusCode, 400)
    const detail = (res.json() as { details: { path: string; message: string }[] }).details[0]!
    assert.equal(detail.path, '/priority')
    assert.match(detail.message, /high|normal|low/)
  })
})
