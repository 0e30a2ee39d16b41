// A real HTTP origin on loopback that misbehaves on demand. Every file is
// /f/<name>; its bytes are a pure function of name and size, and query
// parameters say how to serve it:
//   size=N        body length (default 1024)
//   delay=MS      wait before the headers
//   rate=BPS      throttle the body to about BPS bytes per second
//   status=N      always answer N (with errorBody=B, a body of B bytes)
//   fail=N&times=K&retryAfter=S   answer N the first K times (optionally with Retry-After)
//   reset=B&times=K   destroy the socket after B body bytes, the first K times
//   stall=B&times=K   send B bytes then go silent, the first K times
//   short=B&times=K   announce the full size, send B bytes and close, the first K times
//   /r/<n>/f/...  answer through n redirects
//   /to?url=U     redirect to any URL
//   /self/...     redirect to itself, forever
//   norange=1     ignore Range headers (bytes=A- and bytes=A-B are honoured otherwise)
//   ranges=none   a server that knows no ranges: no Accept-Ranges, Range ignored
//   badrange=1    answer 206 with the whole file, whatever was asked
//   earlyHints=1  send a 103 Early Hints before the answer
//   etag=X        strong validator (default derived from name and size)
//   versions=1    every request serves a new version: other bytes, other ETag
//   bigHeaders=N  add a header of N bytes to the answer
// "The first K times" is counted per path and query, so every test gets its own
// counters by using distinct names.
import { createHash } from 'node:crypto'
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

const BLOCK = 64 * 1024
const blocks = new Map<string, Buffer>()

function blockFor(name: string): Buffer {
  let block = blocks.get(name)
  if (!block) {
    // One call for the whole block: a new name costs 0.2 ms, not 2,048 hashes.
    block = createHash('shake256', { outputLength: BLOCK }).update(name).digest()
    blocks.set(name, block)
  }
  return block
}

/** The bytes of file `name` with `size` bytes, from `start` to `end` (exclusive). */
export function fileBytes(name: string, size: number, start = 0, end = size): Buffer {
  const block = blockFor(name)
  const out = Buffer.allocUnsafe(end - start)
  for (let i = start; i < end; ) {
    const offset = i % BLOCK
    const n = Math.min(BLOCK - offset, end - i)
    block.copy(out, i - start, offset, offset + n)
    // Mix the block number into each block's first byte, so that bytes
    // written at the wrong offset show.
    if (offset === 0) out[i - start] = out[i - start]! ^ (Math.floor(i / BLOCK) & 0xff)
    i += n
  }
  return out
}

export const sha256Hex = (buf: Buffer) => createHash('sha256').update(buf).digest('hex')

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
    const q = (k: string) => url.searchParams.get(k)
    const num = (k: string, d: number) => (q(k) === null ? d : Number(q(k)))

    if (url.pathname === '/to') {
      res.writeHead(302, { location: q('url') ?? '/' }).end()
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
    const name = decodeURIComponent(m[1]!)
    const count = (served.get(req.url!) ?? 0) + 1
    served.set(req.url!, count)
    const firstTimes = count <= num('times', 1)

    if (q('earlyHints')) res.writeEarlyHints({ link: '</style.css>; rel=preload; as=style' })
    if (q('delay')) await sleep(num('delay', 0))
    if (q('status')) {
      res.writeHead(num('status', 500))
      // Written in pieces that wait for the client: a client that stops reading stops it.
      for (let left = num('errorBody', 0); left > 0 && !res.destroyed; left -= BLOCK) {
        const more = res.write(Buffer.alloc(Math.min(BLOCK, left), 'x'))
        if (!more) await drainedOrClosed(res)
      }
      if (!res.destroyed) res.end(q('errorBody') ? undefined : 'status')
      return
    }
    if (q('fail') && firstTimes) {
      const headers: Record<string, string> = {}
      if (q('retryAfter')) headers['retry-after'] = q('retryAfter')!
      res.writeHead(num('fail', 503), headers).end('failing')
      return
    }

    const size = num('size', 1024)
    const version = q('versions') ? `${name}#v${count}` : name
    const etag = `"${q('etag') ?? sha256Hex(Buffer.from(`${version}:${size}`)).slice(0, 16)}"`
    let start = 0
    let end = size
    let status = 200
    const headers: Record<string, string | number> = { etag, 'content-type': 'application/octet-stream' }
    const noRanges = q('ranges') === 'none'
    if (!noRanges) headers['accept-ranges'] = 'bytes'
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '')
    const ifRange = req.headers['if-range']
    if (range && !q('norange') && !noRanges && (!ifRange || ifRange === etag) && Number(range[1]) < size) {
      start = Number(range[1])
      end = range[2] ? Math.min(size, Number(range[2]) + 1) : size
      status = 206
      headers['content-range'] = `bytes ${start}-${end - 1}/${size}`
    }
    if (q('badrange')) {
      start = 0
      end = size
      status = 206
      headers['content-range'] = `bytes 0-${size - 1}/${size}`
    }
    headers['content-length'] = end - start
    if (q('bigHeaders')) headers['x-padding'] = 'p'.repeat(num('bigHeaders', 0))
    res.writeHead(status, headers)

    // Made a piece at a time as it goes out: a whole body of hundreds of MiB
    // made up front would hold this process for as long, and every other
    // answer's pace with it.
    const length = end - start
    const cutAt = (k: string) => (q(k) !== null && firstTimes ? Math.max(0, num(k, 0) - start) : null)
    const reset = cutAt('reset')
    const stall = cutAt('stall')
    const short = cutAt('short')
    const limit = Math.min(reset ?? Infinity, stall ?? Infinity, short ?? Infinity, length)
    const rate = num('rate', 0)
    const chunk = rate > 0 ? Math.max(1, Math.floor(rate / 20)) : 256 * 1024
    // A throttled body goes out one piece per 50 ms tick, each tick due at a
    // fixed time from the first: late timers do not add up over a long body.
    const began = performance.now()
    for (let i = 0, tick = 1; i < limit; i += chunk, tick++) {
      const piece = fileBytes(version, size, start + i, start + Math.min(i + chunk, limit))
      record.sent += piece.length
      if (!res.write(piece)) await drainedOrClosed(res)
      // No pause after the last piece: the client has the whole body, the answer ends.
      if (rate > 0 && i + chunk < limit) await sleep(Math.max(0, began + tick * 50 - performance.now()))
      if (res.destroyed) return
    }
    if (reset !== null && reset < length) {
      // Let the client read what was sent: a reset discards unread bytes.
      await sleep(100)
      res.socket?.resetAndDestroy()
      return
    }
    if (stall !== null && stall < length) return // silent until the client gives up
    if (short !== null && short < length) {
      res.socket?.destroySoon()
      return
    }
    res.end()
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

function drainedOrClosed(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done)
      res.off('close', done)
      resolve()
    }
    res.on('drain', done)
    res.on('close', done)
  })
}
