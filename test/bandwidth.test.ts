// Bandwidth caps against the real service and a real origin that would
// serve far faster: a task's max_bytes_per_second over all its connections,
// and MAX_BYTES_PER_SECOND over all the tasks of a worker process.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { fileBytes, sha256Hex } from '../testkit/file-bytes.js'
import type { Origin } from '../testkit/origin.js'
import { notInFastRun, readReplies, withService, type ServiceFixture } from '../testkit/service.js'

const MiB = 1024 * 1024

interface Status {
  state: string
  started_at: string
  finished_at: string
}

async function runAll(s: ServiceFixture, tasks: Record<string, unknown>[]): Promise<Status[]> {
  for (const payload of tasks) {
    const res = await s.svc.app.inject({ method: 'POST', url: '/tasks', payload })
    assert.equal(res.statusCode, 202, res.body)
  }
  const out: Status[] = []
  for (const t of tasks) {
    await readReplies(`${s.env.LEGACY_REPLY_PREFIX}_${String(t.task_id)}`, 30_000)
    out.push((await s.svc.app.inject({ method: 'GET', url: `/tasks/${String(t.task_id)}` })).json())
  }
  return out
}
const seconds = (from: string, to: string) => (Date.parse(to) - Date.parse(from)) / 1000
/** When the origin got the first request for `name`: the download's start, past the queue's pick-up. */
const firstRequest = (origin: Origin, name: string) => {
  const at = Math.min(...origin.requests.filter((r) => r.path === `/f/${name}`).map((r) => r.at))
  return new Date(performance.timeOrigin + at).toISOString()
}

// Timed transfers of 8 and 3 s: not in the fast run (the token bucket has unit tests).
describe('bandwidth caps', { skip: notInFastRun }, () => {
  describe('of a task', () => {
    const s = withService('bw-task', { DOWNLOAD_IDLE_TIMEOUT_MS: '5000' })

    it('takes 8 s (within 15%) for 32 MiB under a 4 MiB/s task cap, segments included', async () => {
      const size = 32 * MiB
      const [status] = await runAll(s, [
        {
          task_id: 'capped',
          max_bytes_per_second: 4 * MiB,
          task_info: [{ fn: 'big.bin', url: s.origin.url('capped', { size }), sha256: sha256Hex(fileBytes('capped', size)) }],
        },
      ])
      assert.equal(status!.state, 'completed')
      const took = seconds(firstRequest(s.origin, 'capped'), status!.finished_at)
      const requests = s.origin.requests.filter((r) => r.path === '/f/capped').length
      console.log(
        `# 32 MiB at a 4 MiB/s task cap: ${took.toFixed(2)} s from the first request (${seconds(status!.started_at, status!.finished_at).toFixed(2)} s from the task's start) over ${requests} connection(s)`,
      )
      assert.ok(took >= 8 * 0.85 && took <= 8 * 1.15, `took ${took} s`)
      const shown = (await s.svc.app.inject({ method: 'GET', url: '/tasks/capped' })).json() as { max_bytes_per_second?: number }
      assert.equal(shown.max_bytes_per_second, 4 * MiB, 'the cap is shown')
    })
  })

  describe('of a worker process', () => {
    const s = withService('bw-process', { DOWNLOAD_IDLE_TIMEOUT_MS: '5000', MAX_BYTES_PER_SECOND: String(8 * MiB) })

    it('holds MAX_BYTES_PER_SECOND over two tasks at once: their combined rate', async () => {
      const size = 12 * MiB
      const tasks = ['p1', 'p2'].map((id) => ({ task_id: id, task_info: [{ fn: `${id}.bin`, url: s.origin.url(id, { size }) }] }))
      const statuses = await runAll(s, tasks)
      for (const st of statuses) assert.equal(st.state, 'completed')
      const start = [firstRequest(s.origin, 'p1'), firstRequest(s.origin, 'p2')].sort()[0]!
      const end = statuses.map((st) => st.finished_at).sort().at(-1)!
      const took = seconds(start, end)
      console.log(`# 2 x 12 MiB at an 8 MiB/s process cap: ${took.toFixed(2)} s (${((2 * size) / MiB / took).toFixed(2)} MiB/s combined)`)
      // The cap holds: never faster than 8 MiB/s (15% for the bucket's depth and the clocks).
      // Load on the machine can only make it slower; far slower would mean another limit.
      assert.ok(took >= 3 * 0.85, `took ${took} s: over the cap`)
      assert.ok(took <= 3 * 1.5, `took ${took} s: far under the cap`)
      // Both ran under the cap together, not one after the other at full speed.
      for (const st of statuses) assert.ok(seconds(st.started_at, st.finished_at) >= 3 * 0.7, `a task took ${seconds(st.started_at, st.finished_at)} s`)
    })
  })
})
