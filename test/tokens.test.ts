// Task tokens (src/http/token.ts): signed for one task, for a while, by a key
// every API process derives alike.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createTokenSigner, TokenError, tokenKey } from '../src/http/token.js'

const refusal = (fn: () => void) => {
  try {
    fn()
  } catch (err) {
    assert.ok(err instanceof TokenError)
    return { status: err.statusCode, code: err.code }
  }
  return null
}

describe('task tokens', () => {
  const signer = createTokenSigner(tokenKey('secret', []), 60)
  const now = Date.parse('2026-01-01T00:00:00Z')

  it('accepts a token for its task until it expires', () => {
    const token = signer.sign('t1', now)
    assert.equal(refusal(() => signer.verify(token, 't1', now + 59_000)), null)
    assert.deepEqual(refusal(() => signer.verify(token, 't1', now + 60_000)), { status: 401, code: 'token_expired' })
  })

  it('refuses another task\'s token with 403, and a forged or malformed one with 401', () => {
    const token = signer.sign('t1', now)
    assert.deepEqual(refusal(() => signer.verify(token, 't2', now)), { status: 403, code: 'token_wrong_task' })
    const other = createTokenSigner(tokenKey('another secret', []), 60).sign('t1', now)
    for (const bad of [other, `${token}x`, `${token}.extra`, token.split('.')[0]!, '', 'garbage', '.']) {
      assert.deepEqual(refusal(() => signer.verify(bad, 't1', now)), { status: 401, code: 'invalid_token' }, bad)
    }
  })

  it('derives the key from TOKEN_SECRET, else from API_KEYS in any order, else at random', () => {
    assert.deepEqual(tokenKey('s', ['a']), tokenKey('s', ['b']))
    assert.deepEqual(tokenKey(undefined, ['a', 'b']), tokenKey(undefined, ['b', 'a']))
    assert.notDeepEqual(tokenKey(undefined, ['a']), tokenKey('a', []))
    assert.notDeepEqual(tokenKey(undefined, []), tokenKey(undefined, []))
  })
})
