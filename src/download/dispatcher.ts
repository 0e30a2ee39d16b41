import { Agent, interceptors, type Dispatcher } from 'undici'
import type { AddressPolicy } from '../net/address-policy.js'
import { guardedConnector } from '../net/guarded-connector.js'
import { redirectGuard } from './redirect-guard.js'

export interface DispatcherOptions {
  policy: AddressPolicy
  connectTimeoutMs: number
  idleTimeoutMs: number
}

export const MAX_REDIRECTS = 5

/**
 * The one HTTP client of a worker process. Connections are kept alive across
 * files and tasks; how many run at once is bounded by the worker's limits.
 * Every connection, redirect hops included, goes through the address guard.
 */
export function createDownloadAgent(opts: DispatcherOptions): { agent: Agent; dispatcher: Dispatcher } {
  const agent = new Agent({
    connect: guardedConnector({ policy: opts.policy, timeoutMs: opts.connectTimeoutMs }),
    headersTimeout: opts.idleTimeoutMs,
    bodyTimeout: opts.idleTimeoutMs,
    keepAliveTimeout: 10_000,
    pipelining: 1,
  })
  // The guard is composed first, so that each hop's answer reaches it before the redirect interceptor.
  const dispatcher = agent.compose(redirectGuard(), interceptors.redirect({ maxRedirections: MAX_REDIRECTS }))
  return { agent, dispatcher }
}
