// Which URLs a task may name (src/net/address-policy.ts) and which callback
// URLs (src/webhooks/callback-url.ts), decided before anything connects.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { addressRange, createAddressPolicy } from '../src/net/address-policy.js'
import { callbackCheckFor } from '../src/webhooks/callback-url.js'

describe('address policy', () => {
  const policy = createAddressPolicy({ allowedCidrs: [], allowedHosts: [] })

  it('refuses non-public literals in every spelling, and lets names through to connect time', () => {
    for (const url of [
      'http://127.0.0.1/x',
      'http://2130706433/x', // 127.0.0.1 in decimal
      'http://0x7f.1/x',
      'http://[::1]/x',
      'http://[::ffff:127.0.0.1]/x',
      'http://10.1.2.3/x',
      'http://169.254.169.254/latest/meta-data',
      'http://100.64.0.1/x',
      'http://[fd00::1]/x',
      'http://0.0.0.0/x',
    ]) {
      assert.match(policy.urlProblem(url) ?? '', /is not a public address/, url)
    }
    for (const url of ['https://example.com/a.jpg', 'http://93.184.216.34/', 'https://[2606:4700::1]/']) assert.equal(policy.urlProblem(url), null, url)
  })

  it('refuses what is not an http(s) URL with a host and no credentials', () => {
    assert.match(policy.urlProblem('not a url')!, /absolute http or https URL/)
    assert.match(policy.urlProblem('ftp://example.com/x')!, /http or https/)
    assert.match(policy.urlProblem('https://user:pw@example.com/x')!, /user name or password/)
  })

  it('exempts DOWNLOAD_ALLOWED_CIDRS and keeps to DOWNLOAD_ALLOWED_HOSTS', () => {
    const custom = createAddressPolicy({ allowedCidrs: ['10.0.0.0/8', '::1'], allowedHosts: ['*.example.com', 'cdn.test'] })
    assert.equal(custom.allowsAddress('10.9.8.7'), true)
    assert.equal(custom.allowsAddress('[::1]'), true)
    assert.equal(custom.allowsAddress('192.168.0.1'), false)
    assert.equal(custom.allowsAddress('not an ip'), false)
    assert.equal(custom.allowsHost('img.EXAMPLE.com.'), true)
    assert.equal(custom.allowsHost('example.com'), false, 'a wildcard covers subdomains only')
    assert.equal(custom.allowsHost('cdn.test'), true)
    assert.match(custom.urlProblem('https://other.org/x')!, /host other\.org is not in DOWNLOAD_ALLOWED_HOSTS/)
  })

  it('names the range of an address, IPv4-mapped IPv6 as IPv4', () => {
    assert.equal(addressRange('8.8.8.8'), 'unicast')
    assert.equal(addressRange('::ffff:10.0.0.1'), 'private')
    assert.equal(addressRange('[fe80::1]'), 'linkLocal')
  })
})

describe('callback_url check', () => {
  it('needs a WEBHOOK_SECRET', () => {
    assert.match(callbackCheckFor({ WEBHOOK_ALLOWED_CIDRS: [] })('https://example.com/hook')!, /WEBHOOK_SECRET/)
  })

  it('refuses credentials and non-public literals, in the callback\'s own words', () => {
    const check = callbackCheckFor({ WEBHOOK_SECRET: 's', WEBHOOK_ALLOWED_CIDRS: ['10.0.0.0/8'] })
    assert.equal(check('https://example.com/hook'), null)
    assert.equal(check('http://10.1.1.1/hook'), null, 'exempted by WEBHOOK_ALLOWED_CIDRS')
    assert.match(check('https://u:p@example.com/hook')!, /must not carry credentials/)
    const loopback = check('http://127.0.0.1/hook')!
    assert.match(loopback, /^callback_url: address 127\.0\.0\.1 is not a public address/)
    assert.match(loopback, /WEBHOOK_ALLOWED_CIDRS/)
    assert.doesNotMatch(loopback, /DOWNLOAD_ALLOWED_CIDRS/)
  })
})
