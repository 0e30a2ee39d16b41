// GET /tasks/:id/archive, retention and purge.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { promisify } from 'node:util'
import { after, before, describe, it } from 'node:test'
import { fileBytes } from '../testkit/file-bytes.js'
import type { Origin } from '../testkit/origin.js'
import { readReplies, waitFor, withService, type InProcessService } from '../testkit/service.js'

const run = promisify(execFile)

describe('archive', () => {
  let env: Record<string, string>
  let origin: Origin
  let base: string
  let work: string

  const service = withService('archive', { API_KEYS: 'zip-key' }, { listen: true })

  before(async () => {
    ;({ env, origin, base } = service)
    work = await mkdtemp(join(tmpdir(), 'batchdl-zip-'))
  })
  after(async () => {
    await rm(work, { recursive: true, force: true })
  })

  const auth = { authorization: 'Bearer zip-key' }
  const submit = async (task_id: string, task_info: { fn: string; url: string }[]) => {
    const res = await fetch(`${base}/tasks`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ task_id, task_info }) })
    return (await res.json()) as { archive_url: string }
  }

  it('streams the finished files as a stored zip named by saved_as, with the signed token alone', async () => {
    const task_info = [
      { fn: 'a', url: origin.url('zip-a.jpg', { size: 100_000 }) },
      { fn: 'b.png', url: origin.url('zip-b', { size: 5 }) },
      { fn: 'gone', url: origin.url('zip-gone', { status: 404 }) },
    ]
    const { archive_url } = await submit('zipped', task_info)
    await readReplies(`${env.LEGACY_REPLY_PREFIX}_zipped`)
    const res = await fetch(base + archive_url)
    assert.equal(res.status, 200)
    assert.equal(res.headers.get('content-type'), 'application/zip')
    assert.equal(res.headers.get('content-disposition'), 'attachment; filename="zipped.zip"')
    const body = Buffer.from(await res.arrayBuffer())
    assert.equal(Number(res.headers.get('content-length')), body.length)
    const path = join(work, 'zipped.zip')
    await pipeline(Readable.from([body]), createWriteStream(path))
    const { stdout } = await run('unzip', ['-v', path])
    assert.match(stdout, /Stored/)
    assert.doesNotMatch(stdout, /Defl/)
    assert.match((await run('unzip', ['-t', path])).stdout, /No errors detected/)
    assert.deepEqual((await run('unzip', ['-p', path, 'a.jpg'], { encoding: 'buffer', maxBuffer: 1e7 })).stdout, fileBytes('zip-a.jpg', 100_000))
    assert.deepEqual((await run('zipinfo', ['-1', path])).stdout.trim().split('\n').sort(), ['a.jpg', 'b.png'])

    // HEAD tells the same length, without a body.
    const head = await fetch(base + archive_url, { method: 'HEAD' })
    assert.equal(head.status, 200)
    assert.equal(Number(head.headers.get('content-length')), body.length)
    assert.equal((await head.arrayBuffer()).byteLength, 0)

    assert.equal((await fetch(`${base}/tasks/zipped/archive`)).status, 401)
  })

  it('with report=1 starts with REPORT.txt: every file not in the zip, with its reason in words', async () => {
    const { archive_url } = await submit('reported', [
      { fn: 'ok.jpg', url: origin.url('rep-ok', { size: 1000 }) },
      { fn: 'nf', url: origin.url('rep-nf.png', { status: 404 }) },
      { fn: 'REPORT.txt', url: origin.url('rep-report.txt', { size: 10 }) },
      { fn: 'boom.bin', url: origin.url('rep-boom', { status: 500 }) },
    ])
    await readReplies(`${env.LEGACY_REPLY_PREFIX}_reported`)
    const res = await fetch(`${base + archive_url}&report=1`)
    assert.equal(res.status, 200)
    const body = Buffer.from(await res.arrayBuffer())
    assert.equal(Number(res.headers.get('content-length')), body.length)
    const path = join(work, 'reported.zip')
    await writeFile(path, body)
    // A file of the task is called REPORT.txt: the report takes the next free name.
    assert.deepEqual((await run('zipinfo', ['-1', path])).stdout.trim().split('\n'), ['REPORT (2).txt', 'ok.jpg', 'REPORT.txt'])
    const report = (await run('unzip', ['-p', path, 'REPORT (2).txt'])).stdout
    assert.equal(
      report,
      'Task reported: 2 of 4 files are in this zip; these 2 are not:\r\n' +
        '\r\n' +
        'nf.png (submitted as "nf"): The server answered 404 (not found)\r\n' +
        'boom.bin: The server answered 500 (server error)\r\n',
    )

    await submit('all-there', [{ fn: 'only.bin', url: origin.url('rep-only', { size: 5 }) }])
    await readReplies(`${env.LEGACY_REPLY_PREFIX}_all-there`)
    const all = Buffer.from(await (await fetch(`${base}/tasks/all-there/archive?report=1`, { headers: auth })).arrayBuffer())
    await writeFile(join(work, 'all.zip'), all)
    assert.equal((await run('unzip', ['-p', join(work, 'all.zip'), 'REPORT.txt'])).stdout, 'Task all-there: all 1 files are in this zip.\r\n')
  })

  it('answers 409 while the task runs, unless partial=1', async () => {
    const { archive_url } = await submit('zipping', [
      { fn: 'quick', url: origin.url('zq.bin', { size: 10 }) },
      { fn: 'slow', url: origin.url('zs.bin', { size: 300_000, rate: 150_000 }) },
    ])
    await waitFor(async () => {
      const s = (await (await fetch(`${base}/tasks/zipping`, { headers: auth })).json()) as { totals: { done: number } }
      return s.totals.done >= 1 ? true : undefined
    }, 5000, 'the quick file')
    const busy = await fetch(base + archive_url)
    assert.equal(busy.status, 409)
    assert.equal(((await busy.json()) as { error: string }).error, 'task_not_finished')
    const partial = await fetch(`${base + archive_url}&partial=1`)
    assert.equal(partial.status, 200)
    const path = join(work, 'partial.zip')
    await pipeline(Readable.from([Buffer.from(await partial.arrayBuffer())]), createWriteStream(path))
    assert.deepEqual((await run('zipinfo', ['-1', path])).stdout.trim().split('\n'), ['quick.bin'])
    await readReplies(`${env.LEGACY_REPLY_PREFIX}_zipping`)
  })

  it('purges a finished task at once with DELETE ?purge=1, and refuses while it runs', async () => {
    await submit('purgeme', [{ fn: 'p', url: origin.url('purge.bin', { size: 100 }) }])
    await readReplies(`${env.LEGACY_REPLY_PREFIX}_purgeme`)
    assert.deepEqual(await readdir(join(env.DOWNLOAD_DIR!, 'purgeme')), ['p.bin'])
    const res = await fetch(`${base}/tasks/purgeme?purge=1`, { method: 'DELETE', headers: auth })
    assert.equal(res.status, 204)
    await assert.rejects(stat(join(env.DOWNLOAD_DIR!, 'purgeme')), { code: 'ENOENT' })
    assert.equal((await fetch(`${base}/tasks/purgeme`, { headers: auth })).status, 404)

    await submit('busy', [{ fn: 's', url: origin.url('busy.bin', { size: 200_000, rate: 200_000 }) }])
    const refused = await fetch(`${base}/tasks/busy?purge=1`, { method: 'DELETE', headers: auth })
    assert.equal(refused.status, 409)
    await readReplies(`${env.LEGACY_REPLY_PREFIX}_busy`)
  })
})

describe('retention', () => {
  const service = withService('retention', { TASK_RETENTION_SECONDS: '1' })
  let env: Record<string, string>
  let svc: InProcessService
  let origin: Origin
  before(() => ({ env, svc, origin } = service))

  it('removes finished tasks after the retention time and never a running one', async () => {
    const post = (task_id: string, url: string) => svc.app.inject({ method: 'POST', url: '/tasks', payload: { task_id, task_info: [{ fn: 'f.bin', url }] } })
    await post('short', origin.url('ret-short', { size: 100 }))
    await post('long', origin.url('ret-long', { size: 400_000, rate: 100_000 }))
    await readReplies(`${env.LEGACY_REPLY_PREFIX}_short`)
    assert.deepEqual(await readdir(join(env.DOWNLOAD_DIR!, 'short')), ['f.bin'])
    await waitFor(
      async () => (await stat(join(env.DOWNLOAD_DIR!, 'short')).then(() => undefined, () => true)),
      8000,
      'the task folder removed',
    )
    assert.equal((await svc.app.inject({ method: 'GET', url: '/tasks/short' })).statusCode, 404)
    // The long task has been running for longer than the retention time.
    const long = (await svc.app.inject({ method: 'GET', url: '/tasks/long' })).json()
    assert.equal(long.state, 'running')
    assert.ok(long.files[0].bytes > 0)
    await readReplies(`${env.LEGACY_REPLY_PREFIX}_long`)
  })
})
