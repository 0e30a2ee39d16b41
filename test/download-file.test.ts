// downloadFile against the real test origin and the real filesystem: how an
// attempt uses its connection slot. The slot is held from the request until
// the body is in, and not while the file is renamed or a retry waits.
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { Agent, Dispatcher } from 'undici'
import { createDownloadAgent } from '../src/download/dispatcher.js'
import { BatchBuffers } from '../src/download/batch-buffers.js'
import { DiskCalls } from '../src/download/disk-calls.js'
import { downloadFile, type Downloader, type DownloadPolicy, type DownloadRequest } from '../src/download/download-file.js'
import { newProgress } from '../src/download/types.js'
import { createLogger } from '../src/logger.js'
import { createAddressPolicy } from '../src/net/address-policy.js'
import { fileBytes } from '../testkit/file-bytes.js'
import { startOrigin, type Origin } from '../testkit/origin.js'

const policy: DownloadPolicy = {
  maxAttempts: 3,
  baseDelayMs: 200,
  maxDelayMs: 200,
  maxBytes: 1024 ** 3,
  minSpeedBytes: 0,
  minSpeedWindowMs: 10_000,
}

/** A connection slot that logs what happens to it; `onRelease` runs as the slot is given back. */
function slot(onRelease: () => void = () => {}) {
  const log: { event: 'acquire' | 'release'; at: number }[] = []
  const acquireConnection = async () => {
    log.push({ event: 'acquire', at: performance.now() })
    return () => {
      log.push({ event: 'release', at: performance.now() })
      onRelease()
    }
  }
  return { log, acquireConnection }
}

describe('downloadFile and its connection slot', () => {
  let origin: Origin
  let agent: Agent
  let downloader: Downloader
  let dir: string

  before(async () => {
    origin = await startOrigin()
    let dispatcher: Dispatcher
    ;({ agent, dispatcher } = createDownloadAgent({
      policy: createAddressPolicy({ allowedCidrs: ['127.0.0.0/8', '::1/128'], allowedHosts: [] }),
      connectTimeoutMs: 5_000,
      idleTimeoutMs: 5_000,
    }))
    downloader = { dispatcher, disk: new DiskCalls(createLogger('silent')), batches: new BatchBuffers(), policy }
    dir = await mkdtemp(join(tmpdir(), 'batchdl-download-file-'))
  })
  after(async () => {
    await agent.close()
    await origin.close()
    await rm(dir, { recursive: true, force: true })
  })

  const request = (name: string, params: Record<string, string | number>, acquireConnection: DownloadRequest['acquireConnection']) => ({
    url: origin.url(name, params),
    dest: join(dir, name),
    tmp: join(dir, `${name}.part`),
    signal: new AbortController().signal,
    progress: newProgress(),
    mayHavePartial: false,
    acquireConnection,
  })

  it('keeps its connection for the next file when a body ends where the file does', async () => {
    const before = origin.connections()
    // Without a resume record (under 64 KiB) and with one.
    const sizes = [10 * 1024, 10 * 1024, 10 * 1024, 300 * 1024, 300 * 1024, 300 * 1024]
    for (const [i, size] of sizes.entries()) {
      const outcome = await downloadFile(downloader, request(`kept-${i}.bin`, { size }, slot().acquireConnection))
      assert.equal(outcome.state, 'done')
    }
    // undici may open a second socket while the first answer's is handed back to its pool; one per file it must not.
    const opened = origin.connections() - before
    assert.ok(opened <= 2, `${sizes.length} files, one after another, opened ${opened} connections`)
  })

  it('gives the slot back once the body is in, before the file is renamed into place', async () => {
    const size = 300 * 1024
    let atRelease: { bytes: number; renamed: boolean } | null = null
    const req = request('early.bin', { size }, slot(() => {
      atRelease = { bytes: req.progress.bytes, renamed: existsSync(req.dest) }
    }).acquireConnection)
    const outcome = await downloadFile(downloader, req)
    assert.equal(outcome.state, 'done')
    assert.deepEqual(atRelease, { bytes: size, renamed: false })
    assert.deepEqual(await readFile(req.dest), fileBytes('early.bin', size))
  })

  it('holds no slot while a retry waits, and takes one per attempt', async () => {
    const { log, acquireConnection } = slot()
    const req = request('retry.bin', { size: 2048, fail: 503, times: 1 }, acquireConnection)
    const outcome = await downloadFile(downloader, req)
    assert.equal(outcome.state, 'done')
    assert.equal(outcome.attempts, 2)
    assert.deepEqual(log.map((e) => e.event), ['acquire', 'release', 'acquire', 'release'])
    // The backoff (100 to 200 ms here) passed between the first release and the second acquire.
    assert.ok(log[2]!.at - log[1]!.at >= 90, `the retry took its slot ${log[2]!.at - log[1]!.at} ms after the first attempt gave it back`)
  })

  it('fails cleanly when the file cannot be created while the request is out, and gives the slot back', async () => {
    const { log, acquireConnection } = slot()
    const req = { ...request('nodir.bin', { size: 2048, delay: 50 }, acquireConnection), tmp: join(dir, 'missing', 'nodir.bin.part') }
    const outcome = await downloadFile(downloader, req)
    assert.equal(outcome.state, 'failed')
    assert.equal(outcome.error, 'disk_error')
    assert.deepEqual(log.map((e) => e.event), ['acquire', 'release'])
    // The connection is not left holding the unread body: the next file on it goes through.
    const next = await downloadFile(downloader, request('after-nodir.bin', { size: 2048 }, slot().acquireConnection))
    assert.equal(next.state, 'done')
  })

  it('leaves no file behind when the server answers an error, though the file was created during the request', async () => {
    const req = request('gone.bin', { status: 404, delay: 20 }, slot().acquireConnection)
    const outcome = await downloadFile(downloader, req)
    assert.equal(outcome.state, 'failed')
    assert.equal(outcome.httpStatus, 404)
    assert.deepEqual((await readdir(dir)).filter((f) => f.startsWith('gone.bin')), [])
  })

  it('fails a 206 to a request for the whole file as range_mismatch, dropping the body it will not read', async () => {
    const { log, acquireConnection } = slot()
    const outcome = await downloadFile(downloader, request('badrange.bin', { size: 2048, badrange: 1 }, acquireConnection))
    assert.equal(outcome.state, 'failed')
    assert.equal(outcome.error, 'range_mismatch')
    assert.equal(outcome.attempts, policy.maxAttempts)
    assert.equal(log.filter((e) => e.event === 'release').length, policy.maxAttempts)
  })

  it('reads a short error body to keep the connection, and drops a long one rather than reading it all', async () => {
    const short = await downloadFile(downloader, request('short-error.bin', { status: 404, errorBody: 1000 }, slot().acquireConnection))
    const long = await downloadFile(downloader, request('long-error.bin', { status: 404, errorBody: 64 * 1024 * 1024 }, slot().acquireConnection))
    for (const outcome of [short, long]) {
      assert.equal(outcome.state, 'failed')
      assert.equal(outcome.error, 'http_error')
      assert.equal(outcome.httpStatus, 404)
    }
    const delivered = (name: string) => Promise.all(origin.requests.filter((r) => r.path === `/f/${name}`).map((r) => r.delivered))
    // A 404 is not retried: one request each. The short body was read whole, the 64 MiB one cut short.
    assert.deepEqual(await delivered('short-error.bin'), [true])
    assert.deepEqual(await delivered('long-error.bin'), [false])
  })

  it('takes an informational 103 before the answer in its stride', async () => {
    const req = request('hints.bin', { size: 4096, earlyHints: 1 }, slot().acquireConnection)
    const outcome = await downloadFile(downloader, req)
    assert.equal(outcome.state, 'done', outcome.error ?? '')
    assert.deepEqual(await readFile(req.dest), fileBytes('hints.bin', 4096))
  })
})
