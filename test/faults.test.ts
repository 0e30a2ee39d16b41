// The fault suite: misbehaving origins, a full disk, Redis going away and
// coming back, SIGTERM mid-task. Each case asserts the correct outcome: no
// task lost, no file corrupt, each reply message exactly once.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { before, describe, it } from 'node:test'
import { Redis } from 'ioredis'
import { startEmbeddedRedis, type EmbeddedRedis } from '../src/redis/embedded.js'
import { fileBytes, sha256Hex } from '../testkit/file-bytes.js'
import type { Origin } from '../testkit/origin.js'
import { freePort } from '../testkit/free-port.js'
import { assertProtocol } from './helpers/protocol.js'
import { readReplies, waitFor, withService, type InProcessService, notInFastRun } from '../testkit/service.js'

const fns = (n: number, prefix = 'f') => Array.from({ length: n }, (_, i) => `${prefix}${i}.bin`)

describe('misbehaving origins', () => {
  const service = withService('origins', { DOWNLOAD_MIN_SPEED_BYTES: '5000', DOWNLOAD_MIN_SPEED_WINDOW_MS: '400', RETRY_MAX_ATTEMPTS: '3' })
  let env: Record<string, string>
  let svc: InProcessService
  let origin: Origin
  before(() => ({ env, svc, origin } = service))

  async function run(taskId: string, files: { fn: string; url: string; sha256?: string }[]) {
    const res = await svc.app.inject({ method: 'POST', url: '/tasks', payload: { task_id: taskId, task_info: files } })
    assert.equal(res.statusCode, 202, res.body)
    const replies = await readReplies(`${env.LEGACY_REPLY_PREFIX}_${taskId}`)
    assertProtocol(replies, files.map((f) => f.fn))
    return (await svc.app.inject({ method: 'GET', url: `/tasks/${taskId}` })).json()
  }
  const requestsFor = (name: string) => origin.requests.filter((r) => r.path === `/f/${name}`)

  it('resumes a transfer reset mid-body with Range + If-Range; the bytes equal the origin', async () => {
    const size = 1_000_000
    const expected = sha256Hex(fileBytes('resume-me', size))
    const status = await run('resume', [{ fn: 'r.bin', url: origin.url('resume-me', { size, reset: 400_000 }), sha256: expected }])
    assert.equal(status.files[0].state, 'done')
    const [first, second] = requestsFor('resume-me')
    assert.equal(first!.range, undefined)
    const offset = Number(/^bytes=(\d+)-$/.exec(second!.range ?? '')?.[1])
    assert.ok(offset > 0 && offset <= 400_000, `resumed at ${second!.range}`)
    assert.match(second!.ifRange ?? '', /^"[0-9a-f]+"$/)
    assert.equal(sha256Hex(await readFile(join(env.DOWNLOAD_DIR!, 'resume', 'r.bin'))), expected)
  })

  it('starts over from byte 0 when the ETag changed between attempts: never two versions spliced', async () => {
    const size = 600_000
    const status = await run('etag', [{ fn: 'v.bin', url: origin.url('versioned', { size, reset: 250_000, versions: 1 }) }])
    assert.equal(status.files[0].state, 'done')
    const [, second] = requestsFor('versioned')
    assert.ok(second!.range, 'asked to resume')
    const saved = await readFile(join(env.DOWNLOAD_DIR!, 'etag', 'v.bin'))
    assert.equal(sha256Hex(saved), sha256Hex(fileBytes('versioned#v2', size)), 'the whole of the second version')
  })

  it('starts over when the server ignores Range', async () => {
    const size = 500_000
    const status = await run('norange', [{ fn: 'n.bin', url: origin.url('norange', { size, reset: 200_000, norange: 1 }) }])
    assert.equal(status.files[0].state, 'done')
    assert.equal(sha256Hex(await readFile(join(env.DOWNLOAD_DIR!, 'norange', 'n.bin'))), sha256Hex(fileBytes('norange', size)))
  })

  it('cuts a slow-loris body by the minimum-speed rule; the other files are unaffected', async () => {
    const started = Date.now()
    const status = await run('loris', [
      { fn: 'slow.bin', url: origin.url('loris', { size: 100_000, rate: 200 }) },
      { fn: 'fine.bin', url: origin.url('fine', { size: 100_000 }) },
    ])
    assert.equal(status.files[0].state, 'failed')
    assert.equal(status.files[0].error, 'too_slow')
    assert.equal(status.files[0].attempts, 3)
    assert.equal(status.files[1].state, 'done')
    assert.ok(Date.now() - started < 5000, 'held for a few windows, not for the 500 s the body would take')
    assert.deepEqual(await readdir(join(env.DOWNLOAD_DIR!, 'loris')), ['fine.bin'])
  })
})

describe('disk full', () => {
  let mountPoint = ''
  let mounted = false
  const service = withService('diskfull', {}, {
    // A 1 MiB tmpfs is the download folder: the suite's service is started on it.
    setup: async () => {
      mountPoint = await mkdtemp(join(tmpdir(), 'batchdl-tmpfs-'))
      try {
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mountPoint], { stdio: 'pipe' })
        mounted = true
      } catch (err) {
        console.log(`# disk-full case skipped: cannot mount a 1 MiB tmpfs (${(err as Error).message.split('\n')[0]})`)
      }
      return {
        env: mounted ? { DOWNLOAD_DIR: mountPoint } : undefined,
        stop: async () => {
          if (mounted) execFileSync('umount', [mountPoint])
          await rm(mountPoint, { recursive: true, force: true })
        },
      }
    },
  })
  let env: Record<string, string>
  let svc: InProcessService
  let origin: Origin
  before(() => ({ env, svc, origin } = service))

  it('fails the file that does not fit with disk_full, removes its partial file, and goes on', async (t) => {
    if (!mounted) return t.skip('no tmpfs')
    const files = [
      { fn: 'huge.bin', url: origin.url('huge-enospc', { size: 3 * 1024 * 1024 }) },
      { fn: 'small.bin', url: origin.url('small-enospc', { size: 10_000 }) },
    ]
    await svc.app.inject({ method: 'POST', url: '/tasks', payload: { task_id: 'full', task_info: files } })
    assertProtocol(await readReplies(`${env.LEGACY_REPLY_PREFIX}_full`), ['huge.bin', 'small.bin'])
    const status = (await svc.app.inject({ method: 'GET', url: '/tasks/full' })).json()
    assert.equal(status.files[0].state, 'failed')
    assert.equal(status.files[0].error, 'disk_full')
    assert.equal(status.files[1].state, 'done')
    assert.deepEqual(await readdir(join(mountPoint, 'full')), ['small.bin'])
    assert.deepEqual(await readdir(join(mountPoint, '.partial')), [], 'no partial file left')

    // The worker is fine: the next task downloads.
    await svc.app.inject({ method: 'POST', url: '/tasks', payload: { task_id: 'after', task_info: [{ fn: 'a.bin', url: origin.url('after-enospc', { size: 1000 }) }] } })
    assertProtocol(await readReplies(`${env.LEGACY_REPLY_PREFIX}_after`), ['a.bin'])
  })
})

describe('Redis restarts and outages', { skip: notInFastRun }, () => {
  let dataDir: string
  let port: number
  let redisServer: EmbeddedRedis | null = null
  // A Redis of the suite's own, with an append-only file, that the test stops and starts again.
  const service = withService('redisfault', { JOB_LOCK_MS: '2000', MAX_CONNECTIONS_PER_TASK: '3' }, {
    inProcess: false,
    setup: async () => {
      dataDir = await mkdtemp(join(tmpdir(), 'batchdl-aof-'))
      port = await freePort()
      redisServer = await startEmbeddedRedis(dataDir, port)
      return {
        env: { REDIS_URL: redisServer.url },
        stop: async () => {
          await redisServer?.stop()
          await rm(dataDir, { recursive: true, force: true })
        },
      }
    },
  })
  let env: Record<string, string>
  let origin: Origin
  before(() => ({ env, origin } = service))

  it('finishes a task across a Redis restart and an outage longer than the job lock', async () => {
    const api = await service.spawn('api')
    await service.spawn('worker')
    const size = 150_000
    const task_info = fns(9).map((fn, i) => ({ fn, url: origin.url(`rf-${i}`, { size, rate: 150_000 }) }))
    const res = await fetch(`${api.address}/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ task_id: 'rr', task_info }) })
    assert.equal(res.status, 202)
    const status = async () => (await (await fetch(`${api.address}/tasks/rr`)).json()) as { state: string; totals: { done: number } }
    await waitFor(async () => ((await status()).totals.done >= 2 ? true : undefined), 20_000, 'two files done')

    // Redis stops (flushing its append-only file) for longer than the job lock.
    await redisServer!.stop()
    const during = await fetch(`${api.address}/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ task_info: [{ fn: 'x', url: origin.url('x') }] }) })
    assert.equal(during.status, 503)
    assert.equal((await fetch(`${api.address}/health/ready`)).status, 503)
    await new Promise((r) => setTimeout(r, 4000))
    redisServer = await startEmbeddedRedis(dataDir, port)

    const replies = await readReplies(`${env.LEGACY_REPLY_PREFIX}_rr`, 60_000, redisServer.url)
    assertProtocol(replies, task_info.map((f) => f.fn))
    assert.equal((await status()).state, 'completed')
    for (const [i, f] of task_info.entries()) {
      assert.deepEqual(await readFile(join(env.DOWNLOAD_DIR!, 'rr', f.fn)), fileBytes(`rf-${i}`, size), f.fn)
    }
    assert.equal((await fetch(`${api.address}/health/ready`)).status, 200)
  })

  it('warns loudly at start when Redis may evict keys', async () => {
    const redis = new Redis(redisServer!.url)
    await redis.config('SET', 'maxmemory-policy', 'allkeys-lru')
    try {
      const api = await service.spawn('api')
      await waitFor(async () => (api.logs.some((l) => l.includes('maxmemory-policy is allkeys-lru')) ? true : undefined), 5000, 'the warning')
    } finally {
      await redis.config('SET', 'maxmemory-policy', 'noeviction')
      redis.disconnect()
    }
  })
})

describe('SIGTERM', { skip: notInFastRun }, () => {
  // A lock of 60 s: the task can only finish in time if the stopping worker hands it back.
  const service = withService('sigterm', { JOB_LOCK_MS: '60000', SHUTDOWN_GRACE_MS: '300', MAX_CONNECTIONS_PER_TASK: '4' }, { inProcess: false })

  it('hands running tasks back within the grace period; another worker resumes them', async () => {
    const { env, origin } = service
    const api = await service.spawn('api')
    const first = await service.spawn('worker')
    const size = 400_000
    const task_info = fns(6).map((fn, i) => ({ fn, url: origin.url(`term-${i}`, { size, rate: 400_000 }) }))
    await fetch(`${api.address}/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ task_id: 'term', task_info }) })
    const replies = readReplies(`${env.LEGACY_REPLY_PREFIX}_term`, 30_000)
    await waitFor(async () => {
      const s = (await (await fetch(`${api.address}/tasks/term`)).json()) as { files: { bytes: number }[] }
      return s.files.some((f) => f.bytes > 50_000) ? true : undefined
    }, 10_000, 'bytes moving')

    const asked = Date.now()
    assert.equal(await first.stop('SIGTERM'), 0, 'exits cleanly')
    assert.ok(Date.now() - asked < 5000, `stopped in ${Date.now() - asked} ms`)
    const started = Date.now()
    await service.spawn('worker')
    assertProtocol(await replies, task_info.map((f) => f.fn))
    assert.ok(Date.now() - started < 20_000, 'resumed at once, not after the 60 s lock')
    for (const [i, f] of task_info.entries()) {
      assert.deepEqual(await readFile(join(env.DOWNLOAD_DIR!, 'term', f.fn)), fileBytes(`term-${i}`, size), f.fn)
    }
    assert.ok(origin.requests.some((r) => r.path.startsWith('/f/term-') && r.range), 'checkpointed transfers were resumed with Range')
  })
})
