// A file's `error` code in words a person understands, for what people read
// (the zip's REPORT.txt). The wording is the web page's (web/app.js), which
// cannot import this module; keep the two alike.
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

const HTTP_WORDS: Readonly<Record<number, string>> = {
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

/** The sentence for a file's error code; a code this table does not know yet is still shown, as itself. */
export function describeFileError(code: string | null, httpStatus: number | null = null): string {
  if (code === 'http_error' && httpStatus !== null) {
    const words = HTTP_WORDS[httpStatus]
    return `The server answered ${httpStatus}${words ? ` (${words})` : ''}`
  }
  if (code === null) return 'Failed, for no recorded reason'
  return isFileErrorCode(code) ? FILE_ERROR_TEXT[code] : `Failed (${code})`
}
