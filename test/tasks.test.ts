// The whole path: POST /tasks -> Redis queue -> worker -> files on disk ->
// reply list and GET /tasks/:id, against the real Redis and a real origin;
// cancel and retry of a task, and what /metrics counts. Files that fail:
// tasks-errors.test.ts.
import assert from 'node:assert/strict'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { before, describe, it } from 'node:test'
import { fileBytes } from '../testkit/file-bytes.js'
import type { Origin } from '../testkit/origin.js'
import { assertProtocol } from './helpers/protocol.js'
import { tasksOf } from './helpers/tasks.js'
import { readReplies, startService, waitFor, withService, type InProcessService } from '../testkit/service.js'

describe('tasks end to end', () => {
  let env: Record<string, string>
  let svc: InProcessService
  let origin: Origin

  const service = withService('tasks', { RETRY_MAX_ATTEMPTS: '4' })
  before(() => ({ env, svc, origin } = service))
  const { run, onDisk, readSaved } = tasksOf(service)

  it('downloads every file into its task folder and reports start, each fn, end', async () => {
    const files = [
      { fn: 'cat', url: origin.url('cat.jpg', { size: 300_000, Expires: 1700000000, Signature: 'abc/def.png' }) },
      { fn: 'dog.png', url: origin.url('dog.png', { size: 70_000 }) },
      { fn: '猫 photo', url: origin.url('neko.jpeg', { size: 1 }) },
      { fn: 'empty.bin', url: origin.url('empty.bin', { size: 0 }) },
      { fn: 'big.bin', url: origin.url('big.bin', { size: 1_500_000 }) },
    ]
    const { replies, status } = await run('full', files)
    assertProtocol(replies, files.map((f) => f.fn))
    assert.equal(status.state, 'completed')
    assert.deepEqual(status.totals, { files: 5, done: 5, failed: 0, bytes_done: 300_000 + 70_000 + 1 + 0 + 1_500_000, bytes_total: 300_000 + 70_000 + 1 + 0 + 1_500_000, speed: 0, eta_s: null })
    assert.deepEqual(await onDisk('full'), ['big.bin', 'cat.jpg', 'dog.png', 'empty.bin', '猫 photo.jpeg'])
    assert.deepEqual(await readSaved('full', 'cat.jpg'), fileBytes('cat.jpg', 300_000))
    assert.deepEqual(await readSaved('full', 'big.bin'), fileBytes('big.bin', 1_500_000))
    assert.equal((await readSaved('full', 'empty.bin')).length, 0)
    for (const f of status.files) {
      assert.equal(f.state, 'done')
      assert.equal(f.attempts, 1)
      assert.equal(f.http_status, 200)
      assert.equal(f.bytes, f.size)
      assert.ok(!f.url.includes('Signature'))
    }
    assert.ok(status.started_at && status.finished_at)
    assert.deepEqual(await readdir(join(env.DOWNLOAD_DIR!, '.partial')), [], 'no temporary files are left')
  })

  it('keeps two tasks running at once in their own folders', async () => {
    const files = (tag: string) => [0, 1, 2].map((i) => ({ fn: `f${i}.bin`, url: origin.url(`${tag}-${i}`, { size: 50_000, rate: 500_000 }) }))
    const [a, b] = await Promise.all([run('twin-a', files('a')), run('twin-b', files('b'))])
    assert.equal(a.status.state, 'completed')
    assert.equal(b.status.state, 'completed')
    for (const [task, tag] of [['twin-a', 'a'], ['twin-b', 'b']] as const) {
      assert.deepEqual(await onDisk(task), ['f0.bin', 'f1.bin', 'f2.bin'])
      assert.deepEqual(await readSaved(task, 'f1.bin'), fileBytes(`${tag}-1`, 50_000))
    }
  })

  it('renames colliding names with (2) and keeps each file its own bytes', async () => {
    const files = [
      { fn: 'photo.jpg', url: origin.url('p1', { size: 10 }) },
      { fn: 'PHOTO.JPG', url: origin.url('p2', { size: 20 }) },
      { fn: 'photo', url: origin.url('p3.jpg', { size: 30 }) },
    ]
    const { replies, status } = await run('collide', files)
    assertProtocol(replies, ['photo.jpg', 'PHOTO.JPG', 'photo'])
    assert.deepEqual(status.files.map((f: { saved_as: string }) => f.saved_as), ['photo.jpg', 'PHOTO (2).JPG', 'photo (3).jpg'])
    assert.equal((await readSaved('collide', 'PHOTO (2).JPG')).length, 20)
    assert.equal((await readSaved('collide', 'photo (3).jpg')).length, 30)
  })

  it('cancels a running task within a second: partial files removed, finished ones kept, end pushed', async () => {
    const files = [
      { fn: 'quick.bin', url: origin.url('quick', { size: 100 }) },
      { fn: 'slow1.bin', url: origin.url('slow1', { size: 2_000_000, rate: 50_000 }) },
      { fn: 'slow2.bin', url: origin.url('slow2', { size: 2_000_000, rate: 50_000 }) },
    ]
    const res = await svc.app.inject({ method: 'POST', url: '/tasks', payload: { task_id: 'cancelme', task_info: files } })
    assert.equal(res.statusCode, 202)
    await waitFor(async () => {
      const s = (await svc.app.inject({ method: 'GET', url: '/tasks/cancelme' })).json()
      return s.files[0].state === 'done' && s.files[1].bytes > 0 ? true : undefined
    }, 10_000, 'progress on the slow files')
    const asked = Date.now()
    const del = await svc.app.inject({ method: 'DELETE', url: '/tasks/cancelme' })
    assert.equal(del.statusCode, 202)
    const replies = await readReplies(`${env.LEGACY_REPLY_PREFIX}_cancelme`, 5000)
    assert.ok(Date.now() - asked < 1000, `ended ${Date.now() - asked} ms after the cancel`)
    assertProtocol(replies, ['quick.bin', 'slow1.bin', 'slow2.bin'])
    const status = (await svc.app.inject({ method: 'GET', url: '/tasks/cancelme' })).json()
    assert.equal(status.state, 'cancelled')
    assert.deepEqual(status.files.map((f: { state: string }) => f.state), ['done', 'cancelled', 'cancelled'])
    assert.deepEqual(await onDisk('cancelme'), ['quick.bin'])
    await assert.rejects(readdir(join(env.DOWNLOAD_DIR!, '.partial', 'cancelme')), { code: 'ENOENT' })
  })

  it('runs a task of many more files than connections without a warning of too many abort listeners', async () => {
    // Each file in hand (two per connection) listens for the task's abort
    // while it waits for a connection, downloads or backs off: by design.
    const warnings: Error[] = []
    const onWarning = (w: Error) => warnings.push(w)
    process.on('warning', onWarning)
    try {
      const files = Array.from({ length: 60 }, (_, i) => ({ fn: `many-${i}.bin`, url: origin.url(`many-${i}`, { size: 1000, delay: 20 }) }))
      const { replies, status } = await run('many', files)
      assert.equal(replies.length, 62)
      assert.equal(status.state, 'completed')
    } finally {
      process.off('warning', onWarning)
    }
    assert.deepEqual(warnings.filter((w) => w.name === 'MaxListenersExceededWarning').map((w) => w.message), [])
  })

  it('retries the failed files of an ended task under the same id', async () => {
    const files = [
      { fn: 'fine.bin', url: origin.url('retry-fine', { size: 100 }) },
      // Fails every attempt of the first run (RETRY_MAX_ATTEMPTS is 4), then works.
      { fn: 'flaky.bin', url: origin.url('retry-flaky', { size: 200, fail: 503, times: 4 }) },
    ]
    const first = await run('again', files)
    assertProtocol(first.replies, ['fine.bin', 'flaky.bin'])
    assert.equal(first.status.state, 'partial')

    const res = await svc.app.inject({ method: 'POST', url: '/tasks/again/retry' })
    assert.equal(res.statusCode, 202)
    const replies = await readReplies(`${env.LEGACY_REPLY_PREFIX}_again`)
    assert.deepEqual(replies, ['start', 'flaky.bin', 'end'], 'start, the retried file, end')
    const status = (await svc.app.inject({ method: 'GET', url: '/tasks/again' })).json()
    assert.equal(status.state, 'completed')
    assert.deepEqual(status.totals, { files: 2, done: 2, failed: 0, bytes_done: 300, bytes_total: 300, speed: 0, eta_s: null })
    // Nothing of the failed run is left on the file: not its error, not its status.
    const { state, error, http_status, size } = status.files[1]
    assert.deepEqual({ state, error, http_status, size }, { state: 'done', error: null, http_status: 200, size: 200 })
    assert.deepEqual(await onDisk('again'), ['fine.bin', 'flaky.bin'])
    assert.equal(origin.hits('retry-fine'), 1, 'the finished file is not fetched again')

    const nothing = await svc.app.inject({ method: 'POST', url: '/tasks/again/retry' })
    assert.equal(nothing.statusCode, 409)
    assert.equal(nothing.json().error, 'nothing_to_retry')
    assert.equal((await svc.app.inject({ method: 'POST', url: '/tasks/nope/retry' })).statusCode, 404)
  })

  it('counts tasks, files by outcome and error, bytes and retries in /metrics', async () => {
    // A fresh service: its counters hold exactly this task.
    const { env: menv, svc: msvc, close } = await startService('metrics', { RETRY_MAX_ATTEMPTS: '3' })
    try {
      const files = [
        { fn: 'a.bin', url: origin.url('m-a', { size: 1000 }) },
        { fn: 'b.bin', url: origin.url('m-b', { size: 2000, fail: 503, times: 1 }) },
        { fn: 'c.bin', url: origin.url('m-c', { status: 404 }) },
      ]
      await msvc.app.inject({ method: 'POST', url: '/tasks', payload: { task_id: 'metered', task_info: files } })
      await readReplies(`${menv.LEGACY_REPLY_PREFIX}_metered`)
      const scrape = async () => (await msvc.app.inject({ method: 'GET', url: '/metrics' })).body
      const read = (text: string, line: string) => Number(new RegExp(`^${line.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1])
      // The worker counts the task just after it pushed "end": wait for that count.
      const text = await waitFor(async () => {
        const t = await scrape()
        return read(t, 'batchdl_tasks_finished_total{state="partial"}') === 1 ? t : undefined
      }, 5000, 'the task counted')
      const value = (line: string) => read(text, line)
      assert.equal(value('batchdl_files_finished_total{outcome="done",error="none"}'), 2)
      assert.equal(value('batchdl_files_finished_total{outcome="failed",error="http_error"}'), 1)
      assert.equal(value('batchdl_downloaded_bytes_total'), 3000)
      assert.equal(value('batchdl_download_retries_total'), 1)
      assert.equal(value('batchdl_file_duration_seconds_count'), 3)
      assert.equal(value('batchdl_active_downloads'), 0)
      assert.equal(value('batchdl_queue_jobs{state="waiting"}'), 0)
      assert.match(text, /process_resident_memory_bytes/)
    } finally {
      await close()
    }
  })
})
