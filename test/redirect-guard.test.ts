// The redirect guard's own handling of credentials, hop by hop: undici's
// redirect interceptor drops them too, and this keeps them dropped should it
// ever stop (test/request-headers.test.ts checks the whole path end to end).
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { Dispatcher } from 'undici'
import { redirectGuard, withoutCredentials } from '../src/download/redirect-guard.js'

describe('redirect guard', () => {
  it('sends credentials on the first origin only, never again once a hop left it', () => {
    const seen: unknown[] = []
    const dispatch = redirectGuard()(((opts: Dispatcher.DispatchOptions) => {
      seen.push(opts.headers)
      return true
    }) as Dispatcher['dispatch'])
    // The redirect interceptor's handler is one object for every hop of a download.
    const handler = {} as Dispatcher.DispatchHandler
    const headers = { authorization: 'Bearer x', cookie: 'c=1', referer: 'https://site.example/' }
    for (const [origin, path] of [
      ['http://a.example', '/one'],
      ['http://a.example', '/two'],
      ['http://b.example:8080', '/three'],
      ['http://a.example', '/four'],
    ] as const) {
      dispatch({ origin, path, method: 'GET', headers }, handler)
    }
    assert.deepEqual(seen, [headers, headers, { referer: headers.referer }, { referer: headers.referer }])
  })

  it('cuts them from every form of headers undici takes, whatever their case', () => {
    assert.deepEqual(withoutCredentials({ Authorization: 'a', COOKIE: 'c', 'Proxy-Authorization': 'p', accept: '*/*' }), { accept: '*/*' })
    assert.deepEqual(withoutCredentials(['Authorization', 'a', 'accept', '*/*', 'cookie', 'c']), ['accept', '*/*'])
    assert.deepEqual(withoutCredentials([['cookie', 'c'], ['x-a', '1']] as unknown as string[]), [['x-a', '1']])
    assert.equal(withoutCredentials(undefined), undefined)
  })
})
