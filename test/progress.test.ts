// Honest progress, against the real service and a throttled origin: a file's
// size while it downloads, a file waiting for its next attempt, totals that
// never go back, progress events that neither repeat nor go on while nothing
// moves, and GET /tasks/:id?files=.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { FileStatus, TaskStatus, Totals } from '../src/tasks/schemas.js'
import { notInFastRun, waitFor, withService } from '../testkit/service.js'
import { follow, type Received } from './helpers/sse.js'

/** The Redis stream id's time: when the event was written. */
const timeOf = (e: Received) => Number(e.id.split('-')[0])

describe('progress', () => {
  // Waits long enough to be seen: Retry-After up to 2 s, a stall cut after 5 s.
  const h = withService('progress', { RETRY_MAX_DELAY_MS: '2000', DOWNLOAD_IDLE_TIMEOUT_MS: '5000', RETRY_MAX_ATTEMPTS: '3' }, { listen: true })

  async function submit(taskId: string, task_info: { fn: string; url: string }[]) {
    const res = await fetch(`${h.base}/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ task_id: taskId, task_info }) })
    assert.equal(res.status, 202, await res.clone().text())
    return (await res.json()) as { events_url: string }
  }
  const status = async (taskId: string, query = '') => (await (await fetch(`${h.base}/tasks/${taskId}${query}`)).json()) as TaskStatus

  it('knows a file\'s size from its headers, while it downloads, with speed and time left', async () => {
    const size = 400_000
    await submit('size', [{ fn: 's.bin', url: h.origin.url('size', { size, rate: 100_000 }) }])
    const seen = await waitFor(async () => {
      const s = await status('size')
      const f = s.files[0]!
      return f.state === 'downloading' && f.bytes > 50_000 && f.bytes < size - 50_000 ? s : undefined
    }, 10_000, 'the file half way')
    const f = seen.files[0]!
    assert.equal(f.size, size, 'the size, from Content-Length, before the end')
    assert.equal(seen.totals.bytes_total, size)
    assert.ok(seen.totals.bytes_done >= f.bytes && seen.totals.bytes_done < size)
    assert.ok(seen.totals.speed > 30_000 && seen.totals.speed < 300_000, `speed ${seen.totals.speed} of a 100 kB/s origin`)
    assert.equal(typeof seen.totals.eta_s, 'number')
    assert.ok(seen.totals.eta_s! >= 1 && seen.totals.eta_s! <= 10, `eta ${seen.totals.eta_s} s for ${size - f.bytes} bytes at 100 kB/s`)
    // The list shows the same figures, from any API process (they are in Redis).
    const list = (await (await fetch(`${h.base}/tasks?state=running`)).json()) as { tasks: { task_id: string; totals: Totals }[] }
    const listed = list.tasks.find((t) => t.task_id === 'size')
    assert.equal(listed?.totals.bytes_total, size)
    const end = await waitFor(async () => ((await status('size')).state === 'completed' ? status('size') : undefined), 15_000, 'the end')
    assert.deepEqual(end.totals, { files: 1, done: 1, failed: 0, bytes_done: size, bytes_total: size, speed: 0, eta_s: null })
    const summary = await status('size', '?files=none')
    assert.deepEqual({ ...summary, files: end.files }, end, 'files=none: the same task, without its files')
  })

  it('shows a file waiting for its next attempt as retrying, with retry_at, attempts and the reason', async () => {
    const { events_url } = await submit('retry', [{ fn: 'r.bin', url: h.origin.url('retry-503', { size: 5000, fail: 503, times: 1, retryAfter: 2 }) }])
    const events = follow(h.base + events_url)
    const waiting = await waitFor(async () => {
      const s = await status('retry')
      return s.files[0]!.state === 'retrying' ? { file: s.files[0]!, at: Date.now() } : undefined
    }, 5000, 'the file retrying')
    const retryAt = Date.parse(waiting.file.retry_at!)
    assert.ok(retryAt > waiting.at - 100 && retryAt <= waiting.at + 2100, `retry_at ${waiting.file.retry_at} within the 2 s Retry-After`)
    assert.equal(waiting.file.attempts, 1)
    assert.equal(waiting.file.http_status, 503)
    assert.equal(waiting.file.error, 'http_error')
    assert.deepEqual((await status('retry', '?files=active')).files.map((f) => f.state), ['retrying'], 'retrying is active')

    const all = await events
    const files = all.filter((e) => e.type === 'file').map((e) => e.data as FileStatus)
    assert.deepEqual(files.map((f) => f.state), ['retrying', 'done'], 'a file event when it began waiting, one when it ended')
    assert.equal(files[0]!.retry_at, waiting.file.retry_at)
    assert.equal(files[0]!.attempts, 1)
    assert.equal(files[1]!.attempts, 2)
    const done = (await status('retry')).files[0]!
    assert.deepEqual([done.state, done.retry_at, done.error, done.attempts, done.size], ['done', null, null, 2, 5000])
  })

  // Waits out a 5 s idle timeout and a whole speed window: not in the fast run.
  it('sends progress events only when something moved, never the same twice, and one with speed 0 when bytes stop', { skip: notInFastRun }, async () => {
    // 60 kB, then silence until the 5 s idle timeout; the next attempt resumes from there.
    const size = 200_000
    const { events_url } = await submit('stall', [{ fn: 's.bin', url: h.origin.url('stall', { size, rate: 200_000, stall: 60_000, times: 1 }) }])
    const all = await follow(h.base + events_url, { timeoutMs: 30_000 })
    const progress = all.filter((e) => e.type === 'progress')
    const totals = progress.map((e) => e.data as Totals)
    for (let i = 1; i < totals.length; i++) {
      assert.notDeepEqual(totals[i], totals[i - 1], `event ${i} repeats the one before`)
      assert.ok(totals[i]!.bytes_done >= totals[i - 1]!.bytes_done, 'bytes_done never goes back')
      // Stamped by Redis as each write lands: 250 ms apart, give or take a write's latency.
      assert.ok(timeOf(progress[i]!) - timeOf(progress[i - 1]!) >= 150, 'at most one every 250 ms')
    }
    // The stall: the events at the plateau are the one that reached it and, 3 s later, one saying nothing moves; then silence.
    const stopped = progress.filter((e) => (e.data as Totals).speed === 0)
    assert.equal(stopped.length, 1, 'one event says the bytes stopped')
    const last = stopped[0]!.data as Totals
    assert.equal(last.eta_s, null, 'no time left known while nothing moves')
    const plateau = last.bytes_done
    assert.ok(plateau > 0 && plateau <= 60_000, `stopped at ${plateau}`)
    const atPlateau = progress.filter((e) => (e.data as Totals).bytes_done === plateau)
    assert.ok(atPlateau.length <= 2, `${atPlateau.length} events while nothing moved`)
    assert.ok(timeOf(stopped[0]!) - timeOf(atPlateau[0]!) >= 2500, 'speed 0 only once a whole window passed without bytes')
    const resumed = progress.find((e) => (e.data as Totals).bytes_done > plateau)!
    assert.ok(timeOf(resumed) - timeOf(stopped[0]!) >= 1000, 'no event in the silence')
    assert.deepEqual(all.at(-1)!.data, { state: 'completed', totals: { files: 1, done: 1, failed: 0, bytes_done: size, bytes_total: size, speed: 0, eta_s: null } })
  })

  it('never lowers bytes_done, of the task or of a file, when an attempt starts over or a file fails', async () => {
    // A small file (not resumed: every attempt starts over) cut at 30 kB each time, and a slow one that succeeds.
    const { events_url } = await submit('mono', [
      { fn: 'cut.bin', url: h.origin.url('mono-cut', { size: 50_000, rate: 100_000, reset: 30_000, times: 99 }) },
      { fn: 'ok.bin', url: h.origin.url('mono-ok', { size: 300_000, rate: 100_000 }) },
    ])
    const events = follow(h.base + events_url, { timeoutMs: 30_000 })
    const polled: TaskStatus[] = []
    for (;;) {
      const s = await status('mono')
      polled.push(s)
      if (s.state !== 'queued' && s.state !== 'running') break
      await new Promise((r) => setTimeout(r, 50))
    }
    const totals = [...polled.map((s) => s.totals), ...(await events).filter((e) => e.type === 'progress').map((e) => e.data as Totals)]
    for (const series of [polled.map((s) => s.totals.bytes_done), polled.map((s) => s.files[0]!.bytes), polled.map((s) => s.files[1]!.bytes)]) {
      for (let i = 1; i < series.length; i++) assert.ok(series[i]! >= series[i - 1]!, `went back from ${series[i - 1]} to ${series[i]}`)
    }
    const end = polled.at(-1)!
    assert.equal(end.state, 'partial')
    const cut = end.files[0]!
    assert.deepEqual([cut.state, cut.attempts, cut.size], ['failed', 3, 50_000])
    assert.ok(cut.bytes > 0 && cut.bytes <= 30_000, `the failed file keeps the ${cut.bytes} bytes it received`)
    assert.equal(end.totals.bytes_done, 300_000 + cut.bytes, 'a failed file\'s bytes stay counted')
    assert.equal(end.totals.bytes_total, 350_000)
    assert.ok(totals.every((t) => t.bytes_done <= end.totals.bytes_done), 'no figure above the end')
  })

  it('lists all, the active, the failed or no files, as asked; refuses another value in plain words', async () => {
    await submit('filter', [
      { fn: 'ok.bin', url: h.origin.url('filter-ok', { size: 100 }) },
      { fn: 'gone.bin', url: h.origin.url('filter-gone', { status: 404 }) },
      { fn: 'slow.bin', url: h.origin.url('filter-slow', { size: 200_000, rate: 50_000 }) },
    ])
    await waitFor(async () => ((await status('filter')).totals.done + (await status('filter')).totals.failed === 2 ? true : undefined), 10_000, 'two files ended')
    const names = async (query: string) => (await status('filter', query)).files.map((f) => `${f.index}:${f.fn}`)
    assert.deepEqual(await names(''), ['0:ok.bin', '1:gone.bin', '2:slow.bin'])
    assert.deepEqual(await names('?files=all'), ['0:ok.bin', '1:gone.bin', '2:slow.bin'])
    assert.deepEqual(await names('?files=active'), ['2:slow.bin'])
    assert.deepEqual(await names('?files=failed'), ['1:gone.bin'])
    const none = await status('filter', '?files=none')
    assert.deepEqual(none.files, [])
    assert.equal(none.totals.files, 3, 'the totals stay whole')
    const bad = await fetch(`${h.base}/tasks/filter?files=some`)
    assert.equal(bad.status, 400)
    const body = (await bad.json()) as { details: { path: string; message: string }[] }
    assert.deepEqual(body.details, [{ path: '/files', message: 'files must be one of all, active, failed, none' }])
  })
})
