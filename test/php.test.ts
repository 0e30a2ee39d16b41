// The PHP migration path with a real PHP client (examples/php): POST then
// BRPOP or poll, the seed's LPUSH onto the legacy list, the zip archive opened
// by ZipArchive and unzip -t.
import assert from 'node:assert/strict'
import { execFile, execFileSync } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { after, before, describe, it } from 'node:test'
import { Redis } from 'ioredis'
import { legacyKeys } from '../src/legacy/intake.js'
import { fileBytes, sha256Hex, startOrigin, type Origin } from './helpers/origin.js'
import { cleanEnv, readReplies, REDIS_URL, spawnService, testEnv, waitFor, type ChildService } from './helpers/service.js'

const run = promisify(execFile)

function phpProblem(): string | false {
  try {
    const modules = execFileSync('php', ['-m'], { encoding: 'utf8' }).toLowerCase().split('\n')
    const missing = ['curl', 'redis', 'zip'].filter((m) => !modules.includes(m))
    return missing.length ? `PHP lacks ${missing.join(', ')} (apt-get install -y php-cli php-redis php-curl php-zip)` : false
  } catch {
    return 'php is not installed (apt-get install -y php-cli php-redis php-curl php-zip)'
  }
}

describe('PHP client', { skip: phpProblem() }, () => {
  let env: Record<string, string>
  let origin: Origin
  let service: ChildService
  let work: string
  let redis: Redis
  const legacyQueue = () => `${env.QUEUE_PREFIX}:batch_download_tasks`

  before(async () => {
    origin = await startOrigin()
    env = await testEnv('php', { PORT: '0' })
    env.LEGACY_TASK_QUEUE = legacyQueue()
    service = await spawnService({ ...env, ROLE: 'all' })
    work = await mkdtemp(join(tmpdir(), 'batchdl-php-'))
    redis = new Redis(REDIS_URL)
  })
  after(async () => {
    await service?.stop()
    redis.disconnect()
    await origin.close()
    await rm(work, { recursive: true, force: true })
    await redis.del(legacyQueue()).catch(() => 0)
    await cleanEnv(env)
  })

  async function php(mode: string, taskId: string, files: { fn: string; url: string }[]) {
    const filesJson = join(work, `${taskId}.json`)
    const zip = join(work, `${taskId}.zip`)
    await writeFile(filesJson, JSON.stringify(files))
    const redisUrl = new URL(REDIS_URL)
    const { stdout } = await run('php', ['examples/php/example.php', mode, service.address!, taskId, filesJson, zip], {
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
})

describe('legacy intake crash', () => {
  let env: Record<string, string>
  let origin: Origin
  const children: ChildService[] = []
  let redis: Redis

  before(async () => {
    origin = await startOrigin()
    env = await testEnv('legacycrash', { PORT: '0' })
    env.LEGACY_TASK_QUEUE = `${env.QUEUE_PREFIX}:batch_download_tasks`
    redis = new Redis(REDIS_URL)
  })
  after(async () => {
    for (const c of children) await c.stop('SIGKILL')
    await redis.del(env.LEGACY_TASK_QUEUE!)
    redis.disconnect()
    await origin.close()
    await cleanEnv(env)
  })

  it('loses no message taken right before a SIGKILL, and runs it once', async () => {
    const first = await spawnService({ ...env, ROLE: 'all', LEGACY_INTAKE_TEST_DELAY_MS: '5000' })
    children.push(first)
    const files = [{ fn: 'one', url: origin.url('lc-1.bin', { size: 5000 }) }, { fn: 'two', url: origin.url('lc-2.bin', { size: 5000 }) }]
    await redis.lpush(env.LEGACY_TASK_QUEUE!, JSON.stringify({ task_id: 'taken', task_info: files }))
    const { processing } = legacyKeys(env.QUEUE_PREFIX!, env.LEGACY_TASK_QUEUE!)
    await waitFor(async () => ((await redis.llen(processing)) === 1 ? true : undefined), 10_000, 'the message taken')
    assert.equal(await redis.llen(env.LEGACY_TASK_QUEUE!), 0)
    await first.stop('SIGKILL')

    children.push(await spawnService({ ...env, ROLE: 'all' }))
    const replies = await readReplies(`${env.LEGACY_REPLY_PREFIX}_taken`)
    assert.deepEqual([replies[0], ...replies.slice(1, -1).sort(), replies.at(-1)], ['start', 'one', 'two', 'end'])
    assert.equal(await redis.llen(processing), 0)
    assert.equal(origin.hits('lc-1.bin'), 1, 'downloaded once')
  })
})
