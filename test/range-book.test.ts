// The book of a file's ranges no request fetches: which range a new
// connection takes and which request gives its connection back. No network:
// the running requests are plain objects with what the book reads of them.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { RangeBook, type RunningRequest } from '../src/download/range-book.js'
import type { Segment } from '../src/download/resume-state.js'

const MiB = 1024 * 1024

function request(start: number, end: number, position: number, receiving = true): RunningRequest & { stopped: boolean } {
  const segment: Segment = { start, end, done: 0 }
  return {
    segment,
    position,
    receiving,
    stopped: false,
    stop() {
      this.stopped = true
      segment.end = position
    },
  }
}

describe('range book', () => {
  it('gives a new connection a missing range first, then half of the widest running one', () => {
    const book = new RangeBook()
    const missing: Segment = { start: 8 * MiB, end: 10 * MiB, done: 0 }
    book.waitFor([missing])
    assert.equal(book.anyWaiting, true)
    const running = [request(0, 8 * MiB, 0)]
    assert.equal(book.plan(running, MiB), missing)
    assert.equal(book.anyWaiting, false)
    const split = book.plan(running, MiB)
    assert.deepEqual(split, { start: 4 * MiB, end: 8 * MiB, done: 0 })
    assert.equal(running[0]!.segment.end, 4 * MiB, 'the running range ends where the split starts')
  })

  it('counts a split whose record is being saved as running: the next split may halve it', () => {
    const book = new RangeBook()
    const running = [request(0, 8 * MiB, 0)]
    const split = book.plan(running, MiB)!
    book.startSplit(split)
    assert.equal(book.anyStarting, true)
    running[0]!.position = 3 * MiB
    // The running request has 1 MiB left, the starting split all of its 4 MiB.
    assert.deepEqual(book.plan(running, MiB), { start: 6 * MiB, end: 8 * MiB, done: 0 })
    assert.equal(split.end, 6 * MiB)
    book.splitSaved(split)
    assert.equal(book.anyStarting, false)
  })

  it('stops the receiving request with the most left; its rest waits first in line', () => {
    const book = new RangeBook()
    const later: Segment = { start: 20 * MiB, end: 21 * MiB, done: 0 }
    book.waitFor([later])
    const small = request(0, 4 * MiB, 1 * MiB)
    const wide = request(4 * MiB, 12 * MiB, 5 * MiB)
    const waiting = request(12 * MiB, 20 * MiB, 12 * MiB, false)
    const rest = book.yieldOne([small, wide, waiting])
    assert.deepEqual(rest, { start: 5 * MiB, end: 12 * MiB, done: 0 })
    assert.equal(wide.stopped, true)
    assert.equal(small.stopped || waiting.stopped, false, 'only one request stops; one not yet receiving is never chosen')
    assert.equal(book.next(), rest, 'the rest goes before the ranges that waited already')
    assert.equal(book.next(), later)
    assert.equal(book.endedYielded(wide), true)
    assert.equal(book.endedYielded(wide), false, 'forgotten once its end was seen')
    assert.equal(book.endedYielded(small), false)
  })

  it('leaves a request close to its end to finish, and one stopped already', () => {
    const book = new RangeBook()
    const near = request(0, MiB, MiB - 1024)
    assert.equal(book.yieldOne([near]), null)
    assert.equal(near.stopped, false)
    const wide = request(0, 8 * MiB, 0)
    assert.ok(book.yieldOne([wide]))
    wide.stopped = false
    wide.segment.end = 8 * MiB
    assert.equal(book.yieldOne([wide]), null, 'a request is stopped once')
    assert.equal(wide.stopped, false)
  })

  it('forgets the missing ranges when the file starts over', () => {
    const book = new RangeBook()
    book.waitFor([{ start: 0, end: MiB, done: 0 }])
    book.clear()
    assert.equal(book.anyWaiting, false)
    assert.equal(book.next(), undefined)
  })
})
