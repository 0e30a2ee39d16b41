import assert from 'node:assert/strict'

/** The legacy reply-list protocol: start, then each fn exactly once (any order), then end. */
export function assertProtocol(replies: string[], fns: string[]): void {
  assert.equal(replies[0], 'start')
  assert.equal(replies.at(-1), 'end')
  assert.deepEqual(replies.slice(1, -1).sort(), [...fns].sort(), 'each fn exactly once')
}

