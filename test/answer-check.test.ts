// The checks on an answer's head, before any of its body is taken: pure, so
// tested without an origin.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { checkAnswer, refusalOf, RestartError } from '../src/download/answer-check.js'
import { DownloadError } from '../src/download/errors.js'

const MAX = 1_000_000
const expect = { validator: '"v1"', size: 1000 }

function codeOf(fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    assert.ok(err instanceof DownloadError)
    return err.code
  }
  assert.fail('no error thrown')
}

describe('refusalOf', () => {
  it('takes a 2xx', () => {
    assert.equal(refusalOf(200, {}), null)
    assert.equal(refusalOf(206, {}), null)
  })

  it('refuses a redirect handed back unfollowed, and does not retry it', () => {
    const err = refusalOf(302, { location: '/elsewhere' })
    assert.equal(err?.code, 'too_many_redirects')
    assert.equal(err?.retryable, false)
  })

  it('refuses an error status with its Retry-After', () => {
    const err = refusalOf(503, { 'retry-after': '7' })
    assert.equal(err?.code, 'http_error')
    assert.equal(err?.httpStatus, 503)
    assert.equal(err?.retryAfterMs, 7000)
    assert.equal(refusalOf(404, {})?.retryable, false)
  })
})

describe('checkAnswer', () => {
  it('reads a whole file: its size from Content-Length, ranges from Accept-Ranges', () => {
    const a = checkAnswer(200, { 'content-length': '1000', 'accept-ranges': 'bytes', etag: '"v1"' }, 0, null, MAX)
    assert.deepEqual(a, { status: 200, size: 1000, validator: '"v1"', ranges: true, bodyEnd: 1000 })
    const b = checkAnswer(200, {}, 0, null, MAX)
    assert.deepEqual(b, { status: 200, size: null, validator: null, ranges: false, bodyEnd: Infinity })
  })

  it('takes a 206 for the range and version asked for; the body ends where Content-Range says', () => {
    const a = checkAnswer(206, { 'content-range': 'bytes 400-699/1000', etag: '"v1"' }, 400, expect, MAX)
    assert.deepEqual(a, { status: 206, size: 1000, validator: '"v1"', ranges: true, bodyEnd: 700 })
  })

  it('restarts the file when a 206 is for another range, size or version', () => {
    for (const [headers, from] of [
      [{ 'content-range': 'bytes 0-999/1000' }, 400],
      [{ 'content-range': 'bytes 400-999/2000' }, 400],
      [{ 'content-range': 'bytes 400-999/1000', etag: '"v2"' }, 400],
      [{}, 400],
    ] as const) {
      assert.throws(() => checkAnswer(206, headers, from, expect, MAX), RestartError)
    }
  })

  it('refuses a 206 to a request for the whole file, without resuming', () => {
    assert.throws(
      () => checkAnswer(206, { 'content-range': 'bytes 0-999/1000' }, 0, null, MAX),
      (err: unknown) => err instanceof DownloadError && !(err instanceof RestartError) && err.code === 'range_mismatch' && !err.resumable,
    )
  })

  it('refuses a file over the size limit, for good', () => {
    assert.equal(codeOf(() => checkAnswer(200, { 'content-length': '1000001' }, 0, null, MAX)), 'file_too_large')
    assert.equal(codeOf(() => checkAnswer(206, { 'content-range': 'bytes 0-9/1000001' }, 0, { validator: '"v1"', size: 1000001 }, MAX)), 'file_too_large')
  })
})
