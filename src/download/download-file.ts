// One file: fetched into a temporary file (over several connections when it
// is large and the scheduler has them to spare), verified, renamed into
// place; retried with backoff when the failure may pass, fetching on each
// attempt only the ranges still missing. When its URL fails for good, its
// mirrors are tried in turn, each with attempts of its own.
import { setTimeout as sleep } from 'node:timers/promises'
import type { FileOutcome } from '../tasks/store.js'
import { classify, DownloadError } from './errors.js'
import { FileTransfer } from './file-transfer.js'
import { ResumeState } from './resume-state.js'
import { RestartError } from './answer-check.js'
import type { DownloadPolicy, DownloadRequest, Downloader } from './types.js'

export type { DownloadPolicy, DownloadProgress, DownloadRequest, Downloader } from './types.js'

/** Failures no other URL can help with: the trouble is on this side. */
const LOCAL_FAILURES = new Set(['disk_full', 'disk_error'])

export async function downloadFile(downloader: Downloader, req: DownloadRequest): Promise<FileOutcome> {
  const urls = [req.url, ...(req.mirrors ?? [])]
  let attempts = 0
  for (let source = 0; ; source++) {
    const outcome = await fromSource(downloader, source === 0 ? req : { ...req, url: urls[source]! }, attempts, source)
    attempts = outcome.attempts
    if (outcome.state === 'done') return outcome
    if (outcome.state === 'cancelled' || source + 1 >= urls.length || LOCAL_FAILURES.has(outcome.error ?? '')) return outcome
  }
}

/**
 * Attempts at one URL until the file is done or the URL failed for good;
 * `before`: attempts spent on earlier URLs; `source`: which URL (0 the file's own, then its mirrors).
 */
async function fromSource(downloader: Downloader, req: DownloadRequest, before: number, source: number): Promise<FileOutcome> {
  const { policy } = downloader
  let last: DownloadError | null = null
  let split = true
  for (let attempt = 1; ; attempt++) {
    try {
      if (req.signal.aborted) throw req.signal.reason
      // Counted over all the file's URLs: what `attempts` says, and what resuming looks at.
      const { bytes, size, status } = await new FileTransfer(downloader, req, before + attempt, split).run()
      return { state: 'done', bytes, size, httpStatus: status, error: null, attempts: before + attempt, source }
    } catch (err) {
      if (req.signal.aborted) {
        // A cancel removes the partial file; an interruption (shutdown, lost
        // lock) keeps it for whoever resumes the task.
        return ended('cancelled', before + attempt, last)
      }
      last = classify(err)
      if (err instanceof RestartError && split) {
        // A range answered with the whole file or another version: start over
        // at once on one connection. Not the server's failure: no attempt spent.
        await ResumeState.clear(req.tmp)
        split = false
        attempt--
        continue
      }
      const final = !last.retryable || attempt >= policy.maxAttempts
      if (final || !last.resumable) await ResumeState.clear(req.tmp)
      if (final) return ended('failed', before + attempt, last)
      const delay = backoff(policy, attempt, last.retryAfterMs)
      // For progress: the file is retrying until then (kept after, so that a reporter sees even a short wait).
      req.progress.retry = { at: Date.now() + delay, error: last.code, httpStatus: last.httpStatus }
      req.progress.waits++
      try {
        await sleep(delay, undefined, { signal: req.signal })
      } catch {
        return ended('cancelled', before + attempt, last)
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
