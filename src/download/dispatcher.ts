import { Agent, interceptors, type Dispatcher } from 'undici'

export interface DispatcherOptions {
  connectTimeoutMs: number
  idleTimeoutMs: number
}

export const MAX_REDIRECTS = 5

/**
 * The one HTTP client of a worker process. Connections are kept alive across
 * files and tasks; how many run at once is bounded by the worker's limits.
 */
export function createDownloadAgent(opts: DispatcherOptions): { agent: Agent; dispatcher: Dispatcher } {
  const agent = new Agent({
    connect: { timeout: opts.connectTimeoutMs },
    headersTimeout: opts.idleTimeoutMs,
    bodyTimeout: opts.idleTimeoutMs,
    keepAliveTimeout: 10_000,
    pipelining: 1,
  })
  const dispatcher = agent.compose(interceptors.redirect({ maxRedirections: MAX_REDIRECTS }))
  return { agent, dispatcher }
}
