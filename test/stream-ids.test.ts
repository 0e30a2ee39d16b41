// Stream ids (src/events/stream.ts): the order of a task's events, and the
// Last-Event-ID a reconnect may carry.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { compareIds, parse, parseLastEventId } from '../src/events/stream.js'

describe('stream ids', () => {
  it('orders by time, then by sequence, as numbers rather than text', () => {
    assert.ok(compareIds('2-0', '10-0') < 0)
    assert.ok(compareIds('5-10', '5-9') > 0)
    assert.equal(compareIds('7-3', '7-3'), 0)
    assert.ok(compareIds('7', '7-1') < 0, 'a bare time is its sequence 0')
    assert.deepEqual(['10-0', '9-5', '9-10', '0-0'].sort(compareIds), ['0-0', '9-5', '9-10', '10-0'])
  })

  it('takes as Last-Event-ID only an id of ours', () => {
    assert.equal(parseLastEventId('1700000000000-3'), '1700000000000-3')
    assert.equal(parseLastEventId([' 1-2 ', '3-4']), '1-2')
    for (const bad of [undefined, '', '0', '1-2-3', 'abc', '1-x', `${'9'.repeat(21)}-0`]) assert.equal(parseLastEventId(bad), null, String(bad))
  })

  it('reads an entry\'s event name and data whatever the field order', () => {
    assert.deepEqual(parse([['1-0', ['e', 'file', 'd', '{}']], ['1-1', ['d', '{"a":1}', 'e', 'end']], ['1-2', []]]), [
      { id: '1-0', event: 'file', data: '{}' },
      { id: '1-1', event: 'end', data: '{"a":1}' },
      { id: '1-2', event: 'message', data: '' },
    ])
  })
})
