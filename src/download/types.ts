// The types the download path shares with its callers, in one place.
import type { Dispatcher } from 'undici'
import type { BatchBuffers } from './batch-buffers.js'
import type { DiskCalls } from './disk-calls.js'
import type { Throttle } from './token-bucket.js'

export interface DownloadPolicy {
  maxAttempts: number
  baseDelayMs: number
  maxDelayMs: number
  maxBytes: number
  /** a body slower than minSpeedBytes per second over a whole window is cut (curl's -Y / -y) */
  minSpeedBytes: number
  minSpeedWindowMs: number
  /** no segment of a split file is smaller (SEGMENT_MIN_BYTES); 0: files are never split */
  segmentMinBytes?: number
}

/** What the downloads of a worker process share. */
export interface Downloader {
  dispatcher: Dispatcher
  disk: DiskCalls
  /** the buffers every download's batches are copied into */
  batches: BatchBuffers
  policy: DownloadPolicy
  /** MAX_BYTES_PER_SECOND, shared by every download of the process; none: no cap */
  throttle?: Throttle
}

/** What a download reports as it goes: plain fields that a progress reporter reads when it likes. */
export interface DownloadProgress {
  /** the attempt under way; 0 until the first one has a connection */
  attempt: number
  /** bytes of the file received so far: a split file's, the sum of its segments */
  bytes: number
  /** the whole file's size, once a server said it (Content-Length, Content-Range, a resume record) */
  size: number | null
  /** while the file waits for its next attempt: when it starts (epoch ms) and why it waits */
  retry: { at: number; error: string; httpStatus: number | null } | null
  /** how many waits for a retry began: a reporter announces each once, even one shorter than its interval */
  waits: number
}

/** A progress record of a file not started yet. */
export const newProgress = (): DownloadProgress => ({ attempt: 0, bytes: 0, size: null, retry: null, waits: 0 })

/** A connection granted by the scheduler; called once when the request is over. */
export type Release = () => void

/** A running file that could use more connections: offered one when nothing else waits. */
export interface ExtraWanter {
  /** host:port the connections go to */
  readonly host: string
  /** Takes the connection (true) or declines it (false: it wants no more and is forgotten). */
  offer(release: Release): boolean
}

/**
 * A running file that can give a connection back before its end: it stops a
 * range where it stands and fetches the rest later, for a task that holds none.
 */
export interface Yielder {
  /** host:port the connections go to */
  readonly host: string
  /** Stops one of its requests, whose connection is released soon after (true), or has none to give (false). */
  yieldOne(): boolean
}

/** Where a file gets connections beyond its first: the scheduler's lane of its task. */
export interface ExtraConnections {
  wantExtra(wanter: ExtraWanter): void
  forget(wanter: ExtraWanter): void
  /** The file can give a connection back (see Yielder) until it is forgotten. */
  mayYield(yielder: Yielder): void
  forgetYielder(yielder: Yielder): void
}

export interface DownloadRequest {
  url: string
  /** more URLs of the same file, tried in order once the one before failed for good */
  mirrors?: readonly string[]
  /** sent with every request of the file (names in lower case); secrets: never logged */
  headers?: Readonly<Record<string, string>>
  /** the caps the file's bytes count against (the task's and the process's), combined */
  throttle?: Throttle
  /** final path; the file appears there only complete and verified */
  dest: string
  /** temporary path on the same volume; kept between attempts (and workers) to resume */
  tmp: string
  sha256?: string
  signal: AbortSignal
  progress: DownloadProgress
  /** an earlier run of the task started this file: a partial file may wait on disk */
  mayHavePartial: boolean
  /**
   * Waits for a connection to `host` (rejects on abort); the function it gives
   * frees it. `resuming`: the file gave its last one back, and goes ahead of its task's files not started.
   */
  acquireConnection: (host: string, resuming?: boolean) => Promise<Release>
  /** more connections for segments of a large file; without, a file uses one */
  extra?: ExtraConnections
}
