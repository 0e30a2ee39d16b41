// Large files over several connections, against the real origin and the real
// Redis: ranges written at their offsets into one file, If-Range on every
// range, and servers that ignore ranges or change the file mid-way.
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { before, describe, it } from 'node:test'
import { fileBytes, sha256Hex } from '../testkit/file-bytes.js'
import type { Origin } from '../testkit/origin.js'
import { assertProtocol } from './helpers/protocol.js'
import { readReplies, withService, type InProcessService, notInFastRun } from '../testkit/service.js'

const MiB = 1024 * 1024

describe('segmented downloads', () => {
  let env: Record<string, string>
  let svc: InProcessService
  let origin: Origin

  const service = withService('segments', { SEGMENT_MIN_BYTES: String(MiB), MAX_CONNECTIONS_PER_TASK: '16', DOWNLOAD_IDLE_TIMEOUT_MS: '5000' })
  before(() => ({ env, svc, origin } = service))

  async function run(taskId: string, files: { fn: string; url: string; sha256?: string }[]) {
    const res = await svc.app.inject({ method: 'POST', url: '/tasks', payload: { task_id: taskId, task_info: files } })
    assert.equal(res.statusCode, 202, res.body)
    const replies = await readReplies(`${env.LEGACY_REPLY_PREFIX}_${taskId}`, 60_000)
    assertProtocol(replies, files.map((f) => f.fn))
    return (await svc.app.inject({ method: 'GET', url: `/tasks/${taskId}` })).json()
  }
  const requestsFor = (name: string) => origin.requests.filter((r) => r.path === `/f/${name}`)
  const saved = (taskId: string, fn: string) => readFile(join(env.DOWNLOAD_DIR!, taskId, fn))

  it('fetches a 64 MiB file from a per-connection-throttled origin over several ranged connections, byte-identical', { skip: notInFastRun }, async () => {
    const size = 64 * MiB
    const expected = sha256Hex(fileBytes('big', size))
    const status = await run('split', [{ fn: 'big.bin', url: origin.url('big', { size, rate: 8 * MiB }), sha256: expected }])
    assert.equal(status.files[0].state, 'done')
    assert.equal(status.files[0].bytes, size)
    const ranged = requestsFor('big').filter((r) => r.range)
    assert.ok(ranged.length >= 8, `${ranged.length} ranged requests`)
    for (const r of ranged) assert.match(r.ifRange ?? '', /^"[0-9a-f]+"$/, 'If-Range on every range')
    assert.equal(sha256Hex(await saved('split', 'big.bin')), expected)
  })

  it('fetches a file over one connection from a server without range support', async () => {
    const size = 8 * MiB
    const status = await run('noranges', [{ fn: 'n.bin', url: origin.url('noranges', { size, rate: 16 * MiB, ranges: 'none' }) }])
    assert.equal(status.files[0].state, 'done')
    assert.deepEqual(requestsFor('noranges').map((r) => r.range), [undefined], 'one request, no range')
    assert.equal(sha256Hex(await saved('noranges', 'n.bin')), sha256Hex(fileBytes('noranges', size)))
  })

  it('starts over on one connection when the server answers a range with the whole file', { skip: notInFastRun }, async () => {
    const size = 8 * MiB
    const status = await run('ignored', [{ fn: 'i.bin', url: origin.url('ignored', { size, rate: 16 * MiB, norange: 1 }) }])
    assert.equal(status.files[0].state, 'done')
    const requests = requestsFor('ignored')
    assert.ok(requests.some((r) => r.range), 'a range was asked for')
    assert.equal(requests.at(-1)!.range, undefined, 'the last request is for the whole file')
    assert.equal(sha256Hex(await saved('ignored', 'i.bin')), sha256Hex(fileBytes('ignored', size)))
  })

  it('never splices two versions: an ETag that changes between segments makes the file start over whole', async () => {
    const size = 8 * MiB
    const status = await run('versions', [{ fn: 'v.bin', url: origin.url('versions', { size, rate: 16 * MiB, versions: 1 }) }])
    assert.equal(status.files[0].state, 'done')
    const requests = requestsFor('versions')
    assert.ok(requests.some((r) => r.range && r.ifRange), 'a range was asked for with If-Range')
    // Every request served a new version; the file is the whole of the one the last request served.
    const last = requests.length
    assert.equal(requests[last - 1]!.range, undefined)
    assert.equal(sha256Hex(await saved('versions', 'v.bin')), sha256Hex(fileBytes(`versions#v${last}`, size)))
  })

  it('reports a split file as the sum of its segments while it runs', { skip: notInFastRun }, async () => {
    const size = 32 * MiB
    const res = await svc.app.inject({ method: 'POST', url: '/tasks', payload: { task_id: 'progress', task_info: [{ fn: 'p.bin', url: origin.url('progress', { size, rate: 4 * MiB }) }] } })
    assert.equal(res.statusCode, 202)
    const replies = readReplies(`${env.LEGACY_REPLY_PREFIX}_progress`, 60_000)
    let seen = 0
    let last = -1
    while (!(await Promise.race([replies.then(() => true), new Promise((r) => setTimeout(() => r(false), 100))]))) {
      const status = (await svc.app.inject({ method: 'GET', url: '/tasks/progress' })).json()
      const bytes = status.totals.bytes_done as number
      assert.ok(bytes >= last && bytes <= size, `bytes_done ${bytes} after ${last}`)
      last = bytes
      // Faster than one connection could: the sum of several.
      if (bytes > 0 && bytes < size) seen++
    }
    assert.ok(seen > 0, 'progress seen mid-way')
    const ranged = requestsFor('progress').filter((r) => r.range).length
    assert.ok(ranged >= 4, `${ranged} ranged requests`)
    assert.equal(sha256Hex(await saved('progress', 'p.bin')), sha256Hex(fileBytes('progress', size)))
  })
})
