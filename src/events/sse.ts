import type { TaskEvent } from './hub.js'

/** What EventSource waits before reconnecting. */
export const SSE_RETRY_MS = 2000

/** A subscriber that lets this much pile up unread is dropped; it reconnects and resumes by Last-Event-ID. */
export const MAX_BUFFERED_BYTES = 1024 * 1024

export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  connection: 'keep-alive',
  // nginx and friends must pass events through as they come.
  'x-accel-buffering': 'no',
}

/** Our data is one line of JSON, so one `data:` line per event. */
export const frame = (e: TaskEvent) => `id: ${e.id}\nevent: ${e.event}\ndata: ${e.data}\n\n`

const encoded = new WeakMap<TaskEvent[], string>()

/** The frames of a batch, encoded once however many subscribers receive the same batch. */
export function frames(events: TaskEvent[]): string {
  let text = encoded.get(events)
  if (text === undefined) {
    text = events.map(frame).join('')
    encoded.set(events, text)
  }
  return text
}

export const HEARTBEAT = ': heartbeat\n\n'

const STREAM_ID = /^\d{1,20}-\d{1,20}$/

/** A Last-Event-ID we wrote (a stream id), or null for anything else. */
export function parseLastEventId(value: string | string[] | undefined): string | null {
  const v = Array.isArray(value) ? value[0] : value
  return v && STREAM_ID.test(v.trim()) ? v.trim() : null
}
