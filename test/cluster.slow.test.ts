// Cluster mode: three masters started here, the real program (ROLE=all, with
// the legacy intake) pointed at them by REDIS_CLUSTER_NODES. The core paths
// end to end: submit, download, the reply list read by PHP's RedisCluster
// client (ioredis's when php-redis is missing), events, cancel, retry,
// archive, and a seed message LPUSHed onto the legacy list.
import assert from 'node:assert/strict'
import { execFile, execFileSync } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { before, describe, it } from 'node:test'
import { Cluster } from 'ioredis'
import { taskKeys } from '../src/tasks/keys.js'
import { fileBytes } from '../testkit/file-bytes.js'
import type { Origin } from '../testkit/origin.js'
import { startCluster, type RedisCluster } from '../testkit/redis-cluster.js'
import { follow } from './helpers/sse.js'
import { readReplies, waitFor, withService, type ChildService } from '../testkit/service.js'

const run = promisify(execFile)

function phpRedisCluster(): boolean {
  try {
    return execFileSync('php', ['-r', 'echo class_exists("RedisCluster") ? "yes" : "no";'], { encoding: 'utf8' }) === 'yes'
  } catch {
    return false
  }
}

describe('Redis Cluster', { timeout: 120_000 }, () => {
  let cluster: RedisCluster
  let client: Cluster
  const connect = () => new Cluster(cluster.nodes.split(',').map((n) => ({ host: '127.0.0.1', port: Number(n.split(':')[1]) })))
  const fixture = withService('cluster', { RETRY_MAX_ATTEMPTS: '2' }, {
    inProcess: false,
    setup: async () => {
      cluster = await startCluster()
      return {
        env: { REDIS_CLUSTER_NODES: cluster.nodes },
        stop: async () => {
          client?.disconnect()
          await cluster.stop()
        },
      }
    },
  })
  let origin: Origin
  let env: Record<string, string>
  let service: ChildService
  /** the legacy intake's list, of this suite's own */
  let queue: string
  const reply = (taskId: string) => `${env.LEGACY_REPLY_PREFIX}_${taskId}`
  const api = (path: string, init?: RequestInit) => fetch(`${service.address}${path}`, init)
  const submit = async (task_id: string, task_info: { fn: string; url: string }[]) => {
    const res = await api('/tasks', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ task_id, task_info }) })
    assert.equal(res.status, 202, await res.clone().text())
    return (await res.json()) as { events_url: string; archive_url: string }
  }
  const status = async (taskId: string) => (await (await api(`/tasks/${taskId}`)).json()) as { state: string; files: { state: string }[] }

  before(() => ({ env, origin } = fixture))
  before(async () => {
    queue = `${env.QUEUE_PREFIX}:batch_download_tasks`
    service = await fixture.spawn('all', { LEGACY_TASK_QUEUE: queue })
    client = connect()
  })

  it('keeps the reply list name PHP knows, in the slot of the task\'s own keys', () => {
    const keys = taskKeys({ QUEUE_PREFIX: 'bdl', LEGACY_REPLY_PREFIX: 'batch_download_resp' }, 'a1b2c3')
    assert.equal(keys.reply, 'batch_download_resp_a1b2c3')
    assert.equal(keys.meta, 'bdl:{batch_download_resp_a1b2c3}:meta')
  })

  it('downloads a task, reports it on the reply list read by RedisCluster, and streams its events', async () => {
    const files = [
      { fn: 'a.bin', url: origin.url('cl-a', { size: 70_000 }) },
      { fn: 'b.bin', url: origin.url('cl-b', { size: 1_000 }) },
      { fn: 'gone.bin', url: origin.url('cl-gone', { status: 404 }) },
    ]
    const { events_url, archive_url } = await submit('cl1', files)
    const events = follow(`${service.address}${events_url}`)
    let replies: string[]
    if (phpRedisCluster()) {
      const seeds = JSON.stringify(cluster.nodes.split(','))
      const script = `$c = new RedisCluster(NULL, json_decode('${seeds}')); $out = [];
        while (end($out) !== 'end') { $m = $c->brPop(['${reply('cl1')}'], 20); if (!$m) break; $out[] = $m[1]; }
        echo json_encode($out);`
      replies = JSON.parse((await run('php', ['-r', script], { timeout: 30_000 })).stdout) as string[]
    } else {
      replies = await readReplies(reply('cl1'), 20_000, connect)
    }
    assert.equal(replies[0], 'start')
    assert.deepEqual(replies.slice(1, -1).sort(), ['a.bin', 'b.bin', 'gone.bin'])
    assert.equal(replies.at(-1), 'end')

    const seen = await events
    assert.equal(seen.filter((e) => e.type === 'file').length, 3)
    assert.deepEqual(seen.at(-1)!.data, { state: 'partial', totals: { files: 3, done: 2, failed: 1, bytes_done: 71_000, bytes_total: 71_000, speed: 0, eta_s: null } })
    assert.deepEqual(await readFile(join(env.DOWNLOAD_DIR!, 'cl1', 'a.bin')), fileBytes('cl-a', 70_000))

    const zip = await api(archive_url)
    assert.equal(zip.status, 200)
    const body = Buffer.from(await zip.arrayBuffer())
    assert.equal(body.subarray(0, 2).toString(), 'PK')
    assert.ok(body.includes('a.bin') && body.includes('b.bin') && !body.includes('gone.bin'), 'the finished files only')
  })

  it('retries the failed files of an ended task', async () => {
    // Fails both attempts of the first run, then works.
    await submit('cl2', [{ fn: 'flaky.bin', url: origin.url('cl-flaky', { size: 500, fail: 503, times: 2 }) }])
    assert.deepEqual(await readReplies(reply('cl2'), 20_000, connect), ['start', 'flaky.bin', 'end'])
    assert.equal((await status('cl2')).state, 'failed')
    assert.equal((await api('/tasks/cl2/retry', { method: 'POST' })).status, 202)
    assert.deepEqual(await readReplies(reply('cl2'), 20_000, connect), ['start', 'flaky.bin', 'end'])
    assert.equal((await status('cl2')).state, 'completed')
  })

  it('cancels a running task', async () => {
    await submit('cl3', [
      { fn: 'quick.bin', url: origin.url('cl-quick', { size: 100 }) },
      { fn: 'slow.bin', url: origin.url('cl-slow', { size: 2_000_000, rate: 50_000 }) },
    ])
    await waitFor(async () => ((await status('cl3')).files[1]!.state === 'downloading' ? true : undefined), 10_000, 'the slow file started')
    assert.equal((await api('/tasks/cl3', { method: 'DELETE' })).status, 202)
    const replies = await readReplies(reply('cl3'), 10_000, connect)
    assert.deepEqual(replies, ['start', 'quick.bin', 'slow.bin', 'end'])
    assert.equal((await status('cl3')).state, 'cancelled')
  })

  it('takes a seed message from the legacy list', async () => {
    const files = [{ fn: 'seed.bin', url: origin.url('cl-seed', { size: 2_000 }) }]
    await client.lpush(queue, JSON.stringify({ task_id: 'cl4', task_info: files }))
    assert.deepEqual(await readReplies(reply('cl4'), 20_000, connect), ['start', 'seed.bin', 'end'])
    assert.equal(await client.llen(queue), 0)
  })

  it('lists every task, newest first, across slots', async () => {
    const { tasks } = (await (await api('/tasks?limit=10')).json()) as { tasks: { task_id: string }[] }
    assert.deepEqual(tasks.map((t) => t.task_id).sort(), ['cl1', 'cl2', 'cl3', 'cl4'])
  })
})
