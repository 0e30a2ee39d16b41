// The zip's source of task files (src/api/archive-files.ts) on the real
// filesystem: a small file read at once while the disk calls are on the event
// loop, the same bytes through open() once they are in the thread pool, and a
// file that changed or went missing named in its error either way.
import assert from 'node:assert/strict'
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { taskFileSource } from '../src/api/archive-files.js'
import { DiskCalls } from '../src/download/disk-calls.js'
import { createLogger } from '../src/logger.js'
import type { EntrySource } from '../src/zip/writer.js'

const quiet = createLogger('silent')
const BODY = Buffer.from('a small file of the task')

/** A DiskCalls whose calls all seem to take `callMs` (its clock moves that much at each reading). */
function diskTaking(callMs: number): DiskCalls {
  let now = 0
  return new DiskCalls(quiet, { windowCalls: 2, now: () => (now += callMs) })
}

/** The entry's bytes through open() and read() until the end. */
async function readOpened(source: EntrySource, name: string, size: number): Promise<Buffer> {
  const reader = await source.open(name, size, 0)
  const parts: Uint8Array[] = []
  try {
    for (let chunk; (chunk = await reader.read()) !== null; ) parts.push(Buffer.from(chunk))
  } finally {
    await reader.close()
  }
  return Buffer.concat(parts)
}

describe('task file source', () => {
  let dir: string
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'batchdl-archive-files-'))
    await writeFile(join(dir, 'small.txt'), BODY)
    await writeFile(join(dir, 'grown.txt'), BODY)
    await appendFile(join(dir, 'grown.txt'), '!')
  })
  after(() => rm(dir, { recursive: true, force: true }))

  it('reads a small file straight into the target while the disk is fast, and names a file that changed or is missing', () => {
    const source = taskFileSource(dir, diskTaking(0.01))
    const target = Buffer.alloc(64)
    assert.equal(source.readNow('small.txt', BODY.length, 0, target, 7), true)
    assert.ok(target.subarray(7, 7 + BODY.length).equals(BODY))
    assert.equal(target[6], 0, 'nothing before `at`')

    assert.throws(() => source.readNow('grown.txt', BODY.length, 1, target, 0), { code: 'file_changed', message: /grown\.txt .* more bytes/ })
    assert.throws(() => source.readNow('small.txt', BODY.length + 1, 2, target, 0), { code: 'file_changed', message: new RegExp(`only ${BODY.length} bytes`) })
    assert.throws(() => source.readNow('gone.txt', 3, 3, target, 0), { code: 'file_missing', message: /gone\.txt/ })
    assert.throws(() => source.readNow('../small.txt', BODY.length, 4, target, 0), { code: 'file_unreadable' })
  })

  it('declines, having written nothing, once the disk calls are in the thread pool, and open() gives the same bytes', async () => {
    const disk = diskTaking(5) // every call slow: the first window moves them to the thread pool
    const source = taskFileSource(dir, disk)
    assert.deepEqual(await readOpened(source, 'small.txt', BODY.length), BODY)
    assert.equal(disk.onEventLoop, false)
    const target = Buffer.alloc(64)
    assert.equal(source.readNow('small.txt', BODY.length, 0, target, 0), false)
    assert.ok(target.equals(Buffer.alloc(64)))
    assert.deepEqual(await readOpened(source, 'small.txt', BODY.length), BODY)
    await assert.rejects(readOpened(source, 'grown.txt', BODY.length), { code: 'file_changed' })
  })
})
