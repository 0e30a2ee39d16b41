import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { describe, it } from 'node:test'
import { renderConfigDoc } from '../src/config-doc.js'
import { ConfigError, loadConfig } from '../src/config.js'
import { credentialsOf } from '../src/redis/connection.js'

describe('configuration', () => {
  it('has the documented defaults', () => {
    const c = loadConfig({})
    assert.equal(c.ROLE, 'all')
    assert.equal(c.PORT, 3000)
    assert.equal(c.HOST, '127.0.0.1')
    assert.equal(c.REDIS_URL, undefined)
    assert.equal(c.DOWNLOAD_DIR, './downloads')
    assert.equal(c.QUEUE_PREFIX, 'bdl')
    assert.equal(c.MAX_CONCURRENT_TASKS, 100)
    assert.equal(c.MAX_CONNECTIONS_PER_TASK, 20)
    assert.equal(c.MAX_CONCURRENT_DOWNLOADS, 100)
    assert.equal(c.MAX_CONNECTIONS_PER_HOST, 16)
    assert.equal(c.MAX_FILES_PER_TASK, 10000)
    assert.deepEqual(c.API_KEYS, [])
    assert.equal(c.LEGACY_TASK_QUEUE, '')
    assert.equal(c.LEGACY_REPLY_PREFIX, 'batch_download_resp')
    assert.equal(c.REPLY_TTL_SECONDS, 86400)
    assert.equal(c.LOG_LEVEL, 'info')
  })

  it('converts numbers and splits lists', () => {
    const c = loadConfig({ PORT: '8080', API_KEYS: ' k1, k2 ,', MAX_CONCURRENT_TASKS: '2', HOST: '0.0.0.0' })
    assert.equal(c.PORT, 8080)
    assert.equal(c.MAX_CONCURRENT_TASKS, 2)
    assert.deepEqual(c.API_KEYS, ['k1', 'k2'])
  })

  it('names the variable of a bad value', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ PORT: 'abc' }, /^PORT /],
      [{ PORT: '70000' }, /^PORT /],
      [{ ROLE: 'boss' }, /^ROLE .*all, api, worker/],
      [{ MAX_CONCURRENT_TASKS: '0' }, /^MAX_CONCURRENT_TASKS /],
      [{ REDIS_URL: 'http://x' }, /^REDIS_URL /],
      [{ LOG_LEVEL: 'loud' }, /^LOG_LEVEL /],
    ]
    for (const [env, message] of cases) {
      assert.throws(() => loadConfig(env), (err: Error) => err instanceof ConfigError && message.test(err.message))
    }
  })

  it('takes one Redis mode at a time, each with what it needs', () => {
    const sentinel = loadConfig({ REDIS_SENTINELS: 'a:26379, [::1]:26380', REDIS_SENTINEL_MASTER: 'mymaster' })
    assert.deepEqual(sentinel.REDIS_SENTINELS, ['a:26379', '[::1]:26380'])
    assert.deepEqual(loadConfig({ REDIS_CLUSTER_NODES: 'n1:7000,n2:7001' }).REDIS_CLUSTER_NODES, ['n1:7000', 'n2:7001'])
    assert.equal(loadConfig({}).REDIS_REPLICA_ACKS, 0)
    const cases: [Record<string, string>, RegExp][] = [
      [{ REDIS_SENTINELS: 'a:1' }, /^REDIS_SENTINEL_MASTER is empty/],
      [{ REDIS_SENTINEL_MASTER: 'm' }, /^REDIS_SENTINELS is empty/],
      [{ REDIS_SENTINELS: 'a:1', REDIS_SENTINEL_MASTER: 'm', REDIS_CLUSTER_NODES: 'b:2' }, /both set/],
      [{ REDIS_CLUSTER_NODES: 'n1:7000,n2' }, /^REDIS_CLUSTER_NODES has "n2", which is not host:port/],
      [{ REDIS_REPLICA_ACKS: '-1' }, /^REDIS_REPLICA_ACKS /],
    ]
    for (const [env, message] of cases) {
      assert.throws(() => loadConfig(env), (err: Error) => err instanceof ConfigError && message.test(err.message))
    }
  })

  it('takes credentials, TLS and the database from REDIS_URL for every mode', () => {
    assert.deepEqual(credentialsOf('rediss://app:p%40ss@h:6380/2'), { username: 'app', password: 'p@ss', db: 2, tls: {} })
    assert.deepEqual(credentialsOf('redis://:secret@h'), { password: 'secret' })
    assert.deepEqual(credentialsOf('redis://h:6379'), {})
  })

  it('refuses a non-loopback HOST without API_KEYS', () => {
    assert.throws(() => loadConfig({ HOST: '0.0.0.0' }), /HOST 0\.0\.0\.0 .*API_KEYS/)
    assert.equal(loadConfig({ HOST: '::1' }).HOST, '::1')
    assert.equal(loadConfig({ HOST: 'localhost' }).HOST, 'localhost')
  })

  it('is documented by docs/configuration.md as the schema says', async () => {
    const committed = await readFile(new URL('../docs/configuration.md', import.meta.url), 'utf8')
    assert.equal(committed, renderConfigDoc(), 'docs/configuration.md is stale: run npm run docs')
  })
})
