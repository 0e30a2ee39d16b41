// Worker processes killed with SIGKILL mid-task, twice: the task still
// completes, files already finished are not fetched again, every file is
// byte-identical, and each reply message arrives exactly once.
import assert from 'node:assert/strict'
import { readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { fileBytes } from '../testkit/file-bytes.js'
import { readReplies, waitFor, withService, notInFastRun } from '../testkit/service.js'

describe('worker crash', { skip: notInFastRun }, () => {
  const service = withService('crash', { JOB_LOCK_MS: '2000', MAX_CONNECTIONS_PER_TASK: '3' }, { inProcess: false })

  it('resumes a task after two SIGKILLs and reports each message exactly once', async () => {
    const { env, origin } = service
    const api = await service.spawn('api')
    const size = 240_000
    const files = Array.from({ length: 12 }, (_, i) => ({ fn: `img${i}.jpg`, url: origin.url(`crash-${i}`, { size, rate: 200_000 }) }))
    const status = async () => (await fetch(`${api.address}/tasks/crashy`)).json() as Promise<{
      state: string
      totals: { done: number }
      files: { state: string; attempts: number }[]
    }>

    const res = await fetch(`${api.address}/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ task_id: 'crashy', task_info: files }),
    })
    assert.equal(res.status, 202)
    const replies = readReplies(`${env.LEGACY_REPLY_PREFIX}_crashy`, 60_000)
    const partial = join(env.DOWNLOAD_DIR!, '.partial', 'crashy')
    const resumable = async () => {
      for (const name of await readdir(partial).catch(() => [])) {
        if (!name.endsWith('.json')) continue
        const body = await stat(join(partial, name.slice(0, -'.json'.length))).catch(() => null)
        if (body && body.size > 0) return true
      }
      return undefined
    }

    let doneBeforeCrashes = 0
    for (const atLeast of [2, 5]) {
      const worker = await service.spawn('worker')
      doneBeforeCrashes = await waitFor(async () => {
        const s = await status()
        return s.totals.done >= atLeast ? s.totals.done : undefined
      }, 30_000, `${atLeast} files done`)
      // Mid-way through the next files' bodies, once one of them is on disk with its resume record.
      await waitFor(resumable, 10_000, 'a body part-way in, resumable')
      await worker.stop('SIGKILL')
      assert.notEqual((await status()).state, 'completed', 'killed mid-task')
    }

    await service.spawn('worker')
    const messages = await replies
    assert.equal(messages[0], 'start')
    assert.equal(messages.at(-1), 'end')
    assert.deepEqual(messages.slice(1, -1).sort(), files.map((f) => f.fn).sort(), 'each fn exactly once')

    const final = await status()
    assert.equal(final.state, 'completed')
    for (const [i, f] of files.entries()) {
      assert.deepEqual(await readFile(join(env.DOWNLOAD_DIR!, 'crashy', f.fn)), fileBytes(`crash-${i}`, size), f.fn)
    }
    // Bodies cut by a kill were resumed, not fetched again from byte 0.
    assert.ok(origin.requests.some((r) => r.range && r.ifRange), 'a resumed transfer sent Range and If-Range')
    // Files finished before a crash were not fetched again.
    const fetchedOnce = files.filter((_, i) => origin.hits(`crash-${i}`) === 1).length
    assert.ok(fetchedOnce >= doneBeforeCrashes, `${fetchedOnce} files fetched once, ${doneBeforeCrashes} done before the last crash`)
  })
})
