// The zip writer (src/zip) on its own, fed from memory, read back by python3's
// zipfile and Info-ZIP's zipinfo: zip64 for sizes and offsets past 4 GiB and
// for 65,535 entries and more, without 4 GiB of disk or of download; the
// planned size equal to the bytes written; a source that lies stops the zip.
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { crc32 } from 'node:zlib'
import { ZipNames } from '../src/zip/names.js'
import { planZip as planNamesAndSizes } from '../src/zip/plan.js'
import { zipChunks, ZipSizeError, type EntrySource } from '../src/zip/writer.js'
import { notInFastRun } from '../testkit/service.js'
import { pythonZip, zipinfoNames } from './helpers/archive.js'

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex')
const MODIFIED = new Date(2024, 5, 30, 12, 34, 56)
const ZEROS = Buffer.alloc(1024 * 1024)

interface ZipEntry {
  name: string
  size: number
}

const planZip = (entries: readonly ZipEntry[], modified: Date) =>
  planNamesAndSizes(
    ZipNames.of(entries.map((e) => e.name)),
    entries.map((e) => e.size),
    modified,
  )

/** Entries whose bytes are in memory; an entry named in `zeros` is that many zero bytes, a shared buffer over and over. */
function memorySource(data: Map<string, Buffer>, zeros = new Map<string, number>()): EntrySource {
  return {
    async open(name) {
      const whole = data.get(name)
      let left = zeros.get(name) ?? 0
      let sent = whole === undefined
      return {
        async read() {
          if (!sent) {
            sent = true
            return whole!
          }
          if (left === 0) return null
          const n = Math.min(left, ZEROS.length)
          left -= n
          return ZEROS.subarray(0, n)
        },
        async close() {},
      }
    },
  }
}

/**
 * The same entries, the small ones handed over at once (readNow) where
 * `now(name)` says so, and through open() otherwise, as a source of files
 * does when its disk calls are in the thread pool.
 */
function memorySourceNow(data: Map<string, Buffer>, now: (name: string) => boolean): EntrySource {
  const { open } = memorySource(data)
  return {
    open,
    readNow(name, size, _index, target, at) {
      if (!now(name)) return false
      const bytes = data.get(name)!
      assert.equal(bytes.length, size)
      assert.ok(target.length > at + size, 'room for the byte past the end')
      target.set(bytes, at)
      // What a file source's read of one byte more leaves there when the file ends.
      target[at + size] = 0xee
      return true
    },
  }
}

/** Writes the zip to `path`, its runs of zeros as holes, so that 4 GiB cost no disk; returns the bytes written. */
async function writeSparse(path: string, chunks: AsyncIterable<Buffer>): Promise<number> {
  const fh = await open(path, 'w')
  let position = 0
  try {
    for await (const chunk of chunks) {
      const zero = chunk.length <= ZEROS.length && chunk.equals(ZEROS.subarray(0, chunk.length))
      if (!zero) await fh.write(chunk, 0, chunk.length, position)
      position += chunk.length
    }
    await fh.truncate(position)
  } finally {
    await fh.close()
  }
  return position
}

async function collect(chunks: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = []
  for await (const c of chunks) parts.push(c)
  return Buffer.concat(parts)
}

describe('zip writer', () => {
  let work: string
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'batchdl-zipwriter-'))
  })
  after(async () => {
    await rm(work, { recursive: true, force: true })
  })

  it('zip64 for sizes and offsets: a 4 GiB entry, then entries that start past 4 GiB', { timeout: 180_000, skip: notInFastRun }, async () => {
    const after = randomBytes(5000)
    const last = randomBytes(10)
    const entries: ZipEntry[] = [
      { name: 'huge.bin', size: 2 ** 32 },
      { name: 'after.bin', size: after.length },
      { name: 'last.bin', size: last.length },
    ]
    const plan = await planZip(entries, MODIFIED)
    assert.equal(plan.zip64End, true)
    const source = memorySource(new Map([['after.bin', after], ['last.bin', last]]), new Map([['huge.bin', 2 ** 32]]))
    const path = join(work, 'huge.zip')
    const written = await writeSparse(path, zipChunks(plan, source))
    assert.equal(written, plan.size)

    const zip = await pythonZip(path, ['after.bin', 'last.bin'])
    assert.ok(zip.zip64, 'a zip64 end of central directory record')
    assert.deepEqual(zip.entries.map((e) => [e.name, e.size]), [['huge.bin', 2 ** 32], ['after.bin', 5000], ['last.bin', 10]])
    assert.ok(zip.entries[1]!.offset > 2 ** 32, 'after.bin starts past 4 GiB')
    assert.deepEqual(zip.entries.slice(1).map((e) => e.sha256), [sha256(after), sha256(last)], 'read back, CRC-32 checked')
    // 2^32 - 1 zero bytes bring CRC-32's register back to where it started
    // (python3 and zlib agree), so 2^32 zero bytes have the CRC of one: a
    // writer that skipped or repeated a chunk of the 4 GiB would differ.
    assert.equal(zip.entries[0]!.crc, crc32(Buffer.alloc(1)))
    assert.deepEqual(await zipinfoNames(path), ['huge.bin', 'after.bin', 'last.bin'])
  })

  it('zip64 end records from 65,535 entries on, and not before', { timeout: 120_000, skip: notInFastRun }, async () => {
    assert.equal((await planZip(Array.from({ length: 65_534 }, (_, i) => ({ name: `${i}`, size: 1 })), MODIFIED)).zip64End, false)
    const data = new Map(Array.from({ length: 65_535 }, (_, i) => [`e${i}`, Buffer.from([i & 0xff, i >> 8])] as const))
    const plan = await planZip([...data].map(([name, b]) => ({ name, size: b.length })), MODIFIED)
    assert.equal(plan.zip64End, true)
    const path = join(work, 'count.zip')
    const bytes = await collect(zipChunks(plan, memorySource(data)))
    assert.equal(bytes.length, plan.size)
    await writeFile(path, bytes)
    const zip = await pythonZip(path)
    assert.ok(zip.zip64)
    assert.equal(zip.entries.length, 65_535)
    assert.deepEqual(zip.entries.map((e) => e.sha256), [...data.values()].map(sha256))
    assert.equal((await zipinfoNames(path)).length, 65_535)
  })

  it('writes exactly the planned bytes: no entries, empty entries, UTF-8 names, names of up to 65,535 bytes, entries read at once', async () => {
    const cases: [string, Map<string, Buffer>][] = [
      ['none', new Map()],
      ['empty', new Map([['empty.txt', Buffer.alloc(0)], ['one.txt', Buffer.from('1')]])],
      // Small entries across the 64 KiB batches, one just under the 16 KiB read at once, one at it.
      ['small', new Map(Array.from({ length: 40 }, (_, i) => [`s${i}.bin`, randomBytes(i === 0 ? 16 * 1024 - 1 : i === 1 ? 16 * 1024 : 4000 + i)] as const))],
      ['names', new Map([['café.jpg', randomBytes(70_000)], ['照片 (2).png', randomBytes(3)], ['🙂.txt', Buffer.from('smile')]])],
      // Headers longer than the writer's 64 KiB batch, and a UTF-8 name of 60,004 bytes.
      ['long names', new Map([['n'.repeat(65_535), randomBytes(10)], [`${'é'.repeat(30_000)}.bin`, randomBytes(20_000)], ['z', randomBytes(5)]])],
    ]
    for (const [label, data] of cases) {
      const plan = await planZip([...data].map(([name, b]) => ({ name, size: b.length })), MODIFIED)
      const bytes = await collect(zipChunks(plan, memorySource(data)))
      assert.equal(bytes.length, plan.size, label)
      // The same bytes when small entries are handed over at once, all of them or every other one.
      let other = false
      for (const now of [() => true, () => (other = !other)]) {
        assert.ok((await collect(zipChunks(plan, memorySourceNow(data, now)))).equals(bytes), `${label}, read at once`)
      }
      const path = join(work, `${label}.zip`)
      await writeFile(path, bytes)
      const zip = await pythonZip(path)
      assert.equal(zip.zip64, false, label)
      assert.deepEqual(zip.entries.map((e) => [e.name, e.sha256]), [...data].map(([name, b]) => [name, sha256(b)]), label)
    }
  })

  it('stops, short of the planned size, when a source gives fewer or more bytes than planned', async () => {
    for (const actual of [9, 11]) {
      const data = new Map([['a.bin', randomBytes(100)], ['b.bin', randomBytes(actual)], ['c.bin', randomBytes(100)]])
      const plan = await planZip([{ name: 'a.bin', size: 100 }, { name: 'b.bin', size: 10 }, { name: 'c.bin', size: 100 }], MODIFIED)
      const parts: Buffer[] = []
      await assert.rejects(async () => {
        for await (const c of zipChunks(plan, memorySource(data))) parts.push(c)
      }, ZipSizeError)
      assert.ok(Buffer.concat(parts).length < plan.size, `b.bin of ${actual} bytes: no complete-looking zip`)
    }
  })
})
