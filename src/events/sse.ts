// The Server-Sent Events protocol of GET /tasks/:id/events: a hijacked
// response gets the task's history, then its live events, each as one frame,
// with a heartbeat comment while nothing happens; it ends after `end`, and a
// reader that lets too much pile up is dropped (it resumes by Last-Event-ID).
import type { FastifyReply } from 'fastify'
import type { EventHub, Subscription } from './hub.js'
import type { TaskEvent } from './stream.js'

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


/** Answers the request with the task's events after `lastEventId` (all, when null), until `end` or the client leaves. */
export async function streamTaskEvents(reply: FastifyReply, hub: EventHub, taskId: string, lastEventId: string | null): Promise<void> {
  reply.hijack()
  const res = reply.raw
  res.writeHead(200, { ...(reply.getHeaders() as Record<string, string>), ...SSE_HEADERS })
  res.write(`retry: ${SSE_RETRY_MS}\n\n`)
  let subscription: Subscription | null = null
  let done = false
  const finish = () => {
    if (done) return
    done = true
    subscription?.unsubscribe()
    res.end()
  }
  // The process shuts down: the stream ends and its connection with it (the
  // server's close waits for every connection); EventSource reconnects.
  const shutDown = () => {
    finish()
    res.socket?.destroySoon()
  }
  res.on('close', finish)
  // A hijacked response is ours: a write to a socket that broke must end this stream, not the process.
  res.on('error', finish)
  const onEvents = (events: TaskEvent[]) => {
    if (done) return
    res.write(frames(events))
    if (events.at(-1)!.event === 'end') finish()
    else if (res.writableLength > MAX_BUFFERED_BYTES) res.destroy()
  }
  const heartbeat = () => {
    if (!done) res.write(HEARTBEAT)
  }
  try {
    subscription = await hub.subscribeTask(taskId, lastEventId ?? '0-0', onEvents, heartbeat, shutDown)
    if (done) subscription.unsubscribe()
  } catch (err) {
    // Redis failed, or the process shuts down while the stream was starting: the client reconnects.
    reply.log.warn({ err: { message: (err as Error).message } }, 'event stream failed')
    shutDown()
  }
}
