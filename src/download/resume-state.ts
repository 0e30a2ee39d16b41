// What survives of an interrupted download between attempts and between
// workers (DOWNLOAD_DIR is shared, and a worker may die by kill -9): the
// version the bytes belong to, and which ranges of the partial file hold
// them. The one owner of `<tmp>.json`; nothing else reads or writes it.
import { readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import type { IncomingHttpHeaders } from 'node:http'

/**
 * Smaller files are not worth resuming: refetching them costs less than the
 * bookkeeping, which is most of the work for a file of a few KiB.
 */
export const RESUME_MIN_BYTES = 64 * 1024

/** Bytes [start, start + done) are on disk; the segment is complete when start + done = end (exclusive). */
export interface Segment {
  start: number
  end: number
  done: number
}

interface Stored {
  validator: string
  size: number
  segments?: [number, number, number][]
}

const recordPath = (tmp: string) => `${tmp}.json`

export class ResumeState {
  /** called before each save, to bring the segments' `done` up to what has reached the disk */
  beforeSave: (() => void) | null = null
  private chain: Promise<void> = Promise.resolve()
  private queued: Promise<void> | null = null

  constructor(
    readonly tmp: string,
    /** a strong ETag or a Last-Modified date, for If-Range */
    readonly validator: string,
    readonly size: number,
    readonly segments: Segment[],
  ) {}

  /** A new version: the whole file is one segment with nothing on disk. */
  static create(tmp: string, validator: string, size: number): ResumeState {
    return new ResumeState(tmp, validator, size, [{ start: 0, end: size, done: 0 }])
  }

  /** The partial file to resume, or null when there is none that can be. */
  static async load(tmp: string): Promise<ResumeState | null> {
    let stored: Stored
    try {
      stored = JSON.parse(await readFile(recordPath(tmp), 'utf8')) as Stored
    } catch {
      return null
    }
    const { validator, size } = stored
    if (typeof validator !== 'string' || !Number.isSafeInteger(size) || size <= 0) return null
    const onDisk = await stat(tmp).then((s) => s.size, () => -1)
    if (onDisk <= 0) return null
    // A record of one version written before segments were recorded: the file's length is what is there.
    const raw = stored.segments ?? [[0, size, 0]]
    const segments = raw.map(([start, end, done]) => ({ start, end, done }))
    if (!covers(segments, size)) return null
    for (const s of segments) {
      // Written sequentially from byte 0 while it was the only segment: the file's length is exact, the record may lag.
      if (segments.length === 1) s.done = Math.max(s.done, Math.min(onDisk, s.end))
      // Never count bytes the file does not have (the record may be newer than what a crash kept).
      s.done = Math.max(0, Math.min(s.done, onDisk - s.start, s.end - s.start))
    }
    const state = new ResumeState(tmp, validator, size, segments)
    return state.received() > 0 && state.received() < size ? state : null
  }

  static async clear(tmp: string): Promise<void> {
    await rm(tmp, { force: true })
    await rm(recordPath(tmp), { force: true })
  }

  /** The record alone: the file is complete, or its bytes cannot be resumed. */
  static async forget(tmp: string): Promise<void> {
    await rm(recordPath(tmp), { force: true })
  }

  received(): number {
    return this.segments.reduce((sum, s) => sum + s.done, 0)
  }

  /** Segments with bytes still to fetch. */
  missing(): Segment[] {
    return this.segments.filter((s) => s.start + s.done < s.end)
  }

  /**
   * Writes the record, atomically (a crash leaves the old one or the new
   * one). Saves asked for while one is out are merged into the next.
   */
  save(): Promise<void> {
    if (this.queued) return this.queued
    const queued = this.chain.then(() => {
      this.queued = null
      return this.write()
    })
    this.queued = queued
    this.chain = queued.catch(() => {})
    return queued
  }

  private async write(): Promise<void> {
    this.beforeSave?.()
    const stored: Stored = {
      validator: this.validator,
      size: this.size,
      segments: [...this.segments].sort((a, b) => a.start - b.start).map((s) => [s.start, s.end, s.done]),
    }
    const path = recordPath(this.tmp)
    await writeFile(`${path}.new`, JSON.stringify(stored))
    await rename(`${path}.new`, path)
  }
}

/** Whether the segments tile [0, size) exactly, each within its bounds. */
function covers(segments: Segment[], size: number): boolean {
  const sorted = [...segments].sort((a, b) => a.start - b.start)
  let at = 0
  for (const s of sorted) {
    if (![s.start, s.end, s.done].every(Number.isSafeInteger)) return false
    if (s.start !== at || s.end <= s.start || s.done < 0) return false
    at = s.end
  }
  return at === size
}

/** If-Range needs a strong validator: a strong ETag, else Last-Modified. */
export function validatorOf(headers: IncomingHttpHeaders): string | null {
  const etag = headers.etag
  if (typeof etag === 'string' && etag.startsWith('"')) return etag
  const modified = headers['last-modified']
  return typeof modified === 'string' ? modified : null
}

/** Content-Length as a number, when it is one. */
export function contentLength(value: string | string[] | undefined): number | null {
  const v = Array.isArray(value) ? value[0] : value
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : null
}

/** Content-Range of a 206: where the bytes start and the whole file's size. */
export function contentRange(value: string | string[] | undefined): { start: number; end: number; total: number } | null {
  const v = Array.isArray(value) ? value[0] : value
  const m = v ? /^bytes (\d+)-(\d+)\/(\d+)$/.exec(v) : null
  // `end` is exclusive, as a Segment's is.
  return m ? { start: Number(m[1]), end: Number(m[2]) + 1, total: Number(m[3]) } : null
}
