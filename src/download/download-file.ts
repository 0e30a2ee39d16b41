// One file: streamed to a temporary file, verified, renamed into place;
// retried with backoff when the failure may pass, resuming an interrupted
// body with Range + If-Range rather than fetching it again.
import { setTimeout as sleep } from 'node:timers/promises'
import type { Dispatcher } from 'undici'
import type { FileOutcome } from '../tasks/store.js'
import type { DiskCalls } from './disk-calls.js'
import { classify, DownloadError } from './errors.js'
import { FileSink } from './file-sink.js'
import { clearPartial, loadPartial, RESUME_MIN_BYTES, savePartialMeta } from './partial.js'
import { receive, type Received } from './receive.js'

export interface DownloadPolicy {
  maxAttempts: number
  baseDelayMs: number
  maxDelayMs: number
  maxBytes: number
  /** a body slower than minSpeedBytes per second over a whole window is cut (curl's -Y / -y) */
  minSpeedBytes: number
  minSpeedWindowMs: number
}

/** What the downloads of a worker process share. */
export interface Downloader {
  dispatcher: Dispatcher
  disk: DiskCalls
  policy: DownloadPolicy
}

/** What a download reports as it goes: plain fields that a progress reporter reads when it likes. */
export interface DownloadProgress {
  /** the attempt under way; 0 until the first one has a connection */
  attempt: number
  /** bytes of the file received so far */
  bytes: number
}

export interface DownloadRequest {
  url: string
  /** final path; the file appears there only complete and verified */
  dest: string
  /** temporary path on the same volume; kept between attempts (and workers) to resume */
  tmp: string
  sha256?: string
  signal: AbortSignal
  progress: DownloadProgress
  /** an earlier run of the task started this file: a partial file may wait on disk */
  mayHavePartial: boolean
  /** waits for a connection slot (rejects on abort); the function it gives frees the slot */
  acquireConnection: () => Promise<() => void>
}

export async function downloadFile(downloader: Downloader, req: DownloadRequest): Promise<FileOutcome> {
  const { policy } = downloader
  let last: DownloadError | null = null
  for (let attempt = 1; ; attempt++) {
    try {
      if (req.signal.aborted) throw req.signal.reason
      const { bytes, size, status } = await attemptOnce(downloader, req, attempt)
      return { state: 'done', bytes, size, httpStatus: status, error: null, attempts: attempt }
    } catch (err) {
      if (req.signal.aborted) {
        // A cancel removes the partial file; an interruption (shutdown, lost
        // lock) keeps it for whoever resumes the task.
        return ended('cancelled', attempt, last)
      }
      last = classify(err)
      const final = !last.retryable || attempt >= policy.maxAttempts
      if (final || !last.resumable) await clearPartial(req.tmp)
      if (final) return ended('failed', attempt, last)
      try {
        await sleep(backoff(policy, attempt, last.retryAfterMs), undefined, { signal: req.signal })
      } catch {
        return ended('cancelled', attempt, last)
      }
    }
  }
}

/** A file that did not make it; `last` is the latest attempt's failure, if any. */
function ended(state: 'failed' | 'cancelled', attempts: number, last: DownloadError | null): FileOutcome {
  return {
    state,
    bytes: 0,
    size: null,
    httpStatus: last?.httpStatus ?? null,
    error: state === 'cancelled' ? 'cancelled' : (last?.code ?? 'download_error'),
    attempts,
  }
}

/** Exponential, capped, with jitter over the upper half; Retry-After wins when longer, up to the cap. */
export function backoff(policy: Pick<DownloadPolicy, 'baseDelayMs' | 'maxDelayMs'>, attempt: number, retryAfterMs: number | null): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1))
  const jittered = ceiling / 2 + Math.random() * (ceiling / 2)
  return Math.min(policy.maxDelayMs, Math.max(jittered, retryAfterMs ?? 0))
}

/**
 * One attempt holds a connection slot only while it talks to the server: the
 * file is created while the request waits for its first byte, and the last
 * write, the close and the rename run after the slot went to the next file.
 */
async function attemptOnce({ dispatcher, disk, policy }: Downloader, req: DownloadRequest, attempt: number) {
  const partial = req.mayHavePartial || attempt > 1 ? await loadPartial(req.tmp) : null
  const release = await req.acquireConnection()
  req.progress.attempt = attempt
  // A partial file is opened to append to, in case the server resumes it.
  const opening = FileSink.open(disk, req.tmp, partial !== null)
  opening.catch(() => {}) // its failure is met below, once the request settles
  let received: Received
  try {
    received = await receive(dispatcher, policy, req, partial, opening)
  } catch (err) {
    // What was received stays on disk for the next attempt to resume.
    await opening.then((sink) => sink.close()).catch(() => {})
    throw err
  } finally {
    release()
  }
  await (await opening).close()
  const { bytes, size, status, hash } = received
  if (size !== null && bytes !== size) {
    throw new DownloadError('size_mismatch', true, `received ${bytes} bytes of ${size}`, status).notResumable()
  }
  if (hash && hash.digest('hex') !== req.sha256) {
    throw new DownloadError('checksum_mismatch', true, 'sha256 of the bytes differs from the one requested', status).notResumable()
  }
  await disk.rename(req.tmp, req.dest)
  if (size !== null && size >= RESUME_MIN_BYTES) await savePartialMeta(req.tmp, null)
  return { bytes, size, status }
}
