// One file: streamed to a temporary file, verified, renamed into place;
// retried with backoff when the failure may pass, resuming an interrupted
// body with Range + If-Range rather than fetching it again.
import { createHash, type Hash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { rename } from 'node:fs/promises'
import { finished } from 'node:stream/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { request, type Dispatcher } from 'undici'
import type { FileOutcome } from '../tasks/store.js'
import { MAX_REDIRECTS } from './dispatcher.js'
import { FileSink } from './file-sink.js'
import { classify, DownloadError, httpError, parseRetryAfter } from './errors.js'
import { clearPartial, loadPartial, savePartialMeta, validatorOf, type PartialMeta } from './partial.js'

export interface DownloadPolicy {
  maxAttempts: number
  baseDelayMs: number
  maxDelayMs: number
  maxBytes: number
  /** a body slower than minSpeedBytes per second over a whole window is cut (curl's -Y / -y) */
  minSpeedBytes: number
  minSpeedWindowMs: number
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

/**
 * Smaller files are not worth resuming: refetching them costs less than the
 * bookkeeping, which is most of the work for a file of a few KiB.
 */
const RESUME_MIN_BYTES = 64 * 1024

const READ_BUFFER = 1024 * 1024

export async function downloadFile(dispatcher: Dispatcher, policy: DownloadPolicy, req: DownloadRequest): Promise<FileOutcome> {
  let last: DownloadError | null = null
  for (let attempt = 1; ; attempt++) {
    try {
      if (req.signal.aborted) throw req.signal.reason
      const { bytes, size, status } = await attemptOnce(dispatcher, policy, req, attempt)
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
async function attemptOnce(dispatcher: Dispatcher, policy: DownloadPolicy, req: DownloadRequest, attempt: number) {
  const partial = req.mayHavePartial || attempt > 1 ? await loadPartial(req.tmp) : null
  const release = await req.acquireConnection()
  req.progress.attempt = attempt
  // A partial file is opened to append to, in case the server resumes it.
  const opening = FileSink.open(req.tmp, partial !== null)
  opening.catch(() => {}) // its failure is met below, once the request settles
  let res: Dispatcher.ResponseData | undefined
  let sink: FileSink | undefined
  let received: Received
  try {
    res = await request(req.url, { dispatcher, signal: req.signal, headers: resumeHeaders(partial) })
    sink = await opening
    received = await receive(policy, req, res, partial, sink)
  } catch (err) {
    if (res) discard(res.body)
    sink ??= await opening.catch(() => undefined)
    // What was received stays on disk for the next attempt to resume.
    await sink?.close().catch(() => {})
    throw err
  } finally {
    release()
  }
  await sink.close()
  const { bytes, size, status, hash } = received
  if (size !== null && bytes !== size) {
    throw new DownloadError('size_mismatch', true, `received ${bytes} bytes of ${size}`, status).notResumable()
  }
  if (hash && hash.digest('hex') !== req.sha256) {
    throw new DownloadError('checksum_mismatch', true, 'sha256 of the bytes differs from the one requested', status).notResumable()
  }
  await rename(req.tmp, req.dest)
  if (size !== null && size >= RESUME_MIN_BYTES) await savePartialMeta(req.tmp, null)
  return { bytes, size, status }
}

/** Drops a body that will not be read: the abort error it then emits is expected, not news. */
function discard(body: Dispatcher.ResponseData['body']): void {
  body.on('error', () => {})
  body.destroy()
}

type Resumable = Awaited<ReturnType<typeof loadPartial>>

interface Received {
  bytes: number
  size: number | null
  status: number
  hash: Hash | null
}

function resumeHeaders(partial: Resumable): Record<string, string> {
  if (!partial) return {}
  // The server sends the rest only if the file is still the same version;
  // otherwise the whole file, and we start over: never two versions spliced.
  return { range: `bytes=${partial.offset}-`, 'if-range': partial.meta.validator }
}

/** Checks the response and streams its body into the sink. */
async function receive(policy: DownloadPolicy, req: DownloadRequest, res: Dispatcher.ResponseData, partial: Resumable, sink: FileSink): Promise<Received> {
  const status = res.statusCode
  if (status >= 300 && status < 400 && res.headers.location) {
    // The redirect interceptor hands back the redirect it would not follow.
    await res.body.dump()
    throw new DownloadError('too_many_redirects', false, `more than ${MAX_REDIRECTS} redirects`, status)
  }
  if (status < 200 || status > 299) {
    await res.body.dump()
    throw httpError(status, parseRetryAfter(res.headers['retry-after']))
  }

  let offset = 0
  let size: number | null
  if (status === 206 && partial) {
    const range = contentRange(res.headers['content-range'])
    if (!range || range.start !== partial.offset || range.total !== partial.meta.size) {
      throw new DownloadError('range_mismatch', true, 'the server resumed at another offset or size', status).notResumable()
    }
    offset = partial.offset
    size = range.total
  } else {
    if (status === 206) {
      throw new DownloadError('range_mismatch', true, 'partial content to a request for the whole file', status).notResumable()
    }
    if (partial) await sink.truncate() // the whole file came instead of the rest
    size = contentLength(res.headers['content-length'])
    const validator = validatorOf(res.headers)
    if (validator && size !== null && size >= RESUME_MIN_BYTES) await savePartialMeta(req.tmp, { validator, size } satisfies PartialMeta)
    else if (partial) await savePartialMeta(req.tmp, null)
  }
  if (size !== null && size > policy.maxBytes) {
    throw new DownloadError('file_too_large', false, `the file has ${size} bytes, over MAX_FILE_BYTES`, status)
  }

  const hash = req.sha256 ? createHash('sha256') : null
  if (hash && offset > 0) await hashFile(req.tmp, hash)
  let bytes = offset
  req.progress.bytes = bytes
  let windowStart = Date.now()
  let windowBytes = 0
  const body = res.body
  // Events rather than an async iterator: one chunk costs a function call,
  // and a full batch pauses the socket until the disk catches up.
  body.on('data', (chunk: Buffer) => {
    try {
      bytes += chunk.length
      windowBytes += chunk.length
      if (bytes > policy.maxBytes) throw new DownloadError('file_too_large', false, 'the body is over MAX_FILE_BYTES', status)
      const now = Date.now()
      if (now - windowStart >= policy.minSpeedWindowMs) {
        if ((windowBytes * 1000) / (now - windowStart) < policy.minSpeedBytes) {
          throw new DownloadError('too_slow', true, `under ${policy.minSpeedBytes} bytes/s for ${policy.minSpeedWindowMs} ms`, status)
        }
        windowStart = now
        windowBytes = 0
      }
      req.progress.bytes = bytes
      hash?.update(chunk)
      const wait = sink.push(chunk)
      if (wait) {
        body.pause()
        wait.then(() => body.resume(), (err: unknown) => body.destroy(err as Error))
      }
    } catch (err) {
      body.destroy(err as Error)
    }
  })
  // Also settles for a body that failed before anyone listened.
  await finished(body)
  return { bytes, size, status, hash }
}

async function hashFile(path: string, hash: Hash): Promise<void> {
  for await (const chunk of createReadStream(path, { highWaterMark: READ_BUFFER })) hash.update(chunk as Buffer)
}

function contentLength(value: string | string[] | undefined): number | null {
  const v = Array.isArray(value) ? value[0] : value
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : null
}

function contentRange(value: string | string[] | undefined): { start: number; total: number } | null {
  const v = Array.isArray(value) ? value[0] : value
  const m = v ? /^bytes (\d+)-(\d+)\/(\d+)$/.exec(v) : null
  return m ? { start: Number(m[1]), total: Number(m[3]) } : null
}
