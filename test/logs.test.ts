// Secrets never reach the logs: API keys, URL query strings (object-store
// signatures), credentials in URLs.
import assert from 'node:assert/strict'
import { before, describe, it } from 'node:test'
import { captureLogs } from './helpers/logs.js'
import { type Origin } from '../testkit/origin.js'
import { readReplies, withService, type InProcessService } from '../testkit/service.js'

describe('logs', () => {
  let env: Record<string, string>
  let svc: InProcessService
  let origin: Origin
  let lines: string[] = []

  const captured = captureLogs('trace')
  const service = withService('logs', { API_KEYS: 'sekret-key-1234', LOG_LEVEL: 'trace', RETRY_MAX_ATTEMPTS: '2' }, { log: captured.log })
  before(() => {
    ;({ env, svc, origin } = service)
    lines = captured.lines
  })

  it('never shows keys, signatures or credentials', async () => {
    const auth = { authorization: 'Bearer sekret-key-1234' }
    const signed = (name: string, params: Record<string, string | number>) =>
      origin.url(name, { ...params, 'OSSAccessKeyId': 'AKIDsecret', Signature: 'SIGsecret' })
    const res = await svc.app.inject({
      method: 'POST',
      url: '/tasks?token=TOKsecret',
      headers: auth,
      payload: { task_id: 'logged', task_info: [{ fn: 'ok', url: signed('ok', { size: 10 }) }, { fn: 'bad', url: signed('bad', { status: 500 }) }] },
    })
    assert.equal(res.statusCode, 202)
    // A URL with credentials is refused; neither the refusal nor its log shows them.
    const withCredentials = await svc.app.inject({
      method: 'POST',
      url: '/tasks',
      headers: auth,
      payload: { task_info: [{ fn: 'c', url: signed('c', {}).replace('http://', 'http://user:PASSsecret@') }] },
    })
    assert.equal(withCredentials.statusCode, 400)
    assert.ok(!withCredentials.body.includes('PASSsecret'))
    await readReplies(`${env.LEGACY_REPLY_PREFIX}_logged`)
    await svc.app.inject({ method: 'GET', url: '/tasks/logged?token=TOKsecret', headers: auth })

    const all = lines.join('\n')
    type Line = { msg: string; req?: { method: string; url: string }; res?: { statusCode: number }; responseTime?: number }
    const completed = lines.map((l) => JSON.parse(l) as Line).filter((l) => l.msg === 'request completed')
    const submit = completed.find((l) => l.req?.method === 'POST')
    assert.ok(submit, 'the submit is logged when it completes')
    assert.equal(submit.req!.url, '/tasks', 'with its URL, query cut')
    assert.equal(submit.res?.statusCode, 202)
    assert.equal(typeof submit.responseTime, 'number')
    assert.equal(lines.filter((l) => l.includes('"incoming request"')).length, completed.length, 'at debug level, the arrival too')
    assert.ok(lines.some((l) => l.includes('"file failed"')), 'the failed file was logged')
    assert.ok(all.includes('/f/bad'), 'with its URL path')
    for (const secret of ['sekret-key-1234', 'SIGsecret', 'AKIDsecret', 'PASSsecret', 'TOKsecret']) {
      assert.ok(!all.includes(secret), `${secret} leaked into the logs`)
    }
  })
})
