// Checks each redirect before undici's redirect interceptor follows it: a
// target that is not http(s), or one this download already visited, ends the
// download with a final error of its own instead of an error undici reports
// like a network failure (which would be retried to no end).
import type { IncomingHttpHeaders } from 'node:http'
import type { Dispatcher } from 'undici'

/** Why a redirect is not followed: a stable code and whether retrying may help (never). */
export class RedirectRefusedError extends Error {
  constructor(
    readonly code: 'redirect_loop' | 'bad_redirect',
    message: string,
  ) {
    super(message)
    this.name = 'RedirectRefusedError'
  }
}

const REDIRECT_STATUS = new Set([300, 301, 302, 303, 307, 308])

/**
 * The URLs each download visited, keyed by the redirect interceptor's handler,
 * which is the same object on every hop of one download.
 */
const visited = new WeakMap<object, Set<string>>()

/** An interceptor to compose inside interceptors.redirect(): it sees every hop's answer first. */
export function redirectGuard(): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) => (opts, handler) => {
    const here = new URL(opts.path, opts.origin).href
    let seen = visited.get(handler)
    if (!seen) visited.set(handler, (seen = new Set()))
    seen.add(here)
    return dispatch(opts, new RedirectCheck(handler, here, seen))
  }
}

class RedirectCheck implements Dispatcher.DispatchHandler {
  constructor(
    private readonly handler: Dispatcher.DispatchHandler,
    private readonly here: string,
    private readonly seen: Set<string>,
  ) {}

  onRequestStart(controller: Dispatcher.DispatchController, context: unknown): void {
    this.handler.onRequestStart?.(controller, context)
  }

  onResponseStart(controller: Dispatcher.DispatchController, status: number, headers: IncomingHttpHeaders, message: string): void {
    const location = headers.location
    // Thrown here, undici aborts the request with this error.
    if (REDIRECT_STATUS.has(status) && typeof location === 'string') this.check(location)
    this.handler.onResponseStart?.(controller, status, headers, message)
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.handler.onResponseData?.(controller, chunk)
  }

  onResponseEnd(controller: Dispatcher.DispatchController, trailers: IncomingHttpHeaders): void {
    this.handler.onResponseEnd?.(controller, trailers)
  }

  onResponseError(controller: Dispatcher.DispatchController, err: Error): void {
    this.handler.onResponseError?.(controller, err)
  }

  private check(location: string): void {
    let target: URL
    try {
      target = new URL(location, this.here)
    } catch {
      throw new RedirectRefusedError('bad_redirect', 'the server redirected to an invalid URL')
    }
    if (target.protocol !== 'http:' && target.protocol !== 'https:') {
      throw new RedirectRefusedError('bad_redirect', `the server redirected to a ${target.protocol.slice(0, -1)}: URL, not http(s)`)
    }
    target.hash = ''
    if (this.seen.has(target.href)) throw new RedirectRefusedError('redirect_loop', 'the server redirected in a loop')
  }
}
