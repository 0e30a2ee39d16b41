// GET /tasks/:id/archive at scale and under faults, against the real program
// in a child process (so that a crash shows as a dead service, and its event
// loop is its own): exact Content-Length, many entries, files that vanish or
// change on disk. The zip64 cases are in zip-writer.test.ts.
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { appendFile, mkdtemp, readdir, readlink, rm, truncate, writeFile } from 'node:fs/promises'
import { Agent } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { download, LOOP_DELAY_PRELOAD, loopDelay, probeLiveWhile, pythonZip, recordFinishedTask, type FixtureFile } from './helpers/archive.js'
import { notInFastRun, withService, type ChildService } from '../testkit/service.js'

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex')

/** Checks a downloaded zip with python3: the fixture's done files, in order, byte for byte, every CRC-32 right. */
async function assertZipHolds(path: string, files: FixtureFile[]) {
  const zip = await pythonZip(path)
  const expected = files.filter((f) => !f.failed).map((f) => ({ name: f.saved_as, sha256: sha256(f.content as Buffer) }))
  assert.deepEqual(zip.entries.map((e) => ({ name: e.name, sha256: e.sha256 })), expected)
  return zip
}

// Bounds for the 10,000-entry zip, for a loaded 2-core CI rather than a quiet machine. Quiet, it
// holds the loop 5 to 24 ms (median 6 in a script of the same steps, 11 in this test) and
// /health/live answers within 55 ms; at a load of 4 to 6, other processes' turns on the cores
// stretch both: up to 36 ms held; and beside a benchmark this test has seen 116 to 178 ms
// (decision 0011, third round).
const MAX_LOOP_HELD_MS = 70
const MAX_LIVE_MS = 200

// One child service (ROLE=api) for the file's suites (a start costs seconds on a
// busy machine), and a scratch folder for the zips it sends.
describe('archive in a child process', { skip: notInFastRun }, () => {
  const fixture = withService('archive-zip', {}, { inProcess: false })
  const ctx = {} as { env: Record<string, string>; service: ChildService; base: string; work: string }
  before(async () => {
    ctx.env = fixture.env
    ctx.service = await fixture.spawn('api', {}, { preload: [LOOP_DELAY_PRELOAD] })
    ctx.base = ctx.service.address!
    ctx.work = await mkdtemp(join(tmpdir(), 'batchdl-archive-zip-'))
  })
  after(async () => {
    if (ctx.work) await rm(ctx.work, { recursive: true, force: true })
  })

  describe('archive of many files', () => {
    it('2,000 files over a keep-alive connection: Content-Length is the bytes sent, and the body ends', async () => {
      // Long names make the central directory larger than 64 KiB, where yazl's prediction went wrong.
      const files = Array.from({ length: 2000 }, (_, i) => ({
        saved_as: `photo-${String(i).padStart(4, '0')}-${'long-name-'.repeat(6)}.jpg`,
        content: randomBytes(i % 3000),
      }))
      await recordFinishedTask(ctx.env, 'many2k', files)
      const agent = new Agent({ keepAlive: true, maxSockets: 1 })
      try {
        const res = await download(`${ctx.base}/tasks/many2k/archive`, { agent, deadlineMs: 20_000 })
        assert.equal(res.status, 200)
        assert.equal(res.error, null)
        assert.ok(res.complete)
        assert.equal(Number(res.headers['content-length']), res.body.length)
        // The same connection carries the next request: the framing was right.
        const next = await download(`${ctx.base}/health/live`, { agent, deadlineMs: 5000 })
        assert.equal(next.status, 200)
        const path = join(ctx.work, 'many2k.zip')
        await writeFile(path, res.body)
        await assertZipHolds(path, files)
      } finally {
        agent.destroy()
      }
    })

    it('10,000 files: a valid zip, while /health/live answers and the event loop is never held', { timeout: 120_000 }, async (t) => {
      const files = Array.from({ length: 10_000 }, (_, i) => ({ saved_as: `f${i}.txt`, content: randomBytes(i % 100) }))
      await recordFinishedTask(ctx.env, 'many10k', files)
      // Measured from the request (read the task, plan the zip) to the zip's last byte.
      await loopDelay(ctx.service) // starts the service's window
      const body = download(`${ctx.base}/tasks/many10k/archive`, { deadlineMs: 60_000 })
      const live = await probeLiveWhile(ctx.base, body)
      const res = await body
      const loop = await loopDelay(ctx.service)
      t.diagnostic(
        `event loop held up to ${loop.maxMs.toFixed(1)} ms (p99 ${loop.p99Ms.toFixed(1)} ms); ` +
          `service CPU ${loop.cpuMs.toFixed(0)} ms; GC ${loop.gc.count} pauses, ${loop.gc.totalMs.toFixed(1)} ms in all, ${loop.gc.maxMs.toFixed(1)} ms at most; ` +
          `/health/live answered ${live.probes} times, in ${live.maxMs.toFixed(1)} ms at most`,
      )
      assert.ok(live.probes >= 3, `only ${live.probes} probes: the zip streamed too fast to measure`)
      assert.ok(loop.maxMs < MAX_LOOP_HELD_MS, `the service's event loop was held up to ${loop.maxMs.toFixed(1)} ms while the zip streamed`)
      assert.ok(live.maxMs < MAX_LIVE_MS, `/health/live took up to ${live.maxMs.toFixed(1)} ms while the zip streamed (${live.probes} probes)`)
      assert.equal(res.status, 200)
      assert.equal(res.error, null)
      assert.equal(Number(res.headers['content-length']), res.body.length)
      const path = join(ctx.work, 'many10k.zip')
      await writeFile(path, res.body)
      const zip = await assertZipHolds(path, files)
      assert.equal(zip.entries.length, 10_000)
    })
  })

  describe('archive of files that changed on disk', () => {
    const threeFiles = () => [
      { saved_as: 'a.bin', content: randomBytes(300_000) },
      { saved_as: 'b.bin', content: randomBytes(300_000) },
      { saved_as: 'c.bin', content: randomBytes(1000) },
    ]

    /** The archive of a task whose disk no longer matches: that one response fails, the service goes on. */
    async function assertFailsAlone(taskId: string, what: string) {
      const res = await download(`${ctx.base}/tasks/${taskId}/archive`, { deadlineMs: 10_000 })
      if (res.status === 200) {
        // Already streaming when the fault was found: cut short, never a complete-looking zip.
        assert.equal(res.complete, false, `${what}: the response was aborted`)
        assert.ok(res.body.length < Number(res.headers['content-length']), `${what}: fewer bytes than announced`)
        assert.notEqual(res.error, `no end within 10000 ms`, `${what}: aborted, not left hanging`)
      } else {
        assert.equal(res.status, 500, `${what}: ${res.body.toString()}`)
      }
      const live = await fetch(`${ctx.base}/health/live`)
      assert.equal(live.status, 200)
      assert.equal(ctx.service.child.exitCode, null, 'the service is still running')
      return res
    }

    it('a file removed after the task ended fails that response, logged, and the service goes on', async () => {
      await recordFinishedTask(ctx.env, 'removed', threeFiles())
      await rm(join(ctx.env.DOWNLOAD_DIR!, 'removed', 'b.bin'))
      const res = await assertFailsAlone('removed', 'b.bin removed')
      assert.equal(res.status, 200, 'a.bin was sent before b.bin was found missing')
      const logged = ctx.service.logs.find((l) => l.includes('"archive failed"') && l.includes('b.bin'))
      assert.ok(logged, 'the failure is logged with the file it concerns')
      assert.match(logged, /"code":"file_missing"/)

      // The first file missing: nothing was sent yet, so a plain error answer.
      await recordFinishedTask(ctx.env, 'removed-first', threeFiles())
      await rm(join(ctx.env.DOWNLOAD_DIR!, 'removed-first', 'a.bin'))
      const first = await assertFailsAlone('removed-first', 'a.bin removed')
      assert.equal(first.status, 500)
      assert.equal(first.headers['content-type'], 'application/json; charset=utf-8')
      assert.equal(first.headers['content-disposition'], undefined)
      assert.equal(JSON.parse(first.body.toString()).error, 'file_missing')

      // A small file missing, read in one go (decision 0011): the same error.
      await recordFinishedTask(ctx.env, 'removed-small', threeFiles())
      await rm(join(ctx.env.DOWNLOAD_DIR!, 'removed-small', 'c.bin'))
      await assertFailsAlone('removed-small', 'c.bin removed')
      assert.ok(ctx.service.logs.some((l) => l.includes('"archive failed"') && l.includes('c.bin') && l.includes('"code":"file_missing"')))
    })

    it('a file whose size changed after the task ended fails that response, and the service goes on', async () => {
      await recordFinishedTask(ctx.env, 'grown', threeFiles())
      await appendFile(join(ctx.env.DOWNLOAD_DIR!, 'grown', 'b.bin'), 'more')
      await assertFailsAlone('grown', 'b.bin grew')

      await recordFinishedTask(ctx.env, 'shrunk', threeFiles())
      await truncate(join(ctx.env.DOWNLOAD_DIR!, 'shrunk', 'b.bin'), 1000)
      await assertFailsAlone('shrunk', 'b.bin shrank')

      // A small file, read in one go without a promise (decision 0011), is checked as well.
      await recordFinishedTask(ctx.env, 'grown-small', threeFiles())
      await appendFile(join(ctx.env.DOWNLOAD_DIR!, 'grown-small', 'c.bin'), 'x')
      await assertFailsAlone('grown-small', 'c.bin grew')
      await recordFinishedTask(ctx.env, 'shrunk-small', threeFiles())
      await truncate(join(ctx.env.DOWNLOAD_DIR!, 'shrunk-small', 'c.bin'), 999)
      await assertFailsAlone('shrunk-small', 'c.bin shrank')

      const logged = ctx.service.logs.filter((l) => l.includes('"archive failed"') && l.includes('"code":"file_changed"'))
      assert.equal(logged.length, 4, 'every failure is logged')
      assert.ok(
        logged.some((l) => l.includes('c.bin changed on disk: it has more bytes')) && logged.some((l) => l.includes('c.bin changed on disk: it has only 999 bytes')),
        'the small file is named, with what it has',
      )
    })

    it('a client that hangs up mid-zip leaves no file open in the service', async () => {
      const files = Array.from({ length: 20 }, (_, i) => ({ saved_as: `big${i}.bin`, content: randomBytes(1_000_000) }))
      await recordFinishedTask(ctx.env, 'hangup', files)
      // The service's descriptors that point into this task's folder: other descriptors
      // (sockets, Redis connections) come and go on their own and say nothing of the zip.
      const fdDir = `/proc/${ctx.service.child.pid}/fd`
      const openTaskFiles = async () => {
        let open = 0
        for (const fd of await readdir(fdDir)) {
          const target = await readlink(join(fdDir, fd)).catch(() => '')
          if (target.includes('/hangup/')) open++
        }
        return open
      }
      const res = await fetch(`${ctx.base}/tasks/hangup/archive`)
      const reader = res.body!.getReader()
      await reader.read()
      await reader.cancel()
      // Wait, with a deadline, for the service to close what the zip held open.
      const deadline = Date.now() + 5000
      while ((await openTaskFiles()) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25))
      assert.equal(await openTaskFiles(), 0, 'files of the task still open after the client hung up')
      assert.equal((await fetch(`${ctx.base}/health/live`)).status, 200)
    })
  })
})
