// One request and its answer, handled as undici delivers it: a dispatch
// handler rather than request() and a Readable body, which cost more CPU per
// file (docs/decisions/0005-dispatch-handler.md).
// The disk sets the pace: a full batch pauses the socket until it is written.
import { createHash, type Hash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import type { IncomingHttpHeaders } from 'node:http'
import type { Dispatcher } from 'undici'
import type { DownloadPolicy, DownloadRequest } from './download-file.js'
import { MAX_REDIRECTS } from './dispatcher.js'
import { DownloadError, httpError, parseRetryAfter } from './errors.js'
import type { FileSink } from './file-sink.js'
import { RESUME_MIN_BYTES, savePartialMeta, validatorOf, type PartialMeta, type Resumable } from './partial.js'

export interface Received {
  bytes: number
  size: number | null
  status: number
  hash: Hash | null
}

/** An error answer's body is read to keep the connection, up to this much; past it the connection is dropped. */
const DRAIN_LIMIT = 128 * 1024
const READ_BUFFER = 1024 * 1024

/**
 * Requests the file and writes its body into the sink that `opening` gives
 * (opened while the request is out). Settles when the body is in; rejects
 * with the reason the answer is not the file, or the transfer's error.
 */
export function receive(dispatcher: Dispatcher, policy: DownloadPolicy, req: DownloadRequest, partial: Resumable | null, opening: Promise<FileSink>): Promise<Received> {
  const { origin, pathname, search } = new URL(req.url)
  return new Promise<Received>((resolve, reject) => {
    let controller: Dispatcher.DispatchController | null = null
    let sink: FileSink | null = null
    let status = 0
    let size: number | null = null
    let bytes = 0
    let hash: Hash | null = null
    let windowStart = 0
    let windowBytes = 0
    /** an answer that is not the file: its body is drained, then this is the outcome */
    let refusal: DownloadError | null = null
    let drained = 0

    const onAbort = () => controller?.abort(new DOMException('the download was aborted', 'AbortError'))
    req.signal.addEventListener('abort', onAbort, { once: true })
    const settle = (err: unknown) => {
      req.signal.removeEventListener('abort', onAbort)
      if (err) reject(err)
      else resolve({ bytes, size, status, hash })
    }
    // undici must not be aborted from inside its own callbacks: pause it, abort on the next microtask.
    const fail = (err: unknown) => {
      controller!.pause()
      queueMicrotask(() => controller!.abort(err as Error))
    }
    const waitFor = (work: Promise<void>) => {
      controller!.pause()
      work.then(() => controller!.resume(), fail)
    }

    const start = async (headers: IncomingHttpHeaders) => {
      sink = await opening
      let offset = 0
      if (status === 206 && partial) {
        const range = contentRange(headers['content-range'])
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
        size = contentLength(headers['content-length'])
        const validator = validatorOf(headers)
        if (validator && size !== null && size >= RESUME_MIN_BYTES) await savePartialMeta(req.tmp, { validator, size } satisfies PartialMeta)
        else if (partial) await savePartialMeta(req.tmp, null)
      }
      if (size !== null && size > policy.maxBytes) {
        throw new DownloadError('file_too_large', false, `the file has ${size} bytes, over MAX_FILE_BYTES`, status)
      }
      hash = req.sha256 ? createHash('sha256') : null
      if (hash && offset > 0) await hashFile(req.tmp, hash)
      bytes = offset
      req.progress.bytes = bytes
      windowStart = Date.now()
    }

    const take = (chunk: Buffer) => {
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
      const wait = sink!.push(chunk)
      if (wait) waitFor(wait)
    }

    dispatcher.dispatch({ origin, path: pathname + search, method: 'GET', headers: resumeHeaders(partial) }, {
      onRequestStart(c) {
        controller = c
        if (req.signal.aborted) onAbort()
      },
      onResponseStart(_c, statusCode, headers) {
        if (statusCode < 200) return // informational (103 Early Hints): the answer follows
        status = statusCode
        if (status >= 300 && status < 400 && headers.location) {
          // The redirect interceptor hands back the redirect it would not follow.
          refusal = new DownloadError('too_many_redirects', false, `more than ${MAX_REDIRECTS} redirects`, status)
        } else if (status < 200 || status > 299) {
          refusal = httpError(status, parseRetryAfter(headers['retry-after']))
        } else {
          waitFor(start(headers))
        }
      },
      onResponseData(_c, chunk) {
        if (refusal) {
          drained += chunk.length
          if (drained > DRAIN_LIMIT) fail(refusal)
          return
        }
        try {
          take(chunk)
        } catch (err) {
          fail(err)
        }
      },
      onResponseEnd: () => settle(refusal),
      onResponseError: (_c, err) => settle(err),
    })
  })
}

function resumeHeaders(partial: Resumable | null): Record<string, string> {
  if (!partial) return {}
  // The server sends the rest only if the file is still the same version;
  // otherwise the whole file, and we start over: never two versions spliced.
  return { range: `bytes=${partial.offset}-`, 'if-range': partial.meta.validator }
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
