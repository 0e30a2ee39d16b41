import { ftruncate, write, writev } from 'node:fs'
import { promisify } from 'node:util'
import { BATCH_BYTES, type BatchBuffers } from './batch-buffers.js'
import type { DiskCalls } from './disk-calls.js'

const writevAsync = promisify(writev)
const writeAsync = promisify(write)
const ftruncateAsync = promisify(ftruncate)

/** A last batch up to this size (a small file's whole body) is written with the disk calls; see disk-calls.ts. */
const SMALL_WRITE_BYTES = 64 * 1024
/** A slow body still reaches the disk this often, so that a killed worker's successor can resume it. */
const FLUSH_INTERVAL_MS = 500
/**
 * A batch that took longer than this to fill: the next one is copied, since
 * chunks held that long outlive the scavenges that would free them young
 * (docs/decisions/0013-batch-buffers.md). A fast body's chunks are written
 * as they came, sparing the copy.
 */
const SLOW_FILL_MS = 20

/**
 * Writes a download's chunks to its file in batches of 256 KiB (or every
 * 500 ms when slower), a slow body's copied into buffers of the process's
 * BatchBuffers; one write in flight while the next batch fills: reading and writing
 * overlap, and the reader waits only when a full batch finds the disk still
 * busy. Unlike a stream that an error destroys, close()
 * always lands what was received: after a reset, those bytes are what the
 * next attempt resumes.
 */
export class FileSink {
  /** the batch's chunks as the socket gave them (a fast body) */
  private chunks: Buffer[] = []
  /** or its bytes copied into a buffer of BatchBuffers (a slow body) */
  private copy: Buffer | null = null
  private batchBytes = 0
  /** when the batch's first chunk came */
  private batchStart = 0
  /** the batch is copied: the one before took long to fill, or it is the first (a segment may have few) */
  private copying = true
  /** the batches handed to the disk and not yet written, in order; each settles without rejecting */
  private readonly writes: Promise<void>[] = []
  private failure: unknown = null
  private lastFlush: number
  private closing: Promise<void> | null = null
  /** Bytes whose write has completed: what a resume record may count as on disk. */
  written = 0

  private constructor(
    private readonly disk: DiskCalls,
    private readonly batches: BatchBuffers,
    private readonly fd: number,
    /** where the next batch is written; null: at the descriptor's own position */
    private position: number | null,
    private readonly now: () => number,
  ) {
    this.lastFlush = now()
  }

  /** `append`: continue a partial file; else truncate it. */
  static async open(disk: DiskCalls, batches: BatchBuffers, path: string, append: boolean, now: () => number = Date.now): Promise<FileSink> {
    return new FileSink(disk, batches, await disk.open(path, append ? 'a' : 'w'), null, now)
  }

  /**
   * Writes from byte `position` of an existing file, leaving the rest of it
   * as it is: one segment of a file fetched over several connections.
   * `create`: the file is made (or emptied) first.
   */
  static async openAt(disk: DiskCalls, batches: BatchBuffers, path: string, position: number, create: boolean, now: () => number = Date.now): Promise<FileSink> {
    return new FileSink(disk, batches, await disk.open(path, create ? 'w' : 'r+'), position, now)
  }

  /**
   * Takes a chunk. Returns null when the caller may go on at once, or a
   * promise to wait for (the disk is behind); throws the error of an earlier write.
   */
  push(chunk: Buffer): Promise<void> | null {
    if (this.failure) throw this.failure
    // Its descriptor may by then be another file's.
    if (this.closing) throw new Error('a chunk came after the file was closed')
    for (let rest = chunk; rest.length > 0; ) {
      if (this.batchBytes === 0) this.batchStart = this.now()
      if (this.copying) {
        this.copy ??= this.batches.take()
        const n = rest.copy(this.copy, this.batchBytes)
        this.batchBytes += n
        rest = rest.subarray(n)
        if (this.batchBytes === this.copy.length) this.flush()
      } else {
        this.chunks.push(rest)
        this.batchBytes += rest.length
        rest = EMPTY
        if (this.batchBytes >= BATCH_BYTES) this.flush()
      }
    }
    if (this.batchBytes > 0 && this.now() - this.lastFlush >= FLUSH_INTERVAL_MS) this.flush()
    const waitFor = this.writes.length > 1 ? this.writes[this.writes.length - 2]! : null
    return waitFor?.then(() => {
      if (this.failure) throw this.failure
    }) ?? null
  }

  /** Empties the file, which was opened to append to: before any push. */
  async truncate(): Promise<void> {
    await ftruncateAsync(this.fd, 0)
  }

  /** Empties the file and writes from its first byte again: before any push. */
  async rewind(): Promise<void> {
    await ftruncateAsync(this.fd, 0)
    if (this.position !== null) this.position = 0
    this.written = 0
  }

  /**
   * Writes what is left and closes; after a failed write, closes and rethrows.
   * Once: a descriptor closed twice may by then be another file's.
   */
  close(): Promise<void> {
    return (this.closing ??= this.closeOnce())
  }

  private async closeOnce(): Promise<void> {
    try {
      // After a failed write, the rest is not written (flush skips it) and the failure is thrown.
      this.flush(this.batchBytes <= SMALL_WRITE_BYTES)
      const last = this.writes.at(-1)
      if (last) await last
      if (this.failure) throw this.failure
    } finally {
      // A batch that a failure kept from the disk: its buffer is free all the same.
      if (this.copy) this.batches.give(this.copy)
      this.copy = null
      this.chunks = []
      await this.disk.close(this.fd)
    }
  }

  /** Hands the batch to the disk, after the batches before it; `small`: with the disk calls (disk-calls.ts). */
  private flush(small = false): void {
    const bytes = this.batchBytes
    const now = (this.lastFlush = this.now())
    if (bytes === 0) return
    const copy = this.copy
    const buffers = copy ? [copy.subarray(0, bytes)] : this.chunks
    this.copy = null
    this.chunks = []
    this.batchBytes = 0
    this.copying = now - this.batchStart > SLOW_FILL_MS
    const position = this.position
    if (position !== null) this.position = position + bytes
    const run = () => (this.failure ? undefined : this.writeAll(buffers, small, position))
    const ended = () => {
      this.writes.shift()
      if (copy) this.batches.give(copy)
    }
    // After the batches before it; at once when none is in flight.
    const before = this.writes.at(-1)
    const write = (before ? before.then(run) : Promise.resolve(run())).then(
      () => {
        if (!this.failure) this.written += bytes
        ended()
      },
      (err: unknown) => {
        this.failure ??= err
        ended()
      },
    )
    this.writes.push(write)
  }

  /**
   * A write may land fewer bytes than given: a filling disk does that before
   * it answers ENOSPC. The rest is written again, so that the error comes,
   * rather than a file silently short of bytes that were counted as received.
   */
  private async writeAll(buffers: Buffer[], small: boolean, position: number | null): Promise<void> {
    const bytesWritten = small
      ? await this.disk.writev(this.fd, buffers, position)
      : (await writevAsync(this.fd, buffers, position ?? undefined)).bytesWritten
    let rest = bytesWritten < total(buffers) ? Buffer.concat(buffers).subarray(bytesWritten) : null
    let at = position === null ? null : position + bytesWritten
    while (rest && rest.length > 0) {
      const { bytesWritten: n } = await writeAsync(this.fd, rest, 0, rest.length, at)
      if (n === 0) throw new Error('the disk took no bytes')
      rest = rest.subarray(n)
      if (at !== null) at += n
    }
  }
}

const EMPTY = Buffer.alloc(0)
const total = (buffers: Buffer[]) => buffers.reduce((sum, b) => sum + b.length, 0)
