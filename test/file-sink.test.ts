// FileSink against the real filesystem: bytes land in order whatever the
// chunk sizes, a slow body reaches the disk before its end, and open and
// write errors surface instead of vanishing.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import { after, before, describe, it } from 'node:test'
import { BATCH_BYTES, BatchBuffers } from '../src/download/batch-buffers.js'
import { DiskCalls } from '../src/download/disk-calls.js'
import { FileSink } from '../src/download/file-sink.js'
import { createLogger } from '../src/logger.js'
import { notInFastRun } from '../testkit/env.js'

const disk = new DiskCalls(createLogger('silent'))
const batches = new BatchBuffers()
let dir: string

/** Pushes the data in the given chunk sizes, waiting whenever the sink asks to. */
async function pushAll(sink: FileSink, data: Buffer, sizes: number[]): Promise<void> {
  for (let at = 0, i = 0; at < data.length; i++) {
    const n = Math.min(sizes[i % sizes.length]!, data.length - at)
    await sink.push(data.subarray(at, at + n))
    at += n
  }
}

describe('FileSink', () => {
  // In the suite, not at the top level: test:fast runs several files in one
  // process, where the top level's hooks are not this file's.
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'batchdl-sink-'))
  })
  after(() => rm(dir, { recursive: true, force: true }))

  it('lands every byte in order, for chunks smaller than, straddling and larger than a batch', async () => {
    const data = randomBytes(3 * BATCH_BYTES + 12_345)
    for (const sizes of [[1], [65_536], [100_000, 7, BATCH_BYTES - 1], [BATCH_BYTES], [2 * BATCH_BYTES + 3]]) {
      const path = join(dir, `order-${sizes.join('-')}`)
      const sink = await FileSink.open(disk, batches, path, false)
      // One byte at a time over 800 KiB is slow; a prefix shows the same.
      const body = sizes[0] === 1 ? data.subarray(0, 70_000) : data
      await pushAll(sink, body, sizes)
      await sink.close()
      assert.ok((await readFile(path)).equals(body), `chunks of ${sizes.join(', ')}`)
    }
  })

  it('appends to a partial file when asked to, else truncates it', async () => {
    const path = join(dir, 'partial')
    await writeFile(path, 'head-')
    const appending = await FileSink.open(disk, batches, path, true)
    await appending.push(Buffer.from('tail'))
    await appending.close()
    assert.equal(await readFile(path, 'utf8'), 'head-tail')
    const truncating = await FileSink.open(disk, batches, path, false)
    await truncating.push(Buffer.from('new'))
    await truncating.close()
    assert.equal(await readFile(path, 'utf8'), 'new')
  })

  it('copies a slow body into reused buffers and keeps none of its chunks; writes a fast one as it came after its first batch (decision 0013)', async () => {
    const taken = new Set<Buffer>()
    let takes = 0
    const own = new (class extends BatchBuffers {
      override take(): Buffer {
        const buffer = super.take()
        taken.add(buffer)
        takes++
        return buffer
      }
    })()
    let now = 1_000_000
    const fastData = randomBytes(3 * BATCH_BYTES)
    const fast = await FileSink.open(disk, own, join(dir, 'fast'), false, () => now)
    await pushAll(fast, fastData, [65_536])
    await fast.close()
    assert.ok((await readFile(join(dir, 'fast'))).equals(fastData))
    assert.equal(takes, 1, 'a body that fills its batches at once: only its first batch is copied')

    const path = join(dir, 'slow-copied')
    const sink = await FileSink.open(disk, own, path, false, () => now)
    // The first batch takes 25 ms to fill: the next ones are copied.
    const first = randomBytes(BATCH_BYTES)
    await sink.push(first.subarray(0, 1000))
    now += 25
    await sink.push(first.subarray(1000))
    // The socket's chunks (a read's worth, straddling batches): they may be reused or freed as soon as push() returns.
    const chunks = Array.from({ length: 9 }, () => randomBytes(65_536 + 7))
    const expected = Buffer.concat([first, ...chunks])
    for (const chunk of chunks) {
      now += 25 // still slow
      await sink.push(chunk)
      chunk.fill(0)
    }
    await sink.close()
    assert.ok((await readFile(path)).equals(expected), 'the bytes pushed, not what became of the chunks after')
    assert.equal(takes, 1 + 4, 'each of the slow body\'s 4 batches is copied')
    assert.ok(taken.has(own.take()), 'a buffer given back is taken again')
  })

  it('writes a slow body to disk before its end, for a successor to resume', async () => {
    const path = join(dir, 'slow')
    let now = 1_000_000
    const sink = await FileSink.open(disk, batches, path, false, () => now)
    await sink.push(Buffer.from('first'))
    now += 499
    await sink.push(Buffer.from('-second'))
    assert.equal(await readFile(path, 'utf8'), '', 'nothing written before 500 ms')
    now += 1
    // The first push after 500 ms starts a write of everything so far.
    await sink.push(Buffer.from('-third'))
    let onDisk = ''
    for (const deadline = Date.now() + 1000; onDisk === '' && Date.now() < deadline; ) {
      await sleep(10)
      onDisk = await readFile(path, 'utf8')
    }
    assert.equal(onDisk, 'first-second-third')
    await sink.close()
  })

  it('closes its file once, however often close() is called: the descriptor may by then belong to another file', async () => {
    const first = await FileSink.open(disk, batches, join(dir, 'closed-twice'), false)
    first.push(Buffer.from('first'))
    await first.close()
    // The lowest free descriptor is taken: most likely the one just closed.
    const second = await FileSink.open(disk, batches, join(dir, 'opened-after'), false)
    await first.close()
    assert.throws(() => first.push(Buffer.from('late')), /after the file was closed/)
    second.push(Buffer.from('second'))
    await second.close()
    assert.equal(await readFile(join(dir, 'opened-after'), 'utf8'), 'second')
    assert.equal(await readFile(join(dir, 'closed-twice'), 'utf8'), 'first')
  })

  it('refuses to open a file in a missing folder', async () => {
    await assert.rejects(FileSink.open(disk, batches, join(dir, 'missing', 'file'), false), { code: 'ENOENT' })
  })

  it('reports a failed write (a full disk) to the next push or to close', async () => {
    const sink = await FileSink.open(disk, batches, '/dev/full', false)
    let failed: unknown = null
    try {
      await pushAll(sink, randomBytes(4 * BATCH_BYTES), [65_536])
    } catch (err) {
      failed = err
    }
    const closed = await sink.close().then(() => null, (err: unknown) => err)
    assert.equal(((failed ?? closed) as NodeJS.ErrnoException | null)?.code, 'ENOSPC')
  })

  it('reports the failed write of a small file, made on the event loop, to close', async () => {
    const sink = await FileSink.open(disk, batches, '/dev/full', false)
    assert.equal(sink.push(randomBytes(1000)), null)
    await assert.rejects(sink.close(), { code: 'ENOSPC' })
  })

  // Two processes under prlimit: not in the fast run.
  it('does not take a short write (a filling disk) for a whole one: the rest is written, and the error comes', { skip: notInFastRun }, async () => {
    // A file size limit makes write() land part of the bytes, then fail with
    // EFBIG, as a filling disk does with ENOSPC. Each body is one write, at
    // close: 150 KiB in the thread pool, 40 KiB (a small file) on the event loop.
    for (const [limit, size] of [[100_000, 150 * 1024], [30_000, 40 * 1024]] as const) {
      const path = join(dir, `short-${size}`)
      const script = `
        import { BatchBuffers } from './src/download/batch-buffers.ts'
        import { DiskCalls } from './src/download/disk-calls.ts'
        import { FileSink } from './src/download/file-sink.ts'
        import { createLogger } from './src/logger.ts'
        const sink = await FileSink.open(new DiskCalls(createLogger('silent')), new BatchBuffers(), ${JSON.stringify(path)}, false)
        sink.push(Buffer.alloc(${size}, 1))
        await sink.close().then(() => console.log('closed'), (err) => console.log(err.code))`
      const { stdout } = await promisify(execFile)('prlimit', [`--fsize=${limit}`, process.execPath, '--import', 'tsx', '--input-type=module', '-e', script])
      assert.equal(stdout.trim(), 'EFBIG', `${size} bytes`)
      assert.equal((await readFile(path)).length, limit, `${size} bytes`)
    }
  })
})
