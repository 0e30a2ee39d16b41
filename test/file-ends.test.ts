// The worker records file ends several per Lua step, against the real Redis.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { Redis } from 'ioredis'
import { loadConfig } from '../src/config.js'
import { createTaskStore, type FileEnd, type FileOutcome, type FileSpec, type TaskStore } from '../src/tasks/store.js'
import { FileEndRecorder, MAX_ENDS_PER_STEP } from '../src/worker/file-ends.js'
import { cleanEnv, REDIS_URL, testEnv } from '../testkit/service.js'

const done: FileOutcome = { state: 'done', bytes: 10, size: 10, httpStatus: 200, error: null, attempts: 1 }

describe('file end recorder', () => {
  let env: Record<string, string>
  let redis: Redis
  let store: TaskStore

  before(async () => {
    env = await testEnv('file-ends')
    redis = new Redis(REDIS_URL)
    store = createTaskStore(redis, loadConfig(env))
  })
  after(async () => {
    redis.disconnect()
    await cleanEnv(env)
  })

  /** A running task of `n` files, and a store that notes the size of each finishFiles step. */
  async function task(id: string, n: number) {
    const spec: FileSpec[] = Array.from({ length: n }, (_, i) => ({ fn: `f${i}.bin`, url: `https://example.com/f${i}.bin`, saved_as: `f${i}.bin` }))
    await store.create(id, spec, 'fixture')
    await store.begin(id)
    const steps: number[] = []
    const counting: TaskStore = {
      ...store,
      finishFiles: (taskId: string, ends: FileEnd[]) => {
        steps.push(ends.length)
        return store.finishFiles(taskId, ends)
      },
    }
    const end = (index: number): FileEnd => ({ index, file: spec[index]!, outcome: done })
    const replies = async () => (await redis.lrange(store.keys(id).reply, 0, -1)).reverse()
    return { spec, steps, counting, end, replies }
  }

  it('records the files that end in one turn in one step, in order, each once', async () => {
    const { steps, counting, end, replies } = await task('same-turn', 5)
    const recorder = new FileEndRecorder(counting, 'same-turn')
    const recorded = await Promise.all([3, 0, 4, 1, 2].map((i) => recorder.record(end(i))))
    assert.deepEqual(recorded, [true, true, true, true, true])
    assert.deepEqual(steps, [5])
    assert.deepEqual(await replies(), ['start', 'f3.bin', 'f0.bin', 'f4.bin', 'f1.bin', 'f2.bin'])
    const meta = await redis.hmget(store.keys('same-turn').meta, 'done', 'bytes_done')
    assert.deepEqual(meta, ['5', '50'])

    // A file that had already ended is not recorded again.
    assert.equal(await recorder.record(end(3)), false)
    assert.equal((await replies()).length, 6)
  })

  it('gathers the ends that come while a step is out into the next step', async () => {
    const { steps, counting, end, replies } = await task('while-out', 4)
    let later: Promise<boolean>[] = []
    let recorder: FileEndRecorder | null = null
    const slow: TaskStore = {
      ...counting,
      finishFiles: (taskId: string, ends: FileEnd[]) => {
        const out = counting.finishFiles(taskId, ends)
        // Three files end while the first step is out.
        if (steps.length === 1) later = [1, 2, 3].map((i) => recorder!.record(end(i)))
        return out
      },
    }
    recorder = new FileEndRecorder(slow, 'while-out')
    assert.equal(await recorder.record(end(0)), true)
    assert.deepEqual(await Promise.all(later), [true, true, true])
    assert.deepEqual(steps, [1, 3])
    assert.deepEqual(await replies(), ['start', 'f0.bin', 'f1.bin', 'f2.bin', 'f3.bin'])
  })

  it(`splits a turn of more than ${MAX_ENDS_PER_STEP} ends into steps of at most that many`, async () => {
    const n = MAX_ENDS_PER_STEP + 6
    const { steps, counting, end, replies } = await task('many', n)
    const recorder = new FileEndRecorder(counting, 'many')
    const recorded = await Promise.all(Array.from({ length: n }, (_, i) => recorder.record(end(i))))
    assert.ok(recorded.every((r) => r))
    assert.deepEqual(steps, [MAX_ENDS_PER_STEP, 6])
    assert.deepEqual(await replies(), ['start', ...Array.from({ length: n }, (_, i) => `f${i}.bin`)])
  })

  it('rejects every end of a step that fails, and records the next ones', async () => {
    const { steps, counting, end, replies } = await task('failing', 3)
    const closed = new Redis(REDIS_URL, { lazyConnect: true, enableOfflineQueue: false })
    const unreachable = createTaskStore(closed, loadConfig(env))
    let fail = true
    const flaky: TaskStore = {
      ...counting,
      finishFiles: (taskId: string, ends: FileEnd[]) => (fail ? unreachable.finishFiles(taskId, ends) : counting.finishFiles(taskId, ends)),
    }
    const recorder = new FileEndRecorder(flaky, 'failing')
    const results = await Promise.allSettled([recorder.record(end(0)), recorder.record(end(1))])
    assert.deepEqual(
      results.map((r) => r.status),
      ['rejected', 'rejected'],
    )
    fail = false
    assert.equal(await recorder.record(end(2)), true)
    assert.deepEqual(steps, [1])
    assert.deepEqual(await replies(), ['start', 'f2.bin'])
    closed.disconnect()
  })
})
