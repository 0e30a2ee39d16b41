import { errors as undiciErrors } from 'undici'
import { BlockedAddressError } from '../net/guarded-connector.js'
import type { FileErrorCode } from '../vocabulary.js'
import { RedirectRefusedError } from './redirect-guard.js'

/**
 * Why one download attempt failed: a stable code (what GET /tasks/:id shows
 * as the file's `error`) and whether another attempt may succeed.
 */
export class DownloadError extends Error {
  /** whether the bytes received so far may be kept for the next attempt */
  resumable = true

  constructor(
    readonly code: FileErrorCode,
    readonly retryable: boolean,
    message: string,
    readonly httpStatus: number | null = null,
    readonly retryAfterMs: number | null = null,
  ) {
    super(message)
    this.name = 'DownloadError'
  }

  /** The bytes received so far are wrong: the next attempt starts from byte 0. */
  notResumable(): this {
    this.resumable = false
    return this
  }
}

const RETRYABLE_STATUS = (status: number) => status === 408 || status === 429 || status >= 500

export function httpError(status: number, retryAfterMs: number | null): DownloadError {
  return new DownloadError('http_error', RETRYABLE_STATUS(status), `origin answered ${status}`, status, retryAfterMs)
}

const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN'])

/** Maps whatever an attempt threw onto a DownloadError. */
export function classify(err: unknown): DownloadError {
  if (err instanceof DownloadError) return err
  const blocked = err instanceof BlockedAddressError ? err : (err as { cause?: unknown })?.cause
  if (blocked instanceof BlockedAddressError) return new DownloadError(blocked.code, false, blocked.message)
  if (err instanceof RedirectRefusedError) return new DownloadError(err.code, false, err.message)
  if (err instanceof undiciErrors.HeadersOverflowError) {
    return new DownloadError('headers_too_large', false, 'the answer\'s header block is over the size limit')
  }
  const e = err as NodeJS.ErrnoException
  if (err instanceof undiciErrors.ConnectTimeoutError) return new DownloadError('connect_timeout', true, 'connect timed out')
  if (err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError) {
    return new DownloadError('timeout', true, 'origin went silent')
  }
  if (e.code === 'ENOSPC' || e.code === 'EDQUOT') return new DownloadError('disk_full', false, 'no space left on the download volume')
  if (e.syscall && ['open', 'write', 'rename', 'mkdir', 'close'].includes(e.syscall)) {
    return new DownloadError('disk_error', false, `cannot write the file (${e.code ?? 'error'})`)
  }
  if (e.code === 'ENOTFOUND') return new DownloadError('dns_error', true, 'host name not found')
  if (err instanceof undiciErrors.ResponseContentLengthMismatchError) {
    return new DownloadError('size_mismatch', true, 'body shorter or longer than Content-Length')
  }
  if (err instanceof undiciErrors.SocketError || NETWORK_CODES.has(e.code ?? '') || err instanceof undiciErrors.UndiciError) {
    return new DownloadError('connection_error', true, `connection failed (${e.code ?? e.message})`)
  }
  return new DownloadError('download_error', true, e.message ?? String(err))
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | null {
  const v = Array.isArray(value) ? value[0] : value
  if (!v) return null
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000
  const at = Date.parse(v)
  return Number.isNaN(at) ? null : Math.max(0, at - now)
}
