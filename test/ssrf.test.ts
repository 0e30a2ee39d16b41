// No request ever reaches a non-public address on a caller's behalf. A
// listener on the refused address counts connections: it must see none.
import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:net'
import type { AddressInfo } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { request } from 'undici'
import { Agent } from 'undici'
import { createAddressPolicy } from '../src/net/address-policy.js'
import { guardedConnector } from '../src/net/guarded-connector.js'
import { startOrigin, type Origin } from '../testkit/origin.js'
import { readReplies, withService, type InProcessService } from '../testkit/service.js'

async function listener(host: string): Promise<{ server: Server; port: number; connections: () => number }> {
  let count = 0
  const server = createServer((socket) => {
    count++
    socket.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nno')
  })
  await new Promise<void>((resolve) => server.listen(0, host, resolve))
  return { server, port: (server.address() as AddressInfo).port, connections: () => count }
}

describe('SSRF guard', () => {
  let env: Record<string, string>
  let svc: InProcessService
  let target: Awaited<ReturnType<typeof listener>>
  let target6: Awaited<ReturnType<typeof listener>>
  let origin: Origin

  const service = withService('ssrf', { DOWNLOAD_ALLOWED_CIDRS: '127.0.0.2/32', RETRY_MAX_ATTEMPTS: '1' })
  before(async () => {
    ;({ env, svc } = service)
    target = await listener('127.0.0.1')
    target6 = await listener('::1')
    // The origin sits on 127.0.0.2, the only loopback address exempted.
    origin = await startOrigin('127.0.0.2')
  })
  after(async () => {
    await origin.close()
    target.server.close()
    target6.server.close()
  })

  const post = (task_id: string, url: string) =>
    svc.app.inject({ method: 'POST', url: '/tasks', payload: { task_id, task_info: [{ fn: 'x', url }] } })

  it('refuses at submit every literal spelling of a non-public address', async () => {
    const p = target.port
    const spellings = [
      `http://127.0.0.1:${p}/x`, `http://2130706433:${p}/x`, `http://0x7f000001:${p}/x`, `http://017700000001:${p}/x`,
      `http://0x7f.0.0.1:${p}/x`, `http://127.1:${p}/x`, `http://0177.0.0.1:${p}/x`, `http://[::1]:${p}/x`,
      `http://[::ffff:127.0.0.1]:${p}/x`, `http://[::ffff:7f00:1]:${p}/x`, `http://[0:0:0:0:0:ffff:127.0.0.1]:${p}/x`,
      `http://0.0.0.0:${p}/x`, `http://0:${p}/x`, `http://[::]:${p}/x`,
      'http://169.254.169.254/latest/meta-data/', 'http://[fd00:ec2::254]/', 'http://10.0.0.1/', 'http://172.16.0.1/',
      'http://192.168.1.1/', 'http://100.64.0.1/', 'http://224.0.0.1/', 'http://255.255.255.255/', 'http://192.0.2.1/',
      'http://198.51.100.7/', 'http://203.0.113.9/', 'http://240.0.0.1/', 'http://[fe80::1]/', 'http://[fc00::1]/',
      'http://[ff02::1]/', 'http://[2001:db8::1]/', 'http://[64:ff9b::7f00:1]/', 'http://[2002:7f00:1::]/',
      'https://[::ffff:a9fe:a9fe]/',
    ]
    for (const [i, url] of spellings.entries()) {
      const res = await post(`lit${i}`, url)
      assert.equal(res.statusCode, 400, url)
      assert.equal(res.json().details[0].path, '/task_info/0/url', url)
      assert.match(res.json().details[0].message, /not a public address/, url)
    }
    for (const url of ['file:///etc/passwd', 'gopher://127.0.0.1/', 'ftp://example.com/a', 'javascript:alert(1)']) {
      assert.equal((await post('scheme', url)).statusCode, 400, url)
    }
    assert.equal(target.connections() + target6.connections(), 0)
  })

  it('refuses localhost at submit, in every spelling, naming DOWNLOAD_ALLOWED_CIDRS', async () => {
    const names = ['localhost', 'LOCALHOST', 'LocalHost.', 'a.localhost', 'deep.b.Localhost.']
    for (const [i, name] of names.entries()) {
      const res = await post(`byname${i}`, `http://${name}:${target.port}/x`)
      assert.equal(res.statusCode, 400, name)
      const [detail] = res.json().details
      assert.equal(detail.path, '/task_info/0/url')
      assert.match(detail.message, /is not a public address \(loopback\); an operator can allow it with DOWNLOAD_ALLOWED_CIDRS/)
    }
    // Names that only look alike are left to the connect-time check.
    assert.equal(createAddressPolicy({ allowedCidrs: [], allowedHosts: [] }).urlProblem('http://localhost.example.com/x'), null)
    assert.equal(createAddressPolicy({ allowedCidrs: [], allowedHosts: [] }).urlProblem('http://mylocalhost/x'), null)
    // Allowed when the operator allows loopback (either family), as a newcomer testing locally does.
    for (const cidr of ['127.0.0.0/8', '::1']) {
      assert.equal(createAddressPolicy({ allowedCidrs: [cidr], allowedHosts: [] }).urlProblem('http://localhost:8080/x'), null, cidr)
    }
    assert.equal(target.connections() + target6.connections(), 0)
  })

  it('checks every redirect hop', async () => {
    const hop = `${origin.base}/to?url=${encodeURIComponent(`http://127.0.0.1:${target.port}/secret`)}`
    const res = await post('redirect', hop)
    assert.equal(res.statusCode, 202)
    await readReplies(`${env.LEGACY_REPLY_PREFIX}_redirect`)
    const status = (await svc.app.inject({ method: 'GET', url: '/tasks/redirect' })).json()
    assert.equal(status.files[0].error, 'blocked_address')
    assert.equal(target.connections(), 0)
    assert.ok(origin.requests.some((r) => r.path === '/to'), 'the first hop was fetched')
  })

  it('connects to exactly the address it checked (no second resolution to rebind)', async () => {
    const policy = createAddressPolicy({ allowedCidrs: [], allowedHosts: [] })
    let lookups = 0
    const rebinding = (_host: string, _opts: unknown, cb: (err: null, a: { address: string; family: number }[]) => void) => {
      lookups++
      cb(null, [{ address: lookups === 1 ? '93.184.216.34' : '127.0.0.1', family: 4 }])
    }
    // Lookups that answer a private address, alone or among public ones, are refused.
    for (const answer of [[{ address: '127.0.0.1', family: 4 }], [{ address: '8.8.8.8', family: 4 }, { address: '10.0.0.1', family: 4 }]]) {
      const agent = new Agent({ connect: guardedConnector({ policy, timeoutMs: 1000, lookup: (_h, _o, cb) => cb(null, answer) }) })
      await assert.rejects(request(`http://rebind.test:${target.port}/`, { dispatcher: agent }), /non-public/)
      await agent.close()
    }
    // A policy that trusts loopback connects where the lookup said, once.
    const trusting = createAddressPolicy({ allowedCidrs: ['127.0.0.0/8', '93.184.216.34'], allowedHosts: [] })
    lookups = 1 // the next answer is 127.0.0.1
    const agent = new Agent({ connect: guardedConnector({ policy: trusting, timeoutMs: 1000, lookup: rebinding }) })
    const res = await request(`http://public.test:${target.port}/`, { dispatcher: agent })
    assert.equal(await res.body.text(), 'no')
    assert.equal(lookups, 2, 'one resolution per connection')
    assert.equal(target.connections(), 1)
    await agent.close()
  })
})

describe('DOWNLOAD_ALLOWED_HOSTS', () => {
  let svc: InProcessService
  const service = withService('hosts', { DOWNLOAD_ALLOWED_HOSTS: '*.aliyuncs.com,img.example.com' }, { inProcess: 'api' })
  before(() => ({ svc } = service))

  it('fetches only the listed hosts', async () => {
    const post = (url: string) => svc.app.inject({ method: 'POST', url: '/tasks', payload: { task_info: [{ fn: 'x', url }] } })
    for (const url of ['https://bucket.oss-cn-hangzhou.aliyuncs.com/a.jpg', 'https://IMG.example.com/b.png']) {
      assert.equal((await post(url)).statusCode, 202, url)
    }
    for (const url of ['https://aliyuncs.com.evil.com/a', 'https://evil.com/a', 'https://example.com/a', 'https://xaliyuncs.com/a']) {
      const res = await post(url)
      assert.equal(res.statusCode, 400, url)
      assert.match(res.json().details[0].message, /DOWNLOAD_ALLOWED_HOSTS/)
    }
  })
})
