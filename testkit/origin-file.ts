// The test origin's answer to /f/<name> (origin.ts): the file's bytes
// (file-bytes.ts), served as its query parameters say:
//   size=N        body length (default 1024)
//   delay=MS      wait before the headers
//   rate=BPS      throttle the body to about BPS bytes per second
//   status=N      always answer N (with errorBody=B, a body of B bytes)
//   fail=N&times=K&retryAfter=S   answer N the first K times (optionally with Retry-After)
//   reset=B&times=K   destroy the socket after B body bytes, the first K times
//   stall=B&times=K   send B bytes then go silent, the first K times
//   short=B&times=K   announce the full size, send B bytes and close, the first K times
//   norange=1     ignore Range headers (bytes=A- and bytes=A-B are honoured otherwise)
//   ranges=none   a server that knows no ranges: no Accept-Ranges, Range ignored
//   badrange=1    answer 206 with the whole file, whatever was asked
//   earlyHints=1  send a 103 Early Hints before the answer
//   etag=X        strong validator (default derived from name and size)
//   versions=1    every request serves a new version: other bytes, other ETag
//   bigHeaders=N  add a header of N bytes to the answer
// "The first K times" is counted per path and query, so every test gets its own
// counters by using distinct names.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { fileBytes, sha256Hex } from './file-bytes.js'

const PIECE = 64 * 1024

/**
 * Answers a request for file `name`, the `count`th for its path and query;
 * `record.sent` counts the body bytes written to the socket.
 */
export async function serveFile(req: IncomingMessage, res: ServerResponse, url: URL, name: string, count: number, record: { sent: number }): Promise<void> {
  const q = (k: string) => url.searchParams.get(k)
  const num = (k: string, d: number) => (q(k) === null ? d : Number(q(k)))
  const firstTimes = count <= num('times', 1)

  if (q('earlyHints')) res.writeEarlyHints({ link: '</style.css>; rel=preload; as=style' })
  if (q('delay')) await sleep(num('delay', 0))
  if (q('status')) {
    res.writeHead(num('status', 500))
    // Written in pieces that wait for the client: a client that stops reading stops it.
    for (let left = num('errorBody', 0); left > 0 && !res.destroyed; left -= PIECE) {
      const more = res.write(Buffer.alloc(Math.min(PIECE, left), 'x'))
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
