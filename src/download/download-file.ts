// One file: streamed to a temporary name, verified, renamed into place;
// retried with backoff when the failure may pass.
import { createHash } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { rename, rm } from 'node:fs/promises'
import { pipeline } from 'node:stream/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { request, type Dispatcher } from 'undici'
import type { FileOutcome } from '../tasks/store.js'
import { MAX_REDIRECTS } from './dispatcher.js'
import { classify, DownloadError, httpError, parseRetryAfter } from './errors.js'

export interface RetryPolicy {
  maxAttempts: number
  baseDelayMs: number
  maxDelayMs: number
}

export interface DownloadRequest {
  url: string
  /** final path; the file appears there only complete and verified */
  dest: string
  /** temporary path on the same volume */
  tmp: string
  sha256?: string
  maxBytes: number
  signal: AbortSignal
  /** bytes received by the current attempt, read by the progress reporter */
  progress: { bytes: number }
  /** called before each attempt, with its number */
  onAttempt: (attempt: number) => Promise<void>
}

const WRITE_BUFFER = 1024 * 1024

export async function downloadFile(dispatcher: Dispatcher, policy: RetryPolicy, req: DownloadRequest): Promise<FileOutcome> {
  let last: DownloadError | null = null
  for (let attempt = 1; ; attempt++) {
    try {
      if (req.signal.aborted) throw req.signal.reason
      await req.onAttempt(attempt)
      const { bytes, size, status } = await attemptOnce(dispatcher, req)
      return { state: 'done', bytes, size, httpStatus: status, error: null, attempts: attempt }
    } catch (err) {
      req.progress.bytes = 0
      await rm(req.tmp, { force: true })
      if (req.signal.aborted) return ended('cancelled', null, attempt, last)
      last = classify(err)
      if (!last.retryable || attempt >= policy.maxAttempts) return ended('failed', last, attempt, last)
      try {
        await sleep(backoff(policy, attempt, last.retryAfterMs), undefined, { signal: req.signal })
      } catch {
        return ended('cancelled', null, attempt, last)
      }
    }
  }
}

function ended(state: 'failed' | 'cancelled', err: DownloadError | null, attempts: number, last: DownloadError | null): FileOutcome {
  return {
    state,
    bytes: 0,
    size: null,
    httpStatus: last?.httpStatus ?? null,
    error: state === 'cancelled' ? 'cancelled' : (err?.code ?? 'download_error'),
    attempts,
  }
}

/** Exponential, capped, with jitter over the upper half; Retry-After wins when longer, up to the cap. */
export function backoff(policy: RetryPolicy, attempt: number, retryAfterMs: number | null): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1))
  const jittered = ceiling / 2 + Math.random() * (ceiling / 2)
  return Math.min(policy.maxDelayMs, Math.max(jittered, retryAfterMs ?? 0))
}

async function attemptOnce(dispatcher: Dispatcher, req: DownloadRequest) {
  const res = await request(req.url, { dispatcher, signal: req.signal })
  if (res.statusCode >= 300 && res.statusCode < 400 && res.headers.location) {
    // The redirect interceptor hands back the redirect it would not follow.
    await res.body.dump()
    throw new DownloadError('too_many_redirects', false, `more than ${MAX_REDIRECTS} redirects`, res.statusCode)
  }
  if (res.statusCode < 200 || res.statusCode > 299) {
    await res.body.dump()
    throw httpError(res.statusCode, parseRetryAfter(res.headers['retry-after']))
  }
  const size = contentLength(res.headers['content-length'])
  if (size !== null && size > req.maxBytes) {
    res.body.destroy()
    throw new DownloadError('file_too_large', false, `Content-Length ${size} is over MAX_FILE_BYTES`, res.statusCode)
  }
  const hash = req.sha256 ? createHash('sha256') : null
  let bytes = 0
  await pipeline(
    res.body,
    async function* count(source: AsyncIterable<Buffer>) {
      for await (const chunk of source) {
        bytes += chunk.length
        if (bytes > req.maxBytes) throw new DownloadError('file_too_large', false, 'body is over MAX_FILE_BYTES', res.statusCode)
        req.progress.bytes = bytes
        hash?.update(chunk)
        yield chunk
      }
    },
    createWriteStream(req.tmp, { highWaterMark: WRITE_BUFFER }),
    { signal: req.signal },
  )
  if (size !== null && bytes !== size) {
    throw new DownloadError('size_mismatch', true, `received ${bytes} bytes of ${size}`, res.statusCode)
  }
  if (hash && hash.digest('hex') !== req.sha256) {
    throw new DownloadError('checksum_mismatch', true, 'sha256 of the bytes differs from the one requested', res.statusCode)
  }
  await rename(req.tmp, req.dest)
  return { bytes, size, status: res.statusCode }
}

function contentLength(value: string | string[] | undefined): number | null {
  const v = Array.isArray(value) ? value[0] : value
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : null
}
