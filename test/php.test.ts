// The PHP client package (clients/php) with real php-cli against a live
// service: the migration path (POST then BRPOP or poll, the seed's LPUSH onto
// the legacy list, the zip opened by ZipArchive and unzip -t), the package's
// own tests, a webhook received and verified by PHP, and the zip streamed by
// a PHP page.
import assert from 'node:assert/strict'
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { after, before, describe, it } from 'node:test'
import { Redis } from 'ioredis'
import { legacyKeys } from '../src/legacy/intake.js'
import { fileBytes, sha256Hex } from '../testkit/file-bytes.js'
import type { Origin } from '../testkit/origin.js'
import { notInFastRun, readReplies, REDIS_URL, waitFor, withService, type ChildService } from '../testkit/service.js'

const run = promisify(execFile)
const PACKAGE = 'clients/php'
const WEBHOOK_SECRET = 'php-webhook-secret-0123456789'

/** A server on loopback that answers what `handle` says; its base URL. */
async function listen(handle: Parameters<typeof createServer>[1]): Promise<{ server: Server; base: string }> {
  const server = createServer(handle)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }
}

/** `php -S` serving clients/php/tests/server.php, once it answers. */
async function startPhpServer(env: Record<string, string>): Promise<{ child: ChildProcess; base: string }> {
  const { server, base } = await listen(() => {})
  server.close()
  await once(server, 'close')
  const child = spawn('php', ['-S', base.replace('http://', ''), `${PACKAGE}/tests/server.php`], { env: { ...process.env, ...env }, stdio: 'ignore' })
  await waitFor(() => fetch(`${base}/ready`).then(() => true, () => undefined), 10_000, 'php -S answering')
  return { child, base }
}

function phpProblem(): string | false {
  try {
    const modules = execFileSync('php', ['-m'], { encoding: 'utf8' }).toLowerCase().split('\n')
    const missing = ['curl', 'redis', 'zip'].filter((m) => !modules.includes(m))
    return missing.length ? `PHP lacks ${missing.join(', ')} (apt-get install -y php-cli php-redis php-curl php-zip)` : false
  } catch {
    return 'php is not installed (apt-get install -y php-cli php-redis php-curl php-zip)'
  }
}

describe('PHP client', { skip: notInFastRun || phpProblem() }, () => {
  const fixture = withService('php', {
    WEBHOOK_SECRET,
    WEBHOOK_ALLOWED_CIDRS: '127.0.0.0/8',
    WEBHOOK_RETRY_BASE_MS: '100',
    WEBHOOK_POLL_MS: '50',
  }, { inProcess: false })
  let env: Record<string, string>
  let origin: Origin
  let service: ChildService
  let work: string
  let redis: Redis
  const legacyQueue = () => env.LEGACY_TASK_QUEUE!

  before(async () => {
    origin = fixture.origin
    // The legacy list under the suite's prefix: removed with its keys.
    env = { ...fixture.env, LEGACY_TASK_QUEUE: `${fixture.env.QUEUE_PREFIX}:batch_download_tasks` }
    service = await fixture.spawn('all', { LEGACY_TASK_QUEUE: env.LEGACY_TASK_QUEUE! })
    work = await mkdtemp(join(tmpdir(), 'batchdl-php-'))
    redis = new Redis(REDIS_URL)
  })
  after(async () => {
    redis?.disconnect()
    if (work) await rm(work, { recursive: true, force: true })
  })

  async function php(mode: string, taskId: string, files: { fn: string; url: string }[]) {
    const filesJson = join(work, `${taskId}.json`)
    const zip = join(work, `${taskId}.zip`)
    await writeFile(filesJson, JSON.stringify(files))
    const redisUrl = new URL(REDIS_URL)
    const { stdout } = await run('php', [`${PACKAGE}/examples/example.php`, mode, service.address!, taskId, filesJson, zip], {
      env: { ...process.env, REDIS_HOST: redisUrl.hostname, REDIS_PORT: redisUrl.port || '6379', REPLY_PREFIX: env.LEGACY_REPLY_PREFIX, LEGACY_QUEUE: legacyQueue() },
    })
    return { summary: JSON.parse(stdout) as { messages?: string[]; state: string; final?: string; entries: Record<string, string>; archive_bytes: number }, zip }
  }

  it('POSTs 100 files, reads the reply list, and gets a zip every entry of which is byte-identical', async () => {
    const files = Array.from({ length: 100 }, (_, i) => ({ fn: `img${String(i).padStart(3, '0')}`, url: origin.url(`php-${i}.jpg`, { size: 10_000 + i }) }))
    const { summary, zip } = await php('post', 'phpbatch', files)
    assert.equal(summary.messages![0], 'start')
    assert.equal(summary.messages!.at(-1), 'end')
    assert.deepEqual(summary.messages!.slice(1, -1).sort(), files.map((f) => f.fn).sort())
    assert.equal(summary.state, 'completed')
    assert.equal(Object.keys(summary.entries).length, 100)
    for (const [i, f] of files.entries()) {
      assert.equal(summary.entries[`${f.fn}.jpg`], sha256Hex(fileBytes(`php-${i}.jpg`, 10_000 + i)), f.fn)
    }
    const { stdout } = await run('unzip', ['-t', zip])
    assert.match(stdout, /No errors detected/)
  })

  it('polls GET /tasks/:id until the end', async () => {
    const files = [{ fn: 'a.bin', url: origin.url('php-poll', { size: 50_000, rate: 200_000 }) }]
    const { summary } = await php('poll', 'phppoll', files)
    assert.equal(summary.final, 'completed')
    assert.equal(Object.keys(summary.entries).length, 1)
  })

  it("takes the seed's exact payload LPUSHed by phpredis onto the legacy list", async () => {
    const files = [
      { fn: 'cat', url: origin.url('legacy-cat.jpg', { size: 2000 }) },
      { fn: 'dog', url: origin.url('legacy-dog.png', { size: 3000 }) },
    ]
    const { summary } = await php('legacy', 'phplegacy', files)
    assert.deepEqual(summary.messages![0], 'start')
    assert.deepEqual(summary.messages!.slice(1, -1).sort(), ['cat', 'dog'])
    assert.equal(summary.messages!.at(-1), 'end')
    assert.deepEqual(Object.keys(summary.entries).sort(), ['cat.jpg', 'dog.png'])
    assert.equal(await redis.llen(legacyKeys(env.QUEUE_PREFIX!, env.LEGACY_TASK_QUEUE!).processing), 0)
  })

  it('keeps invalid legacy messages in the dead-letter list; one with a task_id gets start and end', async () => {
    const dead = legacyKeys(env.QUEUE_PREFIX!, env.LEGACY_TASK_QUEUE!).dead
    const before = await redis.llen(dead)
    await redis.lpush(legacyQueue(), 'not json', JSON.stringify({ task_info: [{ fn: 'a', url: origin.url('x') }] }))
    await redis.lpush(legacyQueue(), JSON.stringify({ task_id: 'badname', task_info: [{ fn: '../../etc/passwd', url: origin.url('x') }] }))
    assert.deepEqual(await readReplies(`${env.LEGACY_REPLY_PREFIX}_badname`, 10_000), ['start', 'end'])
    const entries = await waitFor(async () => {
      const list = await redis.lrange(dead, 0, -1)
      return list.length - before >= 3 ? list.slice(0, 3).map((e) => JSON.parse(e) as { reason: string; message: string }) : undefined
    }, 10_000, 'three dead letters')
    const reasons = entries.map((e) => e.reason).join(' | ')
    assert.match(reasons, /not JSON/)
    assert.match(reasons, /no task_id/)
    assert.match(reasons, /\/task_info\/0\/fn/)
    assert.equal((await fetch(`${service.address}/tasks/badname`)).status, 404, 'nothing was queued')
  })

  it("passes the package's own tests (php tests/run.php) against the live service", async () => {
    // A server that never answers (the timeouts), and one answering GET /tasks as the SPEC says (list).
    const silent = await listen(() => {})
    const list = await listen((req, res) => {
      const seen = { query: (req.url ?? '').split('?')[1] ?? '', content_type: req.headers['content-type'] ?? null }
      const task = { task_id: 't1', state: 'running', priority: 'normal', created_at: new Date().toISOString(), started_at: null, finished_at: null }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ tasks: [task], next_cursor: 'c2', seen }))
    })
    const redisUrl = new URL(REDIS_URL)
    try {
      const { stdout } = await run('php', [`${PACKAGE}/tests/run.php`], {
        env: {
          ...process.env,
          BATCHDL_URL: service.address!,
          ORIGIN_URL: origin.base,
          REDIS_HOST: redisUrl.hostname,
          REDIS_PORT: redisUrl.port || '6379',
          REPLY_PREFIX: env.LEGACY_REPLY_PREFIX,
          SILENT_URL: silent.base,
          LIST_URL: list.base,
        },
      }).catch((err: { stdout?: string }) => assert.fail(`php tests/run.php failed:\n${err.stdout ?? String(err)}`))
      const lines = stdout.trim().split('\n')
      assert.deepEqual(lines.filter((l) => !l.startsWith('ok - ')), [])
      assert.equal(lines.length, 13, stdout)
    } finally {
      silent.server.closeAllConnections()
      silent.server.close()
      list.server.close()
    }
  })

  describe('a PHP backend page (php -S)', () => {
    let page: { child: ChildProcess; base: string }
    const hookLog = () => join(work, 'hooks.jsonl')

    before(async () => {
      page = await startPhpServer({ BATCHDL_URL: service.address!, WEBHOOK_SECRET, HOOK_LOG: hookLog() })
    })
    after(() => {
      page.child.kill()
    })

    const submit = (body: Record<string, unknown>) =>
      fetch(`${service.address}/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })

    it('receives the webhook and verifies its signature with Webhook::verify', async () => {
      const res = await submit({ task_id: 'phphook', callback_url: `${page.base}/hook`, task_info: [{ fn: 'a.bin', url: origin.url('php-hook.bin') }] })
      assert.equal(res.status, 202)
      const status = await waitFor(async () => {
        const s = (await (await fetch(`${service.address}/tasks/phphook`)).json()) as { webhook?: { state: string; delivery_id: string; http_status: number } }
        return s.webhook?.state === 'delivered' ? s.webhook : undefined
      }, 15_000, 'the webhook delivered to PHP')
      assert.equal(status.http_status, 204, 'PHP answered 204: the signature verified')
      const logged = (await readFile(hookLog(), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { delivery: string; verified: boolean; event: { task_id: string; state: string } })
      assert.deepEqual(logged, [{ delivery: status.delivery_id, verified: true, event: logged[0]!.event }])
      assert.equal(logged[0]!.event.task_id, 'phphook')
      assert.equal(logged[0]!.event.state, 'completed')
    })

    it('streams the zip to the browser, and answers an unfinished task with an error, not a broken zip', async () => {
      await submit({ task_id: 'phpslowzip', task_info: [{ fn: 'slow.bin', url: origin.url('php-slowzip.bin', { size: 300_000, rate: 100_000 }) }] })
      const early = await fetch(`${page.base}/download?task=phpslowzip`)
      assert.equal(early.status, 409)
      assert.match(early.headers.get('content-type') ?? '', /application\/json/)
      assert.equal(((await early.json()) as { error: string }).error, 'task_not_finished')

      await readReplies(`${env.LEGACY_REPLY_PREFIX}_phpslowzip`, 20_000)
      const zip = await fetch(`${page.base}/download?task=phpslowzip`)
      assert.equal(zip.status, 200)
      assert.equal(zip.headers.get('content-type'), 'application/zip')
      assert.match(zip.headers.get('content-disposition') ?? '', /filename="phpslowzip\.zip"/)
      const path = join(work, 'page.zip')
      await writeFile(path, Buffer.from(await zip.arrayBuffer()))
      const { stdout } = await run('unzip', ['-t', path])
      assert.match(stdout, /slow\.bin\s+OK/)

      const missing = await fetch(`${page.base}/download?task=phpnothing`)
      assert.equal(missing.status, 404)
    })
  })
})

describe('legacy intake crash', { skip: notInFastRun }, () => {
  const fixture = withService('legacycrash', {}, { inProcess: false })
  let env: Record<string, string>
  let origin: Origin
  let redis: Redis

  before(() => {
    origin = fixture.origin
    // The legacy list under the suite's prefix: removed with its keys.
    env = { ...fixture.env, LEGACY_TASK_QUEUE: `${fixture.env.QUEUE_PREFIX}:batch_download_tasks` }
    redis = new Redis(REDIS_URL)
  })
  after(() => redis?.disconnect())

  it('runs once, at the next start, a message a process took and was killed before handling', async () => {
    // What a process killed between taking a message (BLMOVE, one atomic step)
    // and handling it leaves behind: the message in its processing list only.
    const files = [{ fn: 'one', url: origin.url('lc-1.bin', { size: 5000 }) }, { fn: 'two', url: origin.url('lc-2.bin', { size: 5000 }) }]
    const { processing } = legacyKeys(env.QUEUE_PREFIX!, env.LEGACY_TASK_QUEUE!)
    await redis.lpush(processing, JSON.stringify({ task_id: 'taken', task_info: files }))

    await fixture.spawn('all', { LEGACY_TASK_QUEUE: env.LEGACY_TASK_QUEUE! })
    const replies = await readReplies(`${env.LEGACY_REPLY_PREFIX}_taken`)
    assert.deepEqual([replies[0], ...replies.slice(1, -1).sort(), replies.at(-1)], ['start', 'one', 'two', 'end'])
    assert.equal(await redis.llen(processing), 0)
    assert.equal(origin.hits('lc-1.bin'), 1, 'downloaded once')
  })
})
