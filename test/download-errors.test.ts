// Pure functions of the download path: how a failure is classified, how long
// a retry waits, and how the answer's headers are read.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { errors as undiciErrors } from 'undici'
import { backoff } from '../src/download/download-file.js'
import { classify, DownloadError, httpError, parseRetryAfter } from '../src/download/errors.js'
import { RedirectRefusedError } from '../src/download/redirect-guard.js'
import { contentLength, contentRange } from '../src/download/resume-state.js'
import { BlockedAddressError } from '../src/net/guarded-connector.js'
import { FILE_ERROR_CODES } from '../src/vocabulary.js'

const errno = (code: string, syscall?: string) => Object.assign(new Error(`${syscall ?? 'connect'} ${code}`), { code, syscall })

describe('classify', () => {
  const cases: [string, unknown, string, boolean][] = [
    ['connect timeout', new undiciErrors.ConnectTimeoutError(), 'connect_timeout', true],
    ['headers timeout', new undiciErrors.HeadersTimeoutError(), 'timeout', true],
    ['body timeout', new undiciErrors.BodyTimeoutError(), 'timeout', true],
    ['socket closed', new undiciErrors.SocketError('other side closed'), 'connection_error', true],
    ['reset', errno('ECONNRESET'), 'connection_error', true],
    ['refused', errno('ECONNREFUSED'), 'connection_error', true],
    ['no such host', errno('ENOTFOUND', 'getaddrinfo'), 'dns_error', true],
    ['short body', new undiciErrors.ResponseContentLengthMismatchError(), 'size_mismatch', true],
    ['oversized header', new undiciErrors.HeadersOverflowError(), 'headers_too_large', false],
    ['disk full', errno('ENOSPC', 'write'), 'disk_full', false],
    ['quota', errno('EDQUOT', 'write'), 'disk_full', false],
    ['unwritable', errno('EACCES', 'open'), 'disk_error', false],
    ['blocked', new BlockedAddressError('blocked_address', 'loopback'), 'blocked_address', false],
    ['blocked, as the cause', Object.assign(new Error('connect'), { cause: new BlockedAddressError('host_not_allowed', 'x') }), 'host_not_allowed', false],
    ['redirect loop', new RedirectRefusedError('redirect_loop', 'loop'), 'redirect_loop', false],
    ['anything else', new Error('surprise'), 'download_error', true],
  ]
  for (const [what, err, code, retryable] of cases) {
    it(`${what}: ${code}, ${retryable ? '' : 'not '}retryable`, () => {
      const e = classify(err)
      assert.equal(e.code, code)
      assert.equal(e.retryable, retryable)
      assert.ok(FILE_ERROR_CODES.includes(e.code))
    })
  }

  it('keeps a DownloadError as it is', () => {
    const e = new DownloadError('too_slow', true, 'slow', 200)
    assert.equal(classify(e), e)
  })

  it('retries 408, 429 and 5xx, and no other status', () => {
    const retryable = [400, 401, 403, 404, 408, 410, 429, 500, 502, 503].filter((s) => httpError(s, null).retryable)
    assert.deepEqual(retryable, [408, 429, 500, 502, 503])
    assert.equal(httpError(503, 2000).retryAfterMs, 2000)
    assert.equal(httpError(404, null).httpStatus, 404)
  })
})

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-01-01T00:00:00Z')
  it('reads delta-seconds and HTTP dates, and nothing else', () => {
    assert.equal(parseRetryAfter('120', now), 120_000)
    assert.equal(parseRetryAfter(' 3 ', now), 3000)
    assert.equal(parseRetryAfter(['5', '9'], now), 5000)
    assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now), 30_000)
    assert.equal(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now), 0, 'a date passed is now')
    assert.equal(parseRetryAfter(undefined, now), null)
    assert.equal(parseRetryAfter('', now), null)
    assert.equal(parseRetryAfter('soon', now), null)
  })
})

describe('backoff', () => {
  const policy = { baseDelayMs: 100, maxDelayMs: 1000 }
  it('doubles per attempt up to the cap, jittered over the upper half', () => {
    for (const [attempt, ceiling] of [[1, 100], [2, 200], [3, 400], [4, 800], [5, 1000], [9, 1000]] as const) {
      for (let i = 0; i < 50; i++) {
        const d = backoff(policy, attempt, null)
        assert.ok(d >= ceiling / 2 && d <= ceiling, `attempt ${attempt}: ${d} ms`)
      }
    }
  })
  it('waits as long as Retry-After asks, up to the cap', () => {
    assert.equal(backoff(policy, 1, 700), 700)
    assert.equal(backoff(policy, 1, 60_000), 1000)
  })
})

describe('answer headers', () => {
  it('reads Content-Range: the start and the whole size', () => {
    assert.deepEqual(contentRange('bytes 100-199/1000'), { start: 100, end: 200, total: 1000 })
    assert.deepEqual(contentRange(['bytes 0-0/1']), { start: 0, end: 1, total: 1 })
    for (const bad of [undefined, '', 'bytes 0-9/*', 'bytes */1000', 'items 0-9/10', 'bytes 0-9']) assert.equal(contentRange(bad), null, String(bad))
  })
  it('reads Content-Length only when it is a whole number', () => {
    assert.equal(contentLength('1234'), 1234)
    assert.equal(contentLength('0'), 0)
    for (const bad of [undefined, '', '-1', '1e3', '12 34']) assert.equal(contentLength(bad), null, String(bad))
  })
})
