// A file's mirrors, against the real service and real origins: tried in
// order once the URL before fails for good, the file saved whole, and the
// source that served it shown (never a query string).
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileBytes, sha256Hex } from '../testkit/file-bytes.js'
import { startOrigin, type Origin } from '../testkit/origin.js'
import { assertProtocol } from './helpers/protocol.js'
import { readReplies, withService, type InProcessService } from '../testkit/service.js'

interface FileView {
  state: string
  source: number | null
  mirrors?: string[]
  attempts: number
  http_status: number | null
  error: string | null
}

/** A loopback port nothing listens on: a connection to it is refused. */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

describe('mirrors', () => {
  const service = withService('mirrors', { RETRY_MAX_ATTEMPTS: '3' })
  let env: Record<string, string>
  let svc: InProcessService
  let a: Origin
  // A second origin on another port: the mirrors' own.
  let b: Origin

  before(async () => {
    ;({ env, svc, origin: a } = service)
    b = await startOrigin()
  })
  after(() => b.close())

  async function run(taskId: string, files: Record<string, unknown>[]) {
    const res = await svc.app.inject({ method: 'POST', url: '/tasks', payload: { task_id: taskId, task_info: files } })
    assert.equal(res.statusCode, 202, res.body)
    assertProtocol(await readReplies(`${env.LEGACY_REPLY_PREFIX}_${taskId}`, 30_000), files.map((f) => String(f.fn)))
    const status = await svc.app.inject({ method: 'GET', url: `/tasks/${taskId}` })
    return { body: status.body, files: (status.json() as { files: FileView[] }).files }
  }
  const saved = async (taskId: string, fn: string) => sha256Hex(await readFile(join(env.DOWNLOAD_DIR!, taskId, fn)))

  it('takes the file from a mirror when the URL answers 404, at once, and says so', async () => {
    const size = 300_000
    const { body, files } = await run('notfound', [
      {
        fn: 'm.bin',
        url: a.url('gone', { status: 404, Signature: 'PRIMARYsecret' }),
        mirrors: [b.url('m', { size, Signature: 'MIRRORsecret' })],
        sha256: sha256Hex(fileBytes('m', size)),
      },
      { fn: 'plain.bin', url: a.url('plain') },
    ])
    assert.equal(files[0]!.state, 'done')
    assert.equal(files[0]!.source, 1, 'the first mirror served it')
    assert.equal(files[0]!.attempts, 2, 'a 404 is final: one attempt at the URL, one at the mirror')
    assert.deepEqual(files[0]!.mirrors, [`${b.base}/f/m`], 'mirrors shown without their query strings')
    assert.equal(files[1]!.source, 0, 'a file without mirrors came from its URL')
    assert.equal(files[1]!.mirrors, undefined)
    assert.equal(await saved('notfound', 'm.bin'), sha256Hex(fileBytes('m', size)))
    for (const secret of ['PRIMARYsecret', 'MIRRORsecret']) assert.ok(!body.includes(secret), `${secret} shown`)
  })

  it('goes past an unreachable URL and a failing mirror, in order, to the one that serves', async () => {
    const dead = `http://127.0.0.1:${await closedPort()}/f/x`
    const { files } = await run('unreachable', [
      { fn: 'u.bin', url: dead, mirrors: [b.url('down', { status: 503 }), b.url('u', { size: 5000 }), a.url('unused')] },
    ])
    assert.equal(files[0]!.state, 'done')
    assert.equal(files[0]!.source, 2)
    assert.equal(files[0]!.attempts, 3 + 3 + 1, 'every attempt at the URL and the failing mirror, then one')
    assert.equal(b.hits('down'), 3, 'the failing mirror was retried before the next was tried')
    assert.equal(a.hits('unused'), 0, 'no mirror past the one that served')
    assert.equal(await saved('unreachable', 'u.bin'), sha256Hex(fileBytes('u', 5000)))
  })

  it('fails the file with the last source\'s error when every source fails', async () => {
    const { files } = await run('allfail', [{ fn: 'f.bin', url: a.url('f1', { status: 404 }), mirrors: [b.url('f2', { status: 410 })] }])
    assert.equal(files[0]!.state, 'failed')
    assert.equal(files[0]!.http_status, 410)
    assert.equal(files[0]!.source, null)
  })

  it('refuses mirrors that are not http(s), carry credentials, or are more than five', async () => {
    const res = await svc.app.inject({
      method: 'POST',
      url: '/tasks',
      payload: {
        task_info: [
          { fn: 'a', url: a.url('a'), mirrors: ['ftp://example.com/a', 'http://user:PASSsecret@example.com/a'] },
          { fn: 'b', url: a.url('b'), mirrors: Array.from({ length: 6 }, (_, i) => `https://m${i}.example.com/b`) },
        ],
      },
    })
    assert.equal(res.statusCode, 400)
    const details = (res.json() as { details: { path: string; message: string }[] }).details
    assert.deepEqual(details.map((d) => d.path).sort(), ['/task_info/0/mirrors/0', '/task_info/1/mirrors'])
    const credentials = await svc.app.inject({
      method: 'POST',
      url: '/tasks',
      payload: { task_info: [{ fn: 'a', url: a.url('a'), mirrors: ['http://user:PASSsecret@example.com/a'] }] },
    })
    assert.equal(credentials.statusCode, 400)
    const [detail] = (credentials.json() as { details: { path: string; message: string }[] }).details
    assert.equal(detail!.path, '/task_info/0/mirrors/0')
    assert.match(detail!.message, /^mirror must not carry a user name or password/)
    assert.ok(!credentials.body.includes('PASSsecret'))
  })
})
