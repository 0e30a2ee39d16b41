// A worker run as docker-compose.yml runs it collects its garbage when it
// goes idle: V8's trace shows the full GC that worker.ts asks for.
import assert from 'node:assert/strict'
import { before, describe, it } from 'node:test'
import { workerRuntime } from '../scripts/worker-runtime.js'
import { type Origin } from '../testkit/origin.js'
import { readReplies, waitFor, withService, type ChildService, notInFastRun } from '../testkit/service.js'

/** What --trace-gc prints for a collection that gc() asked for. */
const REQUESTED_GC = /Mark-Compact .* testing; GC in old space requested/

describe('worker memory', { skip: notInFastRun }, () => {
  const service = withService('wmemory', {}, { inProcess: false })
  let env: Record<string, string>
  let origin: Origin
  let worker: ChildService
  const requestedGcs = () => worker.logs.filter((l) => REQUESTED_GC.test(l)).length

  before(() => ({ env, origin } = service))
  before(async () => {
    const runtime = workerRuntime()
    worker = await service.spawn('all', runtime.env, { nodeArgs: [...runtime.nodeArgs, '--trace-gc'] })
  })

  it('runs a full GC once the last task of the worker has ended, and not before', async () => {
    assert.equal(requestedGcs(), 0)
    const files = Array.from({ length: 20 }, (_, i) => ({ fn: `f${i}.bin`, url: origin.url(`f${i}.bin`, { size: 4096 }) }))
    const res = await fetch(`${worker.address}/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ task_id: 'idle-gc', task_info: files }),
    })
    assert.equal(res.status, 202)
    const replies = await readReplies(`${env.LEGACY_REPLY_PREFIX}_idle-gc`, 20_000)
    assert.equal(replies.at(-1), 'end')
    await waitFor(async () => (requestedGcs() > 0 ? true : undefined), 5000, 'a full GC asked for')
    assert.equal(requestedGcs(), 1)
  })
})
