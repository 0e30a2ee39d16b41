// Chaos: 2 API and 3 worker processes on one Redis run 50 tasks of mixed
// files while, every second for 60 s, a random process is killed with SIGKILL
// and another of its role started. Then every task has ended, every file that
// succeeded is byte-identical, each reply list holds start, each fn once and
// end once, and no partial file is left.
import assert from 'node:assert/strict'
import type { ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { Redis } from 'ioredis'
import { fileBytes } from '../testkit/file-bytes.js'
import type { Origin } from '../testkit/origin.js'
import { REDIS_URL, waitFor, withService } from '../testkit/service.js'

const TASKS = 50
const FILES = 20
const CHAOS_MS = 60_000
type Role = 'api' | 'worker'

interface Spec {
  fn: string
  url: string
  name: string
  size: number
  fails: boolean
}

/** A mix per task: a 404, a file that fails once then works, a large throttled one, small throttled ones. */
function taskFiles(origin: Origin, t: number): Spec[] {
  return Array.from({ length: FILES }, (_, i) => {
    const name = `chaos-${t}-${i}`
    const kind = i % 10
    const size = kind === 2 ? 400_000 : 20_000 + ((t * 7 + i * 13) % 30) * 1000
    const params: Record<string, number> =
      kind === 0 ? { status: 404 } : kind === 1 ? { size, fail: 503, times: 1 } : { size, rate: kind === 2 ? 100_000 : 20_000 }
    return { fn: `f${i}.bin`, url: origin.url(name, params), name, size, fails: kind === 0 }
  })
}

describe('chaos: SIGKILL and restart of random processes', { timeout: 360_000 }, () => {
  const service = withService('chaos', { JOB_LOCK_MS: '2000', MAX_CONNECTIONS_PER_TASK: '4', RETRY_MAX_ATTEMPTS: '3' }, { inProcess: false })
  let origin: Origin
  let env: Record<string, string>
  before(() => ({ env, origin } = service))
  /** Every process of the test, started or starting: a kill may hit one while it starts. */
  const procs: { role: Role; child: ChildProcess; address: string | null }[] = []
  const starting = new Set<Promise<unknown>>()

  const start = (role: Role) => {
    const proc = { role, child: null as unknown as ChildProcess, address: null as string | null }
    // Starts overlap with kills and load: a generous start time.
    const p = service.spawn(role, {}, { startTimeoutMs: 60_000, onSpawn: (child) => (proc.child = child) })
      .then((svc) => (proc.address = svc.address))
      .catch(() => {}) // killed while starting: its killer started another
      .finally(() => starting.delete(p))
    procs.push(proc)
    starting.add(p)
    return p
  }
  const alive = () => procs.filter((p) => p.child.exitCode === null && p.child.signalCode === null)
  /** A request to any API process that is up; one that was just killed is skipped. */
  const api = async (path: string, init?: RequestInit): Promise<Response> => {
    const deadline = Date.now() + 60_000
    while (Date.now() < deadline) {
      const apis = alive().filter((p) => p.role === 'api' && p.address)
      const target = apis[Math.floor(Math.random() * apis.length)]
      if (target) {
        try {
          return await fetch(`${target.address}${path}`, init)
        } catch {
          // killed between the pick and the request
        }
      }
      await new Promise((r) => setTimeout(r, 50))
    }
    throw new Error(`no API process answered ${path} for 60 s`)
  }

  // Also the processes still starting, which the fixture has not taken in yet.
  after(async () => {
    for (const p of alive()) await kill(p.child)
  })

  it('ends every task with whole files and each reply message exactly once', async () => {
    await Promise.all([start('api'), start('api'), start('worker'), start('worker'), start('worker')])
    assert.equal(alive().filter((p) => p.address || p.role === 'worker').length, 5, 'all five started')
    const tasks = Array.from({ length: TASKS }, (_, t) => ({ id: `chaos${t}`, files: taskFiles(origin, t) }))
    for (const task of tasks) {
      const res = await api('/tasks', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ task_id: task.id, task_info: task.files.map(({ fn, url }) => ({ fn, url })) }),
      })
      assert.equal(res.status, 202, await res.text())
    }

    let kills = 0
    const chaosEnd = Date.now() + CHAOS_MS
    // On a fixed beat, so that a slow kill or a busy loop does not stretch it.
    for (let beat = 1; beat * 1000 <= CHAOS_MS; beat++) {
      await new Promise((r) => setTimeout(r, Math.max(0, chaosEnd - CHAOS_MS + beat * 1000 - Date.now())))
      const candidates = alive()
      const victim = candidates[Math.floor(Math.random() * candidates.length)]
      if (!victim) continue
      await kill(victim.child)
      kills++
      void start(victim.role)
    }
    await Promise.all([...starting])

    const chaosOver = Date.now()
    const ended = await waitFor(async () => {
      const states = await Promise.all(tasks.map(async (t) => ((await (await api(`/tasks/${t.id}?files=none`)).json()) as { state: string }).state))
      return states.every((s) => s !== 'queued' && s !== 'running') ? states : undefined
    }, 120_000, 'every task to end')
    const drainS = ((Date.now() - chaosOver) / 1000).toFixed(1)
    console.log(`# chaos: ${kills} processes killed in ${CHAOS_MS / 1000} s; every task ended ${drainS} s later: ${JSON.stringify(countOf(ended))}`)
    assert.ok(kills >= 55, `${kills} kills`)

    const redis = new Redis(REDIS_URL)
    try {
      for (const task of tasks) {
        const replies = (await redis.lrange(`${env.LEGACY_REPLY_PREFIX}_${task.id}`, 0, -1)).reverse()
        assert.equal(replies[0], 'start', task.id)
        assert.equal(replies.at(-1), 'end', task.id)
        assert.deepEqual(replies.slice(1, -1).sort(), task.files.map((f) => f.fn).sort(), `${task.id}: each fn exactly once`)

        const status = (await (await api(`/tasks/${task.id}`)).json()) as { state: string; files: { fn: string; state: string }[] }
        assert.equal(status.state, 'partial', `${task.id}: all but the 404s`)
        const dir = join(env.DOWNLOAD_DIR!, task.id)
        const expected = task.files.filter((f) => !f.fails)
        assert.deepEqual((await readdir(dir)).sort(), expected.map((f) => f.fn).sort(), `${task.id}: exactly the finished files`)
        for (const f of expected) assert.deepEqual(await readFile(join(dir, f.fn)), fileBytes(f.name, f.size), `${task.id}/${f.fn}`)
      }
    } finally {
      redis.disconnect()
    }
    const partials = await readdir(join(env.DOWNLOAD_DIR!, '.partial')).catch(() => [])
    assert.deepEqual(partials, [], 'no partial files left')
  })
})

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exit = once(child, 'exit')
  child.kill('SIGKILL')
  await exit
}

function countOf(states: string[]): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const s of states) counts[s] = (counts[s] ?? 0) + 1
  return counts
}
