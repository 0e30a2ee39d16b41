// The few file-system calls each downloaded file makes besides its data
// writes (open, close, rename, a small file's one write), and those of each
// file the zip reads (open, a small file's one read, close), run on the event loop
// while the disk answers in microseconds, which is cheaper than a hand-over to
// libuv's thread pool; when most calls of a window are slow, or calls stall,
// they go back to the thread pool for a while, so that a slow volume never
// stalls every download. One stall alone is not enough unless it lasts longer
// than the event loop's thread is ever preempted on a busy machine. Why "most",
// why two stalls, and the figures: docs/decisions/0004-small-fs-calls-on-event-loop.md.
import { close, closeSync, open, openSync, read, readSync, rename, renameSync, writev, writevSync } from 'node:fs'
import { promisify } from 'node:util'
import type { Logger } from '../logger.js'

const openAsync = promisify(open)
const closeAsync = promisify(close)
const renameAsync = promisify(rename)
const writevAsync = promisify(writev)
const readAsync = promisify(read)

export interface DiskCallsOptions {
  /** calls judged together */
  windowCalls?: number
  /** a call over this is slow; on tmpfs and local disks they take 0.01 to 0.05 ms, on a network volume a round trip */
  slowCallMs?: number
  /** a call this long is a stall; a second stall within windowCalls calls counts the disk as slow */
  stallMs?: number
  /** one call this long is enough alone: longer than a busy machine ever preempts the event loop's thread */
  longStallMs?: number
  /** how long a slow disk's calls stay in the thread pool before the event loop tries again */
  threadPoolMs?: number
  now?: () => number
}

export class DiskCalls {
  private readonly windowCalls: number
  private readonly slowCallMs: number
  private readonly stallMs: number
  private readonly longStallMs: number
  private readonly threadPoolMs: number
  private readonly now: () => number
  private calls = 0
  private slowCalls = 0
  /** calls counted since the start, and which of them last stalled */
  private seen = 0
  private lastStall = -Infinity
  /** until when (in now()'s time) calls go to the thread pool */
  private threadPoolUntil = -Infinity

  constructor(
    private readonly log: Logger,
    opts: DiskCallsOptions = {},
  ) {
    this.windowCalls = opts.windowCalls ?? 64
    this.slowCallMs = opts.slowCallMs ?? 0.2
    this.stallMs = opts.stallMs ?? 50
    this.longStallMs = opts.longStallMs ?? 1000
    this.threadPoolMs = opts.threadPoolMs ?? 60_000
    this.now = opts.now ?? (() => performance.now())
  }

  /** Whether the next call runs on the event loop (true) or in the thread pool. */
  get onEventLoop(): boolean {
    return this.now() >= this.threadPoolUntil
  }

  /** `w`: create or empty the file; `a`: create or append to it; `r+`: write into an existing one; `r`: read it. */
  open(path: string, flags: 'w' | 'a' | 'r+' | 'r'): Promise<number> {
    return this.call(
      () => openSync(path, flags),
      () => openAsync(path, flags),
    )
  }

  close(fd: number): Promise<void> {
    return this.call(
      () => closeSync(fd),
      () => closeAsync(fd),
    )
  }

  rename(from: string, to: string): Promise<void> {
    return this.call(
      () => renameSync(from, to),
      () => renameAsync(from, to),
    )
  }

  /** For a few KiB at most: larger writes belong in the thread pool, where they overlap with receiving. */
  writev(fd: number, buffers: Buffer[], position: number | null = null): Promise<number> {
    return this.call(
      () => writevSync(fd, buffers, position ?? undefined),
      async () => (await writevAsync(fd, buffers, position ?? undefined)).bytesWritten,
    )
  }

  /** For a few KiB at most (a small file read whole by the zip): larger reads belong in the thread pool. */
  read(fd: number, buffer: Buffer, length: number, position: number): Promise<number> {
    return this.call(
      () => readSync(fd, buffer, 0, length, position),
      async () => (await readAsync(fd, buffer, 0, length, position)).bytesRead,
    )
  }

  /**
   * A small file's bytes, up to `length`, read into `buffer` at `at` without a
   * promise (the zip's small files: a promise per call was most of what it
   * allocated, docs/decisions/0011-zip-event-loop.md): open, reads and close on
   * the event loop, each one timed as the other calls are. Null, having done
   * nothing, when the calls go to the thread pool now: the caller takes its
   * asynchronous path. A file begun on the loop ends there, even if its open
   * moved the calls. For a few KiB at most.
   */
  readSmallFile(path: string, buffer: Buffer, at: number, length: number): number | null {
    // One clock reading ends a call and starts the next.
    let start = this.now()
    if (start < this.threadPoolUntil) return null
    let fd: number
    try {
      fd = openSync(path, 'r')
    } finally {
      start = this.observe(start, this.now())
    }
    let n = 0
    try {
      for (let got = -1; n < length && got !== 0; n += got) {
        try {
          got = readSync(fd, buffer, at + n, length - n, n)
        } finally {
          start = this.observe(start, this.now())
        }
      }
    } finally {
      try {
        closeSync(fd)
      } finally {
        this.observe(start, this.now())
      }
    }
    return n
  }

  private call<T>(sync: () => T, async: () => Promise<T>): Promise<T> {
    const start = this.now()
    if (start < this.threadPoolUntil) return async()
    try {
      return Promise.resolve(sync())
    } catch (err) {
      return Promise.reject(err as Error)
    } finally {
      this.observe(start, this.now())
    }
  }

  /** Counts a call from `start` to `end`; returns `end`. */
  private observe(start: number, end: number): number {
    const ms = end - start
    this.calls++
    this.seen++
    if (ms > this.slowCallMs) this.slowCalls++
    let stalled = false
    if (ms >= this.stallMs) {
      // One stall may be the thread preempted during the call, not the disk: it takes a second one soon after, or one too long for that.
      stalled = ms >= this.longStallMs || this.seen - this.lastStall <= this.windowCalls
      this.lastStall = this.seen
    }
    if (!stalled && this.calls < this.windowCalls) return end
    const { calls, slowCalls } = this
    this.calls = 0
    this.slowCalls = 0
    if (!stalled && slowCalls * 2 <= calls) return end
    this.threadPoolUntil = end + this.threadPoolMs
    this.lastStall = -Infinity
    this.log.warn(
      { calls, slowCalls, lastMs: Number(ms.toFixed(3)), forMs: this.threadPoolMs },
      'the download folder answers slowly: its file calls move off the event loop for a while',
    )
    return end
  }
}
