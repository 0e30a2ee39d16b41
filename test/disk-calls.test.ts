// DiskCalls on the real filesystem, with a clock the test moves: each call is
// made to "take" a chosen time, so that a slow disk can be played on a fast one.
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { DiskCalls, type DiskCallsOptions } from '../src/download/disk-calls.js'
import { createLogger } from '../src/logger.js'

let dir: string

/** A DiskCalls whose clock moves `callMs` each time it is read (so each call takes that long), and the warnings it logs. */
function diskWithClock(opts: DiskCallsOptions = {}) {
  const clock = { now: 0, callMs: 0.01 }
  const warnings: { msg: string; calls: number; slowCalls: number; lastMs: number }[] = []
  const log = createLogger('warn', { write: (line: string) => warnings.push(JSON.parse(line) as (typeof warnings)[number]) })
  const now = () => (clock.now += clock.callMs)
  const disk = new DiskCalls(log, { windowCalls: 8, slowCallMs: 0.2, stallMs: 50, threadPoolMs: 60_000, now, ...opts })
  return { disk, clock, warnings }
}

/** One file's calls as a download makes them: open, one write, close, rename. Returns how many calls that was. */
async function writeFile(disk: DiskCalls, name: string, body: string): Promise<number> {
  const fd = await disk.open(join(dir, `${name}.part`), 'w')
  assert.equal(await disk.writev(fd, [Buffer.from(body)]), body.length)
  await disk.close(fd)
  await disk.rename(join(dir, `${name}.part`), join(dir, name))
  return 4
}

describe('DiskCalls', () => {
  // In the suite, not at the top level: test:fast runs several files in one
  // process, where the top level's hooks are not this file's.
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'batchdl-disk-calls-'))
  })
  after(() => rm(dir, { recursive: true, force: true }))

  it('keeps calls on the event loop while the disk answers fast', async () => {
    const { disk, warnings } = diskWithClock()
    for (let i = 0; i < 10; i++) await writeFile(disk, `fast-${i}`, `file ${i}`)
    assert.equal(disk.onEventLoop, true)
    assert.deepEqual(warnings, [])
    assert.equal(await readFile(join(dir, 'fast-9'), 'utf8'), 'file 9')
  })

  it('moves calls to the thread pool when most of a window are slow, and tries the loop again later', async () => {
    const { disk, clock, warnings } = diskWithClock()
    clock.callMs = 0.3 // a network volume's round trip
    await writeFile(disk, 'slow-1', 'one')
    assert.equal(disk.onEventLoop, true, 'four calls are not yet a window')
    await writeFile(disk, 'slow-2', 'two')
    assert.equal(disk.onEventLoop, false)
    assert.equal(warnings.length, 1)
    assert.match(warnings[0]!.msg, /answers slowly/)
    assert.deepEqual([warnings[0]!.calls, warnings[0]!.slowCalls], [8, 8])

    // In the thread pool, calls still work, and their time is not counted.
    await writeFile(disk, 'pooled', 'three')
    assert.equal(await readFile(join(dir, 'pooled'), 'utf8'), 'three')
    assert.equal(disk.onEventLoop, false)
    assert.equal(warnings.length, 1)

    clock.now += 60_000
    assert.equal(disk.onEventLoop, true)
    clock.callMs = 0.01
    await writeFile(disk, 'fast-again-1', 'four')
    await writeFile(disk, 'fast-again-2', 'five')
    assert.equal(disk.onEventLoop, true)
  })

  it('moves on a second stall soon after the first, or on one stall of seconds, but not on one stall alone', async () => {
    const { disk, clock, warnings } = diskWithClock()
    // A thread preempted during its calls makes them slow now and then: here
    // half of a window, 20 ms each, among calls of 0.01 ms.
    for (let i = 0; i < 4; i++) {
      clock.callMs = 20
      const fd = await disk.open(join(dir, `preempted-${i}`), 'w')
      clock.callMs = 0.01
      await disk.close(fd)
    }
    assert.equal(disk.onEventLoop, true)

    // One stall, 80 ms (the event loop's thread preempted that long on a busy
    // machine), then fast calls: not the disk.
    clock.callMs = 80
    let fd = await disk.open(join(dir, 'stalled-once'), 'w')
    clock.callMs = 0.01
    await disk.close(fd)
    assert.equal(disk.onEventLoop, true)
    // A second one, more than a window (8 calls) later: still one stall at a time.
    for (let i = 0; i < 4; i++) await writeFile(disk, `between-${i}`, 'x')
    clock.callMs = 80
    fd = await disk.open(join(dir, 'stalled-later'), 'w')
    clock.callMs = 0.01
    await disk.close(fd)
    assert.equal(disk.onEventLoop, true)
    assert.equal(warnings.length, 0)

    // A stall confirmed within a window: the disk.
    await writeFile(disk, 'between', 'x')
    clock.callMs = 80
    await assert.rejects(disk.open(join(dir, 'no-such-folder', 'stalled-again'), 'w'), { code: 'ENOENT' })
    assert.equal(disk.onEventLoop, false)
    assert.equal(warnings.length, 1)
    assert.equal(warnings[0]!.lastMs, 80)

    // Back on the loop a minute later, the earlier stalls forgotten; one call of seconds is enough alone.
    clock.now += 60_000
    clock.callMs = 80
    fd = await disk.open(join(dir, 'stalled-after-pool'), 'w')
    clock.callMs = 0.01
    await disk.close(fd)
    assert.equal(disk.onEventLoop, true, 'the stalls before the pool are not counted')
    for (let i = 0; i < 4; i++) await writeFile(disk, `between-again-${i}`, 'x')
    clock.callMs = 1500
    fd = await disk.open(join(dir, 'stalled-long'), 'w')
    clock.callMs = 0.01
    await disk.close(fd)
    assert.equal(disk.onEventLoop, false)
    assert.equal(warnings.length, 2)
    assert.equal(warnings[1]!.lastMs, 1500)
  })

  it('reads a small file without a promise while on the event loop, each of its calls counted, and declines in the thread pool', async () => {
    const { disk, warnings } = diskWithClock()
    await writeFile(disk, 'small', 'hello, zip')
    const buf = Buffer.alloc(32, 0xff)
    // One byte more than the file: the read stops at its end.
    assert.equal(disk.readSmallFile(join(dir, 'small'), buf, 3, 11), 10)
    assert.equal(buf.subarray(3, 13).toString(), 'hello, zip')
    assert.equal(buf[2], 0xff)
    assert.equal(buf[13], 0xff, 'nothing written past what was read')
    // Less than the file: no more than asked.
    buf.fill(0xff)
    assert.equal(disk.readSmallFile(join(dir, 'small'), buf, 0, 5), 5)
    assert.equal(buf.subarray(0, 6).toString('latin1'), 'hello\xff')
    assert.throws(() => disk.readSmallFile(join(dir, 'no-such-file'), buf, 0, 5), { code: 'ENOENT' })

    assert.equal(warnings.length, 0)

    // Slow calls: open, two reads (the second finds the end) and close are four calls of a window of 8.
    const slow = diskWithClock()
    slow.clock.callMs = 0.3
    assert.equal(slow.disk.readSmallFile(join(dir, 'small'), buf, 0, 11), 10)
    assert.equal(slow.disk.onEventLoop, true, 'not yet a window')
    assert.equal(slow.disk.readSmallFile(join(dir, 'small'), buf, 0, 11), 10)
    assert.equal(slow.disk.onEventLoop, false)
    assert.deepEqual([slow.warnings[0]!.calls, slow.warnings[0]!.slowCalls], [8, 8])
    // In the thread pool: nothing read, the caller takes its asynchronous path.
    buf.fill(0)
    assert.equal(slow.disk.readSmallFile(join(dir, 'small'), buf, 0, 11), null)
    assert.equal(buf.toString('latin1', 0, 11), '\0'.repeat(11))
  })

  it('rejects with the error of the call on the event loop and in the thread pool, and counts the failed call', async () => {
    const { disk, clock } = diskWithClock({ windowCalls: 2 })
    const missing = join(dir, 'no-such-folder', 'file')
    clock.callMs = 0.5
    await assert.rejects(disk.open(missing, 'w'), { code: 'ENOENT' })
    await assert.rejects(disk.rename(missing, join(dir, 'x')), { code: 'ENOENT' })
    assert.equal(disk.onEventLoop, false, 'the failed calls made a slow window')
    await assert.rejects(disk.open(missing, 'a'), { code: 'ENOENT' })
  })
})
