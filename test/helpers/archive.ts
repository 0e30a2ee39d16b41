// Helpers for the archive tests: finished tasks recorded straight into the
// store (no download needed for 10,000 files), a raw HTTP download that tells
// a short or aborted body from a complete one, and zip checks by python3.
import { execFile } from 'node:child_process'
import { mkdir, open, writeFile } from 'node:fs/promises'
import { request, type Agent, type IncomingHttpHeaders } from 'node:http'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Redis } from 'ioredis'
import { loadConfig } from '../../src/config.js'
import { createTaskStore, type FileSpec } from '../../src/tasks/store.js'
import type { FileErrorCode } from '../../src/vocabulary.js'
import { REDIS_URL, waitFor, type ChildService } from '../../testkit/service.js'

const run = promisify(execFile)

export interface FixtureFile {
  saved_as: string
  /** the file's bytes, or a size for a sparse file of zeros (cheap at any size) */
  content: Buffer | number
  /** recorded as failed with this error code, and not written to disk */
  failed?: FileErrorCode
}

/**
 * A task that ended, as a worker would leave it: its done files in
 * DOWNLOAD_DIR/<task_id>/ and every file recorded through the store.
 */
export async function recordFinishedTask(env: Record<string, string>, taskId: string, files: FixtureFile[]): Promise<void> {
  const dir = join(env.DOWNLOAD_DIR!, taskId)
  await mkdir(dir, { recursive: true })
  for (const f of files) {
    if (f.failed) continue
    if (typeof f.content === 'number') {
      const fh = await open(join(dir, f.saved_as), 'w')
      await fh.truncate(f.content)
      await fh.close()
    } else {
      await writeFile(join(dir, f.saved_as), f.content)
    }
  }
  const spec: FileSpec[] = files.map((f) => ({ fn: f.saved_as, url: `https://example.com/${encodeURIComponent(f.saved_as)}`, saved_as: f.saved_as }))
  const redis = new Redis(REDIS_URL)
  try {
    const store = createTaskStore(redis, loadConfig(env))
    await store.create(taskId, spec, 'fixture')
    await store.begin(taskId)
    for (let i = 0; i < files.length; i += 500) {
      const ends = files.slice(i, i + 500).map((f, j) => {
        const size = typeof f.content === 'number' ? f.content : f.content.length
        const outcome = f.failed
          ? { state: 'failed' as const, bytes: 0, size: null, httpStatus: 404, error: f.failed, attempts: 1 }
          : { state: 'done' as const, bytes: size, size, httpStatus: 200, error: null, attempts: 1 }
        return { index: i + j, file: spec[i + j]!, outcome }
      })
      await store.finishFiles(taskId, ends)
    }
    await store.finish(taskId, 'normal')
  } finally {
    redis.disconnect()
  }
}

export interface RawDownload {
  status: number
  headers: IncomingHttpHeaders
  body: Buffer
  /** the response ended normally (not aborted, not timed out) */
  complete: boolean
  /** what stopped it when not complete */
  error: string | null
}

/**
 * GET over node:http and collect the body. Never hangs: after `deadlineMs`
 * the request is destroyed and the result says so, with the bytes so far.
 */
export function download(
  url: string,
  opts: { agent?: Agent; deadlineMs?: number; onResponse?: () => void; onChunk?: (chunk: Buffer) => void } = {},
): Promise<RawDownload> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    let status = 0
    let headers: IncomingHttpHeaders = {}
    let settled = false
    const finish = (complete: boolean, error: string | null) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      resolve({ status, headers, body: Buffer.concat(chunks), complete, error })
    }
    const req = request(url, { agent: opts.agent }, (res) => {
      status = res.statusCode ?? 0
      headers = res.headers
      opts.onResponse?.()
      res.on('data', (c: Buffer) => (opts.onChunk ? opts.onChunk(c) : chunks.push(c)))
      res.on('end', () => finish(true, null))
      res.on('error', (err) => finish(false, err.message))
      res.on('aborted', () => finish(false, 'aborted'))
      res.on('close', () => finish(!res.errored && res.complete, res.complete ? null : 'closed before the end'))
    })
    const timer = setTimeout(() => {
      finish(false, `no end within ${opts.deadlineMs} ms`)
      req.destroy()
    }, opts.deadlineMs ?? 30_000)
    req.on('error', (err) => finish(false, err.message))
    req.end()
  })
}

export interface ZipListing {
  /** every entry as the central directory says, with the SHA-256 of its bytes when it was read */
  entries: { name: string; size: number; offset: number; crc: number; sha256: string | null }[]
  /** a zip64 end of central directory record is present */
  zip64: boolean
}

/**
 * python3's zipfile on a zip: its entries, and the bytes of those named in
 * `read` (all by default), each checked against its CRC-32 (a mismatch fails).
 */
export async function pythonZip(path: string, read: 'all' | string[] = 'all'): Promise<ZipListing> {
  const { stdout } = await run(
    'python3',
    [
      '-c',
      `
import hashlib, json, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
read = json.loads(sys.argv[2])
entries = [{'name': i.filename, 'size': i.file_size, 'offset': i.header_offset, 'crc': i.CRC,
            'sha256': hashlib.sha256(z.read(i)).hexdigest() if read == 'all' or i.filename in read else None}
           for i in z.infolist()]
with open(sys.argv[1], 'rb') as f:
    f.seek(0, 2)
    f.seek(max(0, f.tell() - 98))
    zip64 = b'PK\\x06\\x06' in f.read()
print(json.dumps({'entries': entries, 'zip64': zip64}))
`,
      path,
      JSON.stringify(read),
    ],
    { maxBuffer: 64 * 1024 * 1024 },
  )
  return JSON.parse(stdout) as ZipListing
}

/** Info-ZIP's view of a zip: its entry names (zipinfo -1), a second reader beside python's. */
export async function zipinfoNames(path: string): Promise<string[]> {
  const { stdout } = await run('zipinfo', ['-1', path], { maxBuffer: 64 * 1024 * 1024 })
  return stdout.split('\n').filter((l) => l !== '')
}

/** The longest time /health/live took to answer, probing one after another until `until` settles. */
export async function probeLiveWhile(base: string, until: Promise<unknown>): Promise<{ probes: number; maxMs: number }> {
  let done = false
  void until.finally(() => (done = true))
  let probes = 0
  let maxMs = 0
  while (!done) {
    const t0 = performance.now()
    const res = await fetch(`${base}/health/live`, { signal: AbortSignal.timeout(30_000) })
    await res.arrayBuffer()
    if (res.status !== 200) throw new Error(`/health/live answered ${res.status}`)
    maxMs = Math.max(maxMs, performance.now() - t0)
    probes++
    await new Promise((r) => setTimeout(r, 5))
  }
  return { probes, maxMs }
}

export interface LoopDelay {
  /** the longest gap between two ticks of the service's 1 ms timer: how long its event loop was held, plus at most 1 ms */
  maxMs: number
  p99Ms: number
  ticks: number
  /** the service's CPU time, user and system */
  cpuMs: number
  gc: { count: number; totalMs: number; maxMs: number }
}

/** The service's loop delay, CPU and GC since the previous call (or its start); it must preload LOOP_DELAY_PRELOAD. */
export async function loopDelay(service: ChildService): Promise<LoopDelay> {
  const reports = () => [...service.logs.join('\n').matchAll(/loop-delay (\{[^\n]*\})/g)].map((m) => JSON.parse(m[1]!) as LoopDelay & { seq: number })
  const seq = reports().length + 1
  service.child.kill('SIGUSR2')
  return waitFor(async () => reports().find((r) => r.seq === seq), 5000, `loop-delay report ${seq}`)
}

/** The module that makes a spawned service answer loopDelay(). */
export const LOOP_DELAY_PRELOAD = new URL('./loop-delay.ts', import.meta.url).href
