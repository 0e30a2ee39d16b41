// A worker whose DOWNLOAD_DIR cannot be written says so at start and in
// /health/ready, and ends each task at once with its files failed as
// disk_error and `end` pushed, instead of leaving readers waiting.
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { before, describe, it } from 'node:test'
import { captureLogs } from './helpers/logs.js'
import { type Origin } from '../testkit/origin.js'
import { assertProtocol } from './helpers/protocol.js'
import { readReplies, waitFor, withService, type InProcessService } from '../testkit/service.js'

describe('an unwritable DOWNLOAD_DIR', () => {
  const { log, lines } = captureLogs('info')
  let base = ''
  const service = withService('rodir', { LOG_LEVEL: 'info' }, {
    log,
    // A path through a regular file: no one, root included, can make it a folder.
    setup: async () => {
      base = await mkdtemp(join(tmpdir(), 'batchdl-rodir-'))
      await writeFile(join(base, 'file'), '')
      return { env: { DOWNLOAD_DIR: join(base, 'file', 'downloads') }, stop: () => rm(base, { recursive: true, force: true }) }
    },
  })
  let env: Record<string, string>
  let svc: InProcessService
  let origin: Origin
  before(() => ({ env, svc, origin } = service))

  it('is said at start and by /health/ready', async () => {
    await waitFor(async () => (lines.some((l) => l.includes('cannot be written')) ? true : undefined), 5_000, 'the start-up log line')
    const ready = await svc.app.inject({ method: 'GET', url: '/health/ready' })
    assert.equal(ready.statusCode, 503)
    assert.equal(ready.json().status, 'unavailable')
    assert.match(ready.json().reason, /DOWNLOAD_DIR .* cannot be written \(ENOTDIR\)/)
  })

  it('ends a task at once with every file failed as disk_error, end pushed', async () => {
    const files = [
      { fn: 'a.bin', url: origin.url('rodir-a', { size: 10 }) },
      { fn: 'b.bin', url: origin.url('rodir-b', { size: 10 }) },
    ]
    const res = await svc.app.inject({ method: 'POST', url: '/tasks', payload: { task_id: 'rodir', task_info: files } })
    assert.equal(res.statusCode, 202)
    // Before the fix the task stayed queued for minutes and ended as worker_error.
    const replies = await readReplies(`${env.LEGACY_REPLY_PREFIX}_rodir`, 10_000)
    assertProtocol(replies, ['a.bin', 'b.bin'])
    const status = (await svc.app.inject({ method: 'GET', url: '/tasks/rodir' })).json()
    assert.equal(status.state, 'failed')
    assert.deepEqual(status.files.map((f: { state: string; error: string }) => [f.state, f.error]), [['failed', 'disk_error'], ['failed', 'disk_error']])
    assert.equal(origin.requests.length, 0, 'nothing was downloaded')
  })
})
