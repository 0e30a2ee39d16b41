// Checks each redirect before undici's redirect interceptor follows it: a
// target that is not http(s), or one this download already visited, ends the
// download with a final error of its own instead of an error undici reports
// like a network failure (which would be retried to no end). And a hop to
// another origin than the first one's goes without the caller's credentials
// (Authorization, Cookie): undici drops them too, but that is its detail to
// change, and a leaked token is ours.
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

/** Request headers that only the origin they were given for may see. */
const CREDENTIALS = new Set(['authorization', 'cookie', 'proxy-authorization'])

interface Visit {
  /** the origin of the first request */
  origin: string
  /** the URLs visited */
  seen: Set<string>
  /** a hop has left the first origin: credentials stay off from then on */
  crossed: boolean
}

/**
 * What each download visited, keyed by the redirect interceptor's handler,
 * which is the same object on every hop of one download.
 */
const visited = new WeakMap<object, Visit>()

/** An interceptor to compose inside interceptors.redirect(): it sees every hop's answer first. */
export function redirectGuard(): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) => (opts, handler) => {
    const url = new URL(opts.path, opts.origin)
    let visit = visited.get(handler)
    if (!visit) visited.set(handler, (visit = { origin: url.origin, seen: new Set(), crossed: false }))
    visit.seen.add(url.href)
    if (url.origin !== visit.origin) visit.crossed = true
    const hop = visit.crossed ? { ...opts, headers: withoutCredentials(opts.headers) } : opts
    return dispatch(hop, new RedirectCheck(handler, url.href, visit.seen))
  }
}

/** The headers less Authorization, Cookie and Proxy-Authorization, in any of the forms undici takes. */
export function withoutCredentials(headers: Dispatcher.DispatchOptions['headers']): Dispatcher.DispatchOptions['headers'] {
  if (!headers) return headers
  const keep = (name: unknown) => !CREDENTIALS.has(String(name).toLowerCase())
  if (Array.isArray(headers)) {
    if (headers.length > 0 && Array.isArray(headers[0])) return (headers as unknown as [string, string][]).filter(([n]) => keep(n))
    const flat: string[] = []
    for (let i = 0; i < headers.length; i += 2) if (keep(headers[i])) flat.push(headers[i] as string, headers[i + 1] as string)
    return flat
  }
  const entries = Symbol.iterator in headers ? [...(headers as Iterable<[string, string]>)] : Object.entries(headers)
  return Object.fromEntries(entries.filter(([n]) => keep(n))) as Record<string, string>
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
