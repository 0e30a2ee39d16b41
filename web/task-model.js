// One task's data on the page. Read once (GET /tasks/:id), then kept current
// from the task's events (file, progress, state, end) and, while it runs, from
// GET /tasks/:id?files=active for the bytes of the files in flight, once a
// second or less often: the requests do not grow with the number of files
// (docs/decisions/0009-page-follows-events.md).

import { api, followEvents } from './api.js'
import { retryMayHelp } from './format.js'

const POLL_MS = 1000
/** ?files=active lists the queued files too: with many left it is asked less often (every 10 s at 5,000 and more). */
const POLL_FILES_PER_S = 500
export const RUNNING = new Set(['queued', 'running'])
const UNSETTLED = new Set(['queued', 'downloading', 'retrying'])
const ENDED = new Set(['done', 'failed', 'cancelled'])

/** Reads task `id`; `onChange` is called after every change (the view draws at most once a frame). */
export async function loadTask(id, { onChange, onSummary }) {
  const path = `/tasks/${encodeURIComponent(id)}`
  const m = { id, files: [], byName: new Map(), state: null, task: null, finished: 0 }
  let samples = []
  let lastEventId = null
  let events = null
  let poll = null
  let polls = true
  let settled = false
  let closed = false

  function load(status) {
    m.byName = new Map()
    m.files = status.files.map((f, index) => {
      m.byName.set(f.saved_as, index)
      return { ...f, index }
    })
    summary(status)
  }

  function summary(s) {
    m.state = s.state
    m.task = { task_id: id, state: s.state, created_at: s.created_at ?? m.task?.created_at, totals: { ...m.task?.totals, ...s.totals } }
    onSummary(m.task)
  }

  function patch(f, fromPoll = false) {
    const i = f.index ?? m.byName.get(f.saved_as)
    const old = i === undefined ? undefined : m.files[i]
    if (!old) return
    // A poll answered before a file's end event must not bring the file back: events are newer.
    if (fromPoll && ENDED.has(old.state)) return
    const now = performance.now()
    let speed = old.speed
    if (f.state === 'downloading' && old.state === 'downloading' && f.bytes != null && old.at) {
      speed = ((f.bytes - old.bytes) * 1000) / Math.max(1, now - old.at)
    }
    m.files[i] = { ...old, ...f, index: i, speed, at: now }
  }

  function onEvent(type, data, eventId) {
    if (closed) return
    lastEventId = eventId
    if (type === 'file') patch(data)
    else if (type === 'progress') {
      summary({ state: m.state, totals: data })
      samples.push([performance.now(), data.bytes_done])
      while (samples.length > 2 && performance.now() - samples[0][0] > 5000) samples.shift()
    } else if (type === 'state') summary({ state: data.state, totals: {} })
    else if (type === 'end') summary({ state: data.state, totals: data.totals })
    onChange()
  }

  async function pollActive() {
    try {
      const status = await api('GET', `${path}?files=active`)
      // An answer that crossed the end event is older than what the page shows.
      if (closed || !RUNNING.has(m.state)) return
      summary(status)
      // A service older than ?files= answers every file: then the events alone keep the view, not a heavy poll.
      if (status.files.some((f) => f.state === 'done')) polls = false
      for (const f of status.files) patch(f, true)
      onChange()
    } catch {
      // Asked again at the next turn.
    } finally {
      poll = null
    }
  }

  /** After the end, files the events did not settle (the queued ones of a cancel) are read once. */
  async function settle() {
    settled = true
    if (!m.files.some((f) => UNSETTLED.has(f.state))) return
    const status = await api('GET', path).catch(() => null)
    if (status && !closed && !RUNNING.has(status.state)) {
      load(status)
      onChange()
    }
  }

  function follow() {
    events?.close()
    events = followEvents(id, onEvent, { lastEventId })
  }

  load(await api('GET', path))
  if (RUNNING.has(m.state)) follow()

  return Object.assign(m, {
    /** Bytes per second: the service's figure when it sends one, else measured here over the last seconds. */
    speed() {
      if (m.task.totals.speed != null) return m.task.totals.speed
      if (samples.length < 2) return 0
      const [t0, b0] = samples[0]
      const [t1, b1] = samples.at(-1)
      return t1 > t0 ? Math.max(0, ((b1 - b0) * 1000) / (t1 - t0)) : 0
    },
    /** The files by what they are doing; also what the next poll's pace follows. */
    counts() {
      const count = { active: 0, failed: 0, done: 0, queued: 0, retryable: 0, unknownSize: 0, knownBytes: 0 }
      for (const f of m.files) {
        if (f.state === 'downloading' || f.state === 'retrying') count.active++
        else if (f.state === 'failed' || f.state === 'cancelled') {
          count.failed++
          if (retryMayHelp(f)) count.retryable++
        } else if (f.state === 'done') count.done++
        else count.queued++
        if (f.size != null) count.knownBytes += f.size
        else if (f.state === 'done') count.knownBytes += f.bytes
        else if (UNSETTLED.has(f.state)) count.unknownSize++
      }
      m.finished = count.done + count.failed
      return count
    },
    /** Called after each draw: keeps the poll going while the task runs, settles it once it ended. */
    tick() {
      if (closed) return
      if (!RUNNING.has(m.state)) {
        if (!settled) settle()
        return
      }
      settled = false
      if (poll || !polls) return
      const every = Math.min(10, Math.max(1, Math.ceil((m.files.length - m.finished) / POLL_FILES_PER_S))) * POLL_MS
      poll = setTimeout(pollActive, document.hidden ? Math.max(every, POLL_MS * 5) : every)
    },
    async retry() {
      load(await api('POST', `${path}/retry`))
      samples = []
      follow()
    },
    async cancel() {
      summary(await api('DELETE', path))
    },
    purge: () => api('DELETE', `${path}?purge=1`),
    close() {
      closed = true
      events?.close()
      clearTimeout(poll)
    },
  })
}
