// A task's files that fail, end to end: at once or after retries (5xx, 429
// and 408 with Retry-After, a reset, a stall, a short body), on a checksum, a
// size limit or a redirect; against the real Redis and a real origin.
import assert from 'node:assert/strict'
import { before, describe, it } from 'node:test'
import { fileBytes, sha256Hex } from '../testkit/file-bytes.js'
import type { Origin } from '../testkit/origin.js'
import { assertProtocol } from './helpers/protocol.js'
import { tasksOf } from './helpers/tasks.js'
import { withService } from '../testkit/service.js'

describe('tasks end to end: files that fail', () => {
  let origin: Origin

  const service = withService('task-errors', { MAX_FILE_BYTES: String(2 * 1024 * 1024), RETRY_MAX_ATTEMPTS: '4' })
  before(() => ({ origin } = service))
  const { run, onDisk, readSaved } = tasksOf(service)

  it('fails a 404 file at once without retry; the others finish and its fn is still pushed', async () => {
    const files = [
      { fn: 'ok.bin', url: origin.url('ok-404case', { size: 1000 }) },
      { fn: 'gone.bin', url: origin.url('gone', { status: 404 }) },
    ]
    const { replies, status } = await run('notfound', files)
    assertProtocol(replies, ['ok.bin', 'gone.bin'])
    assert.equal(status.state, 'partial')
    assert.deepEqual(status.totals, { files: 2, done: 1, failed: 1, bytes_done: 1000, bytes_total: 1000, speed: 0, eta_s: null })
    const gone = status.files[1]
    assert.equal(gone.state, 'failed')
    assert.equal(gone.error, 'http_error')
    assert.equal(gone.http_status, 404)
    assert.equal(gone.attempts, 1)
    assert.equal(origin.hits('gone'), 1)
    assert.deepEqual(await onDisk('notfound'), ['ok.bin'], 'the folder holds exactly the files that succeeded')
  })

  it('ends as failed when every file fails', async () => {
    const { replies, status } = await run('allfail', [{ fn: 'x', url: origin.url('x403', { status: 403 }) }])
    assertProtocol(replies, ['x'])
    assert.equal(status.state, 'failed')
  })

  it('retries a flaky origin (503 twice, then 200)', async () => {
    const { status } = await run('flaky', [{ fn: 'f.bin', url: origin.url('flaky', { size: 5000, fail: 503, times: 2 }) }])
    assert.equal(status.state, 'completed')
    assert.equal(status.files[0].attempts, 3)
    assert.equal(origin.hits('flaky'), 3)
  })

  it('retries 429 and 408, honouring Retry-After', async () => {
    const started = Date.now()
    const { status } = await run('limited', [
      { fn: 'a', url: origin.url('lim429', { fail: 429, times: 1, retryAfter: 1 }) },
      { fn: 'b', url: origin.url('lim408', { fail: 408, times: 1 }) },
    ])
    assert.equal(status.state, 'completed')
    assert.ok(Date.now() - started >= 200, 'waited for Retry-After (capped by RETRY_MAX_DELAY_MS=200)')
  })

  it('retries a connection reset mid-body and saves the exact bytes', async () => {
    const size = 800_000
    const { status } = await run('reset', [{ fn: 'r.bin', url: origin.url('reset', { size, reset: 300_000, times: 2 }) }])
    assert.equal(status.state, 'completed')
    assert.ok(status.files[0].attempts >= 2)
    assert.equal(sha256Hex(await readSaved('reset', 'r.bin')), sha256Hex(fileBytes('reset', size)))
  })

  it('cuts a body that stalls (idle timeout) and retries it', async () => {
    const { status } = await run('stall', [{ fn: 's.bin', url: origin.url('stall', { size: 100_000, stall: 10_000 }) }])
    assert.equal(status.state, 'completed')
    assert.equal(status.files[0].attempts, 2)
    assert.deepEqual(await readSaved('stall', 's.bin'), fileBytes('stall', 100_000))
  })

  it('retries a body shorter than its Content-Length', async () => {
    const { status } = await run('short', [{ fn: 's.bin', url: origin.url('short', { size: 100_000, short: 40_000 }) }])
    assert.equal(status.state, 'completed')
    assert.equal(status.files[0].attempts, 2)
    assert.equal((await readSaved('short', 's.bin')).length, 100_000)
  })

  it('checks sha256 when given', async () => {
    const good = sha256Hex(fileBytes('sum-ok', 4096))
    const { status } = await run('sums', [
      { fn: 'ok.bin', url: origin.url('sum-ok', { size: 4096 }), sha256: good.toUpperCase() },
      { fn: 'bad.bin', url: origin.url('sum-bad', { size: 4096 }), sha256: good },
    ])
    assert.equal(status.files[0].state, 'done')
    assert.equal(status.files[1].state, 'failed')
    assert.equal(status.files[1].error, 'checksum_mismatch')
    assert.deepEqual(await onDisk('sums'), ['ok.bin'])
  })

  it('fails a file over MAX_FILE_BYTES and removes what was written', async () => {
    const { status } = await run('toolarge', [{ fn: 'huge.bin', url: origin.url('huge', { size: 3 * 1024 * 1024 }) }])
    assert.equal(status.files[0].state, 'failed')
    assert.equal(status.files[0].error, 'file_too_large')
    assert.deepEqual(await onDisk('toolarge'), [])
  })

  it('follows redirects, up to a limit', async () => {
    const { status } = await run('redirects', [
      { fn: 'near.bin', url: `${origin.base}/r/2/f/near?size=100` },
      { fn: 'far.bin', url: `${origin.base}/r/9/f/far?size=100` },
    ])
    assert.equal(status.files[0].state, 'done')
    assert.equal(status.files[1].state, 'failed')
    assert.equal(status.files[1].error, 'too_many_redirects')
  })

  it('ends redirect loops, non-http redirect targets and oversized headers at once, with codes of their own', async () => {
    const { status } = await run('badhops', [
      { fn: 'loop.bin', url: `${origin.base}/self/f/loop?size=10` },
      { fn: 'file.bin', url: `${origin.base}/to?url=${encodeURIComponent('file:///etc/passwd')}` },
      { fn: 'ftp.bin', url: `${origin.base}/to?url=${encodeURIComponent('ftp://example.com/a')}` },
      { fn: 'js.bin', url: `${origin.base}/to?url=${encodeURIComponent('javascript:alert(1)')}` },
      { fn: 'headers.bin', url: origin.url('bighead', { size: 10, bigHeaders: 64 * 1024 }) },
    ])
    const outcomes = status.files.map((f: { error: string; attempts: number }) => [f.error, f.attempts])
    assert.deepEqual(outcomes, [
      ['redirect_loop', 1],
      ['bad_redirect', 1],
      ['bad_redirect', 1],
      ['bad_redirect', 1],
      ['headers_too_large', 1],
    ])
  })
})
