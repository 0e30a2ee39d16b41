// Whether an answer's head may be taken, before any of its body is: the
// status (a redirect not followed, an error with its Retry-After), and for a
// 2xx its Content-Range against the range asked for and the file's version,
// and the size against MAX_FILE_BYTES. Pure: the receiver acts on the result.
import type { IncomingHttpHeaders } from 'node:http'
import { MAX_REDIRECTS } from './dispatcher.js'
import { DownloadError, httpError, parseRetryAfter } from './errors.js'
import { contentLength, contentRange, validatorOf } from './resume-state.js'

/** What the first answer says of the file. */
export interface AnswerInfo {
  status: number
  /** the whole file's size, when the server said it */
  size: number | null
  validator: string | null
  /** a 206 to a range, or a server that says it takes ranges */
  ranges: boolean
}

/** The file's version a range must belong to; null: the request is for the whole file. */
export type Expected = { validator: string; size: number } | null

/** A taken answer: what it says of the file, and where its body ends in the file. */
export interface CheckedAnswer extends AnswerInfo {
  /** past the segment's end once the segment was cut short; Infinity when unknown */
  bodyEnd: number
}

/** The range could not be had as asked: the file starts over on one connection. */
export class RestartError extends DownloadError {
  constructor(message: string, status: number) {
    super('range_mismatch', true, message, status)
    this.notResumable()
  }
}

/** Why a non-2xx answer is refused, or null for a 2xx whose body may be read. */
export function refusalOf(status: number, headers: IncomingHttpHeaders): DownloadError | null {
  if (status >= 300 && status < 400 && headers.location) {
    // The redirect interceptor hands back the redirect it would not follow.
    return new DownloadError('too_many_redirects', false, `more than ${MAX_REDIRECTS} redirects`, status)
  }
  if (status < 200 || status > 299) return httpError(status, parseRetryAfter(headers['retry-after']))
  return null
}

/**
 * Checks a 2xx answer to a request whose first byte goes at `from`; throws
 * the DownloadError that refuses it.
 */
export function checkAnswer(status: number, headers: IncomingHttpHeaders, from: number, expect: Expected, maxBytes: number): CheckedAnswer {
  const range = contentRange(headers['content-range'])
  const validator = validatorOf(headers)
  let size: number | null
  let bodyEnd: number
  if (status === 206) {
    if (!expect) throw new DownloadError('range_mismatch', true, 'partial content to a request for the whole file', status).notResumable()
    if (!range || range.start !== from || range.total !== expect.size || (validator !== null && validator !== expect.validator)) {
      throw new RestartError('the server answered another range or version', status)
    }
    size = range.total
    bodyEnd = range.end
  } else {
    size = contentLength(headers['content-length'])
    bodyEnd = size ?? Infinity
  }
  if (size !== null && size > maxBytes) {
    throw new DownloadError('file_too_large', false, `the file has ${size} bytes, over MAX_FILE_BYTES`, status)
  }
  const ranges = status === 206 || headers['accept-ranges'] === 'bytes'
  return { status, size, validator, ranges, bodyEnd }
}
