// The token bucket behind the bandwidth caps, on a clock the test moves.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { depthFor, throttleOf, TokenBucket } from '../src/download/token-bucket.js'

function clock() {
  let t = 0
  return { now: () => t, advance: (ms: number) => (t += ms) }
}

describe('token bucket', () => {
  it('lets its depth through at once, then asks for a pause that pays the debt at the rate', () => {
    const c = clock()
    const bucket = new TokenBucket(1000, 100, c.now)
    assert.equal(bucket.take(100), 0, 'a full bucket')
    assert.equal(bucket.saturated(), false)
    assert.equal(bucket.take(50), 50, '50 bytes of debt at 1000/s: 50 ms')
    assert.equal(bucket.saturated(), true)
    c.advance(50)
    assert.equal(bucket.saturated(), true, 'paid off, but a reader waited within the last second')
    c.advance(1000)
    assert.equal(bucket.saturated(), false, 'no reader waited for a second: the cap is not what sets the pace')
    assert.equal(bucket.take(10), 0)
  })

  it('queues readers that share it: each waits for the debt before its own', () => {
    const c = clock()
    const bucket = new TokenBucket(1000, 0, c.now)
    assert.deepEqual([bucket.take(100), bucket.take(100), bucket.take(100)], [100, 200, 300])
  })

  it('never holds more than its depth, however long it was idle: no burst above the cap', () => {
    const c = clock()
    const rate = 4 * 1024 * 1024
    const bucket = new TokenBucket(rate, depthFor(rate), c.now)
    c.advance(60_000)
    // Readers that obey it: over 2 s of reading 64 KiB at a time, at most the depth above 2 s of rate.
    let bytes = 0
    const start = c.now()
    while (c.now() - start < 2000) {
      bytes += 65536
      c.advance(Math.max(1, bucket.take(65536)))
    }
    const elapsed = c.now() - start
    assert.ok(bytes <= (rate * elapsed) / 1000 + depthFor(rate) + 65536, `${bytes} bytes in ${elapsed} ms`)
    assert.ok(bytes >= (rate * elapsed) / 1000 - 65536, 'and the cap is used')
  })

  it('keeps the depth small: a quarter second of the rate, at least 16 KiB', () => {
    assert.equal(depthFor(4 * 1024 * 1024), 1024 * 1024)
    assert.equal(depthFor(1024), 16 * 1024)
  })

  it('combines caps: every one charged, the longest pause kept', () => {
    const c = clock()
    const task = new TokenBucket(1000, 0, c.now)
    const processWide = new TokenBucket(500, 0, c.now)
    const both = throttleOf([task, null, processWide])!
    assert.equal(both.take(100), 200)
    assert.equal(processWide.take(0), 200, 'the process bucket was charged too')
    assert.equal(throttleOf([null, undefined]), undefined)
    assert.equal(throttleOf([task]), task)
  })

  it('refuses a rate of 0', () => {
    assert.throws(() => new TokenBucket(0), RangeError)
  })
})
