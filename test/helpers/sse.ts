import { EventSource } from 'eventsource'

export interface Received {
  id: string
  type: string
  data: unknown
}

export const EVENT_TYPES = ['state', 'file', 'progress', 'end'] as const

/**
 * Follows an event stream with a real EventSource client until `end`, or
 * until `stopAfter` events; optional headers (an API key, a first
 * Last-Event-ID) go on the first request.
 */
export function follow(url: string, opts: { headers?: Record<string, string>; stopAfter?: number; timeoutMs?: number } = {}) {
  return new Promise<Received[]>((resolve, reject) => {
    const received: Received[] = []
    const es = new EventSource(url, {
      fetch: (input, init) => fetch(input, { ...init, headers: { ...opts.headers, ...(init?.headers as Record<string, string>) } }),
    })
    const timer = setTimeout(() => {
      es.close()
      reject(new Error(`stream did not end in time; got ${received.length} events`))
    }, opts.timeoutMs ?? 20_000)
    let stopped = false
    const stop = () => {
      stopped = true
      clearTimeout(timer)
      es.close()
      resolve(received)
    }
    for (const type of EVENT_TYPES) {
      es.addEventListener(type, (e) => {
        // Events parsed from the same chunk still arrive after close().
        if (stopped) return
        received.push({ id: e.lastEventId, type, data: JSON.parse(e.data) })
        if (type === 'end' || received.length === opts.stopAfter) stop()
      })
    }
    es.addEventListener('error', () => {
      if (es.readyState === EventSource.CLOSED) {
        clearTimeout(timer)
        reject(new Error(`stream closed with an error after ${received.length} events`))
      }
    })
  })
}
