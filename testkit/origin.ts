// A real HTTP origin on loopback that misbehaves on demand. Every file is
// /f/<name>; its bytes are a pure function of name and size (file-bytes.ts),
// and query parameters say how to serve it (origin-file.ts). Besides:
//   /r/<n>/f/...  answer through n redirects
//   /to?url=U     redirect to any URL
//   /self/...     redirect to itself, forever
//   /peak         the most requests in progress at once since the last look,
//                 as JSON (for a process that runs the origin in another one)
// The origin records every request, and counts connections and the most
// requests in progress at once.
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { serveFile } from './origin-file.js'

export interface OriginRequest {
  path: string
  range: string | undefined
  ifRange: string | undefined
  /** the request's headers as the origin got them */
  headers: IncomingHttpHeaders
  /** body bytes written to the socket so far */
  sent: number
  /** when it arrived (performance.now()) */
  at: number
  /** settles once the exchange is over: whether the whole response was handed to the client's socket */
  delivered: Promise<boolean>
}

export interface Origin {
  base: string
  url(name: string, params?: Record<string, string | number>): string
  requests: OriginRequest[]
  hits(name: string): number
  /** the most requests in progress at once since the origin started (or since resetPeak) */
  peakConcurrent(): number
  /** TCP connections accepted since the origin started: fewer than requests when clients keep them alive */
  connections(): number
  resetPeak(): void
  close(): Promise<void>
}

export async function startOrigin(host = '127.0.0.1'): Promise<Origin> {
  const served = new Map<string, number>()
  const requests: OriginRequest[] = []
  let concurrent = 0
  let peak = 0
  let connections = 0
  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy())
  })
  server.on('connection', () => connections++)

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://origin')
    if (url.pathname === '/peak') {
      // Not a request of the downloads it measures: neither counted nor recorded.
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ peak }))
      peak = concurrent
      return
    }
    const delivered = new Promise<boolean>((resolve) => {
      res.once('finish', () => resolve(true))
      res.once('close', () => resolve(false))
    })
    // Over when the origin ends it, or the client goes: the client may ask again before 'close' is emitted here.
    peak = Math.max(peak, ++concurrent)
    let over = false
    const ended = () => {
      if (!over) concurrent--
      over = true
    }
    res.once('close', ended)
    const resEnd = res.end.bind(res)
    res.end = ((...args: Parameters<typeof res.end>) => {
      ended()
      return resEnd(...args)
    }) as typeof res.end
    const record: OriginRequest = { path: url.pathname, range: req.headers.range, ifRange: req.headers['if-range'] as string | undefined, headers: req.headers, sent: 0, at: performance.now(), delivered }
    requests.push(record)

    if (url.pathname === '/to') {
      res.writeHead(302, { location: url.searchParams.get('url') ?? '/' }).end()
      return
    }
    if (url.pathname.startsWith('/self/')) {
      res.writeHead(302, { location: url.pathname + url.search }).end()
      return
    }
    const redirect = /^\/r\/(\d+)(\/.*)$/.exec(url.pathname)
    if (redirect) {
      const left = Number(redirect[1])
      const next = left > 1 ? `/r/${left - 1}${redirect[2]}` : redirect[2]!
      res.writeHead(302, { location: next + url.search }).end()
      return
    }
    const m = /^\/f\/(.+)$/.exec(url.pathname)
    if (!m) {
      res.writeHead(404).end()
      return
    }
    const count = (served.get(req.url!) ?? 0) + 1
    served.set(req.url!, count)
    await serveFile(req, res, url, decodeURIComponent(m[1]!), count, record)
  }

  await new Promise<void>((resolve) => server.listen(0, host, resolve))
  const base = `http://${host}:${(server.address() as AddressInfo).port}`
  return {
    base,
    url: (name, params) => originUrl(base, name, params),
    requests,
    hits: (name) => requests.filter((r) => r.path.endsWith(`/f/${encodeURIComponent(name)}`)).length,
    peakConcurrent: () => peak,
    connections: () => connections,
    resetPeak: () => (peak = concurrent),
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** The address of a file of the origin at `base`: its options (size, delay, rate, ...) in the query string. */
export function originUrl(base: string, name: string, params: Record<string, string | number> = {}): string {
  const qs = new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)])).toString()
  return `${base}/f/${encodeURIComponent(name)}${qs ? `?${qs}` : ''}`
}
