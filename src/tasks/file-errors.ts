// A file's `error` code in words a person understands, for what people read:
// the zip's REPORT.txt, and the web page, which fetches this table as JSON
// from /ui/file-errors.json (routes/ui.ts) instead of keeping a copy.
import { isFileErrorCode, type FileErrorCode } from '../vocabulary.js'

/** Sentence per stable error code (every one: the type sees to it); http_error is completed with the status by describeFileError(). */
export const FILE_ERROR_TEXT: Readonly<Record<FileErrorCode, string>> = {
  http_error: 'The server answered with an error',
  timeout: 'The server stopped sending data',
  connect_timeout: 'The server could not be reached in time',
  connection_error: 'The connection to the server was lost',
  dns_error: 'The server name does not exist',
  too_slow: 'The server sent data too slowly',
  size_mismatch: 'The file arrived incomplete',
  range_mismatch: 'The server could not resume the file',
  checksum_mismatch: 'The file does not match its expected checksum',
  file_too_large: 'The file is larger than this service allows',
  too_many_redirects: 'The server redirected too many times',
  redirect_loop: 'The server redirected in a loop',
  bad_redirect: 'The server redirected to something that is not a web address',
  headers_too_large: 'The server sent an oversized answer header',
  blocked_address: 'That address is on an internal network and may not be fetched',
  host_not_allowed: 'That server is not on the list of allowed servers',
  disk_full: 'The download disk is full',
  disk_error: 'The file could not be written to disk',
  cancelled: 'Cancelled',
  worker_error: 'The download service failed on this file; retry it',
  download_error: 'The download failed',
}

export const HTTP_WORDS: Readonly<Record<number, string>> = {
  400: 'bad request',
  401: 'not authorised',
  403: 'forbidden',
  404: 'not found',
  408: 'timed out',
  410: 'gone',
  429: 'too many requests',
  500: 'server error',
  502: 'bad gateway',
  503: 'unavailable',
  504: 'gateway timeout',
}

/**
 * Codes that another attempt of the same URL cannot fix: the answer or the
 * address policy would be the same. A disk that was full, a timeout or a
 * cancel may well go through next time.
 */
export const FINAL_ERRORS: readonly string[] = [
  'blocked_address',
  'host_not_allowed',
  'file_too_large',
  'too_many_redirects',
  'redirect_loop',
  'bad_redirect',
  'headers_too_large',
]

/**
 * HTTP statuses that will be the same next time: client errors, but for a
 * timeout and a rate limit. With FINAL_ERRORS, what the page offers Retry by.
 */
export const FINAL_HTTP: { readonly from: number; readonly to: number; readonly except: readonly number[] } = { from: 400, to: 499, except: [408, 429] }

/** The sentence for a file's error code; a code this table does not know yet is still shown, as itself. */
export function describeFileError(code: string | null, httpStatus: number | null = null): string {
  if (code === 'http_error' && httpStatus !== null) {
    const words = HTTP_WORDS[httpStatus]
    return `The server answered ${httpStatus}${words ? ` (${words})` : ''}`
  }
  if (code === null) return 'Failed, for no recorded reason'
  return isFileErrorCode(code) ? FILE_ERROR_TEXT[code] : `Failed (${code})`
}

/** What the page needs to word and judge errors exactly as the service does. */
export const fileErrorTable = () => ({
  text: FILE_ERROR_TEXT,
  http_words: HTTP_WORDS,
  final_errors: FINAL_ERRORS,
  final_http: FINAL_HTTP,
})
