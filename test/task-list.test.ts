// GET /tasks: every task of the service, newest first, paginated and
// filtered by state, against the real Redis (API only, no worker).
import assert from 'node:assert/strict'
import { before, describe, it } from 'node:test'
import { withService, type InProcessService } from '../testkit/service.js'

interface Page {
  tasks: { task_id: string; state: string; totals: { files: number } }[]
  next_cursor: string | null
}

describe('task list', () => {
  let svc: InProcessService
  const get = (url: string) => svc.app.inject({ method: 'GET', url })
  const list = async (query: string) => {
    const res = await get(`/tasks${query}`)
    assert.equal(res.statusCode, 200, res.body)
    return res.json() as Page
  }

  const service = withService('tasklist', {}, { inProcess: 'api' })
  before(async () => {
    ;({ svc } = service)
    for (let i = 1; i <= 5; i++) {
      const task_info = Array.from({ length: i }, (_, n) => ({ fn: `f${n}`, url: `https://example.com/${n}` }))
      const res = await svc.app.inject({ method: 'POST', url: '/tasks', payload: { task_id: `t${i}`, task_info } })
      assert.equal(res.statusCode, 202)
    }
    assert.equal((await svc.app.inject({ method: 'DELETE', url: '/tasks/t2' })).statusCode, 200)
  })

  it('lists every task newest first, with its state and totals', async () => {
    const page = await list('')
    assert.deepEqual(page.tasks.map((t) => [t.task_id, t.state, t.totals.files]), [
      ['t5', 'queued', 5],
      ['t4', 'queued', 4],
      ['t3', 'queued', 3],
      ['t2', 'cancelled', 2],
      ['t1', 'queued', 1],
    ])
  })

  it('pages with next_cursor, each task once', async () => {
    const seen: string[] = []
    let cursor: string | null = null
    for (let pages = 0; pages < 10; pages++) {
      const page: Page = await list(`?limit=2${cursor ? `&cursor=${cursor}` : ''}`)
      assert.ok(page.tasks.length <= 2)
      seen.push(...page.tasks.map((t) => t.task_id))
      cursor = page.next_cursor
      if (!cursor) break
    }
    assert.deepEqual(seen, ['t5', 't4', 't3', 't2', 't1'])
  })

  it('keeps only the states asked for', async () => {
    assert.deepEqual((await list('?state=cancelled')).tasks.map((t) => t.task_id), ['t2'])
    assert.deepEqual((await list('?state=running,cancelled&limit=1')).tasks.map((t) => t.task_id), ['t2'])
  })

  it('refuses an unknown state or cursor, naming the values allowed', async () => {
    const res = await get('/tasks?state=queued,finished&cursor=nope')
    assert.equal(res.statusCode, 400)
    const details = res.json().details as { path: string; message: string }[]
    assert.deepEqual(details.map((d) => d.path), ['/state', '/cursor'])
    assert.match(details[0]!.message, /finished is not a task state/)
    for (const limit of ['0', '201', 'x']) assert.equal((await get(`/tasks?limit=${limit}`)).statusCode, 400, limit)
  })

  it('drops a purged task', async () => {
    assert.equal((await svc.app.inject({ method: 'DELETE', url: '/tasks/t2?purge=1' })).statusCode, 204)
    assert.deepEqual((await list('')).tasks.map((t) => t.task_id), ['t5', 't4', 't3', 't1'])
  })
})
