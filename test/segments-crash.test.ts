// A worker killed with SIGKILL in the middle of a file it fetches over
// several connections: the next worker fetches only the ranges that were
// missing (what the origin was asked for shows it), the file is
// byte-identical, and each reply message arrives exactly once.
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { fileBytes, sha256Hex } from '../testkit/file-bytes.js'
import { assertProtocol } from './helpers/protocol.js'
import { readReplies, waitFor, withService, notInFastRun } from '../testkit/service.js'

const MiB = 1024 * 1024

/** Bytes a Range header asks for, in a file of `size` bytes. */
function asked(range: string, size: number): number {
  const m = /^bytes=(\d+)-(\d*)$/.exec(range)
  assert.ok(m, `a byte range: ${range}`)
  return (m[2] ? Number(m[2]) + 1 : size) - Number(m[1])
}

describe('worker killed mid-way through a split file', { skip: notInFastRun }, () => {
  const service = withService('segcrash', { JOB_LOCK_MS: '2000', SEGMENT_MIN_BYTES: String(MiB), MAX_CONNECTIONS_PER_TASK: '8', DOWNLOAD_IDLE_TIMEOUT_MS: '5000' }, { inProcess: false })

  it('resumes each range where it stopped, never fetching finished ranges again', async () => {
    const { env, origin } = service
    const api = await service.spawn('api')
    const size = 64 * MiB
    const expected = sha256Hex(fileBytes('seg-crash', size))
    const files = [{ fn: 'big.bin', url: origin.url('seg-crash', { size, rate: MiB }), sha256: expected }]
    const res = await fetch(`${api.address}/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ task_id: 'segcrash', task_info: files }),
    })
    assert.equal(res.status, 202)
    const replies = readReplies(`${env.LEGACY_REPLY_PREFIX}_segcrash`, 90_000)
    const bytes = async () => ((await (await fetch(`${api.address}/tasks/segcrash`)).json()) as { files: { bytes: number }[] }).files[0]!.bytes

    const first = await service.spawn('worker')
    await waitFor(async () => ((await bytes()) >= size / 2 ? true : undefined), 60_000, 'half the file')
    await first.stop('SIGKILL')
    const before = origin.requests.length
    assert.ok(origin.requests.filter((r) => r.range).length >= 4, 'the first worker used several ranged connections')

    await service.spawn('worker')
    assertProtocol(await replies, ['big.bin'])
    assert.deepEqual(await readFile(join(env.DOWNLOAD_DIR!, 'segcrash', 'big.bin')), fileBytes('seg-crash', size))

    const resumed = origin.requests.slice(before)
    assert.ok(resumed.length > 0)
    for (const r of resumed) {
      assert.ok(r.range && r.ifRange, `the next worker asked for a range with If-Range, got ${r.range}`)
      assert.ok(!r.range.startsWith('bytes=0-'), 'not from the start')
    }
    // Half was received when the worker died; the record lags by at most a second of 8 connections (8 MiB).
    const total = resumed.reduce((n, r) => n + asked(r.range!, size), 0)
    assert.ok(total <= size / 2 + 10 * MiB, `the next worker asked for ${(total / MiB).toFixed(1)} MiB of ${size / MiB}`)
  })
})
