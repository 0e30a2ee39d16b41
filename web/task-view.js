// One task in detail. Loaded once (GET /tasks/:id), then kept current from the
// task's events (file, progress, state, end) and, while it runs, from
// GET /tasks/:id?files=active for the bytes of the files in flight, once a
// second or less often: the requests do not grow with the number of files.

import { api, download, followEvents, session } from './api.js'
import { bytes, duration, rate, retryMayHelp } from './format.js'
import { createFileList } from './file-list.js'

const ACTIVE_POLL_MS = 1000
const ACTIVE_POLL_FILES_PER_S = 500
const RUNNING = new Set(['queued', 'running'])
const $ = (s, root = document) => root.querySelector(s)

export function createTaskView({ announce, onSummary, onPurged }) {
  const section = $('#detail')
  const title = $('#detail-title')
  const files = createFileList()
  const ui = {
    id: $('#detail-id'), badge: $('#detail-state'), bar: $('#overall-bar'), amount: $('#overall-amount'),
    speed: $('#overall-speed'), eta: $('#overall-eta'), counts: $('#overall-counts'),
    cancel: $('#cancel'), retry: $('#retry'), zip: $('#zip'), purge: $('#purge'), error: $('#action-error'),
    filters: [...document.querySelectorAll('#file-filter button')],
  }
  let view = null
  let frame = 0
  let ticker = 0

  files.onMore = () => draw()

  const schedule = () => {
    if (!frame) frame = requestAnimationFrame(() => { frame = 0; draw() })
  }

  function load(status) {
    const byName = new Map()
    view.files = status.files.map((f, index) => {
      byName.set(f.saved_as, index)
      return { ...f, index }
    })
    view.byName = byName
    summary(status)
  }

  function summary(s) {
    view.state = s.state
    view.task = { task_id: s.task_id, state: s.state, created_at: s.created_at ?? view.task?.created_at, totals: { ...view.task?.totals, ...s.totals } }
    onSummary(view.task)
  }

  /**
   * Says a state change once it is drawn: a stream's history (replayed at once,
   * before the live events) moves the state back and forth within one frame.
   */
  function announceState() {
    if (view.announced === view.state) return
    const first = view.announced === null
    view.announced = view.state
    if (first) return
    const t = view.task.totals
    announce(RUNNING.has(view.state)
      ? `Task ${view.id} is ${view.state}.`
      : `Task ${view.id} ended ${view.state}: ${t.done} of ${t.files} files done, ${t.failed} failed.`)
  }

  /** A speed from the service when it sends one, else measured here over the last seconds. */
  function sample(totals) {
    const now = performance.now()
    view.samples.push([now, totals.bytes_done])
    while (view.samples.length > 2 && now - view.samples[0][0] > 5000) view.samples.shift()
  }

  function measuredSpeed() {
    const s = view.samples
    if (s.length < 2) return 0
    const [t0, b0] = s[0]
    const [t1, b1] = s.at(-1)
    return t1 > t0 ? Math.max(0, ((b1 - b0) * 1000) / (t1 - t0)) : 0
  }

  function patch(f) {
    const i = f.index ?? view.byName.get(f.saved_as)
    if (i === undefined || !view.files[i]) return
    const old = view.files[i]
    const now = performance.now()
    let speed = old.speed
    if (f.state === 'downloading' && old.state === 'downloading' && f.bytes != null && old.at) {
      speed = ((f.bytes - old.bytes) * 1000) / Math.max(1, now - old.at)
    }
    view.files[i] = { ...old, ...f, index: i, speed, at: now }
  }

  function onEvent(type, data, id) {
    if (!view) return
    view.lastEventId = id
    if (type === 'file') patch(data)
    else if (type === 'progress') {
      summary({ task_id: view.id, state: view.state, totals: data })
      sample(data)
    } else if (type === 'state') summary({ task_id: view.id, state: data.state, totals: {} })
    else if (type === 'end') summary({ task_id: view.id, state: data.state, totals: data.totals })
    schedule()
  }

  /** After the end, files the events did not settle (queued ones of a cancel) are read once. */
  async function settle() {
    const current = view
    current.settled = true
    if (!current.files.some((f) => f.state === 'queued' || f.state === 'downloading' || f.state === 'retrying')) return
    const status = await api('GET', `/tasks/${encodeURIComponent(current.id)}`).catch(() => null)
    if (status && view === current && !RUNNING.has(status.state)) {
      load(status)
      schedule()
    }
  }

  async function pollActive() {
    const current = view
    if (!current || !RUNNING.has(current.state)) return
    try {
      const status = await api('GET', `/tasks/${encodeURIComponent(current.id)}?files=active`)
      if (view !== current) return
      summary(status)
      // A service older than ?files= answers every file: then the events alone keep the view, not a heavy poll a second.
      if (status.files.some((f) => f.state === 'done')) current.noActivePoll = true
      for (const f of status.files) patch(f)
      // A file the answer no longer lists as active finished: its file event says how.
      schedule()
    } catch {
      // Tried again at the next tick.
    }
    current.poll = null
  }

  /**
   * One request a second at most while the task runs. ?files=active lists the
   * queued files too, so with many left it is asked less often (every 10 s at
   * 5,000 left and more): the events keep the totals and every file's end live.
   */
  function keepPolling() {
    if (view.poll || view.noActivePoll || !RUNNING.has(view.state)) return
    const left = view.files.length - view.finished
    const every = Math.min(10, Math.max(1, Math.ceil(left / ACTIVE_POLL_FILES_PER_S))) * ACTIVE_POLL_MS
    view.poll = setTimeout(pollActive, document.hidden ? Math.max(every, ACTIVE_POLL_MS * 5) : every)
  }

  function follow() {
    view.events?.close()
    view.events = followEvents(view.id, onEvent, { lastEventId: view.lastEventId })
  }

  function draw() {
    if (!view?.files) return
    const t = view.task.totals
    const ended = !RUNNING.has(view.state)
    ui.id.textContent = view.id
    ui.badge.textContent = view.state
    ui.badge.className = `badge ${view.state}`
    const known = t.bytes_total ?? view.files.reduce((sum, f) => sum + (f.size ?? (f.state === 'done' ? f.bytes : 0)), 0)
    const unknown = view.files.filter((f) => f.size == null && f.state !== 'done' && f.state !== 'failed' && f.state !== 'cancelled').length
    // Bytes when every size is known; until then the share of files finished, never a bar that lies.
    ui.bar.max = 1
    if (ended) ui.bar.value = 1
    else if (!unknown && known > 0) ui.bar.value = Math.min(t.bytes_done / known, 0.99)
    else ui.bar.value = Math.min((t.done + t.failed) / Math.max(1, t.files), 0.99)
    ui.amount.textContent = !ended && unknown
      ? `${bytes(t.bytes_done)} · ${unknown} ${unknown === 1 ? 'size' : 'sizes'} unknown`
      : `${bytes(t.bytes_done)}${known && !ended ? ` of ${bytes(known)}` : ''}`
    const speed = ended ? 0 : (t.speed ?? measuredSpeed())
    ui.speed.textContent = ended ? '–' : rate(speed) || '0 B/s'
    const eta = t.eta_s ?? (speed > 0 && !unknown && known > t.bytes_done ? (known - t.bytes_done) / speed : null)
    ui.eta.textContent = ended || eta == null ? '–' : duration(eta)
    const count = { active: 0, failed: 0, done: 0, queued: 0, retryable: 0 }
    for (const f of view.files) {
      if (f.state === 'downloading' || f.state === 'retrying') count.active++
      else if (f.state === 'failed' || f.state === 'cancelled') {
        count.failed++
        if (retryMayHelp(f)) count.retryable++
      } else if (f.state === 'done') count.done++
      else count.queued++
    }
    view.finished = count.done + count.failed
    ui.counts.textContent = `${count.done} done · ${count.active} active · ${count.queued} waiting · ${count.failed} failed of ${view.files.length}`
    for (const b of ui.filters) {
      const n = b.dataset.filter === 'all' ? view.files.length : count[b.dataset.filter]
      $('.n', b).textContent = String(n)
      b.setAttribute('aria-pressed', String(b.dataset.filter === view.filter))
    }
    files.render(view.files, view.filter)
    actions(ended, count)
    announceState()
    if (ended && !view.settled) settle()
    if (!ended) {
      view.settled = false
      keepPolling()
    }
  }

  function actions(ended, count) {
    const hadFocus = section.querySelector('.actions').contains(document.activeElement) ? document.activeElement : null
    ui.cancel.hidden = ended
    ui.cancel.disabled = view.cancelling
    ui.cancel.textContent = view.cancelling ? 'Cancelling…' : 'Cancel'
    ui.retry.hidden = !ended || count.retryable === 0
    ui.retry.textContent = `Retry ${count.retryable} failed`
    ui.purge.hidden = !ended
    const done = view.task.totals.done ?? 0
    ui.zip.hidden = done === 0
    ui.zip.textContent = ended ? (count.failed ? 'Download zip + report' : 'Download zip') : 'Zip of finished files'
    const q = new URLSearchParams()
    if (!ended) q.set('partial', '1')
    if (count.failed || !ended) q.set('report', '1')
    const signed = session.archiveUrl(view.id)
    ui.zip.href = signed ? `${signed}&${q}` : `/tasks/${encodeURIComponent(view.id)}/archive?${q}`
    ui.zip.download = `${view.id}.zip`
    // An action that went away with the state keeps the keyboard here, on the next one.
    if (hadFocus && (hadFocus.hidden || hadFocus.disabled)) {
      const next = [ui.retry, ui.cancel, ui.zip, ui.purge].find((b) => !b.hidden && !b.disabled)
      ;(next ?? title).focus()
    }
  }

  async function act(button, work) {
    ui.error.hidden = true
    button.disabled = true
    try {
      await work()
    } catch (err) {
      ui.error.textContent = err.message
      ui.error.hidden = false
    } finally {
      button.disabled = false
      schedule()
    }
  }

  ui.cancel.addEventListener('click', () => act(ui.cancel, async () => {
    view.cancelling = true
    draw()
    try {
      summary(await api('DELETE', `/tasks/${encodeURIComponent(view.id)}`))
    } finally {
      view.cancelling = false
    }
  }))

  ui.retry.addEventListener('click', () => act(ui.retry, async () => {
    const status = await api('POST', `/tasks/${encodeURIComponent(view.id)}/retry`)
    load(status)
    announce(`Task ${view.id}: retrying the failed files.`)
    follow()
    draw()
    ui.cancel.focus()
  }))

  ui.purge.addEventListener('click', () => act(ui.purge, async () => {
    if (!confirm(`Remove task ${view.id} and its downloaded files from the service?`)) return
    const id = view.id
    await api('DELETE', `/tasks/${encodeURIComponent(id)}?purge=1`)
    announce(`Task ${id} was purged.`)
    close()
    onPurged(id)
  }))

  ui.zip.addEventListener('click', (e) => {
    // A link of this tab's own submit is signed; any other needs the key, which a link cannot send.
    if (!session.key || session.archiveUrl(view.id)) return
    e.preventDefault()
    act(ui.zip, () => download(ui.zip.href, `${view.id}.zip`))
  })

  for (const b of ui.filters) {
    b.addEventListener('click', () => {
      view.filter = b.dataset.filter
      files.reset()
      draw()
    })
  }

  function close() {
    if (!view) return
    view.events?.close()
    clearTimeout(view.poll)
    view.poll = null
    view = null
    section.hidden = true
    $('#no-selection').hidden = false
  }

  return {
    get id() { return view?.id ?? null },
    close,
    async open(id, { focus = false } = {}) {
      if (view?.id === id) return
      close()
      view = { id, files: null, filter: 'all', samples: [], cancelling: false, state: null, task: null, announced: null, poll: null, settled: false, lastEventId: null, finished: 0 }
      const current = view
      ui.error.hidden = true
      files.reset()
      try {
        const status = await api('GET', `/tasks/${encodeURIComponent(id)}`)
        if (view !== current) return
        load(status)
      } catch (err) {
        if (view !== current) return
        close()
        announce(`Task ${id}: ${err.message}`)
        return
      }
      section.hidden = false
      $('#no-selection').hidden = true
      draw()
      if (focus) title.focus()
      if (RUNNING.has(view.state)) follow()
      clearInterval(ticker)
      // Countdowns and ETA move with time, without any request.
      ticker = setInterval(() => view && RUNNING.has(view.state) && schedule(), 1000)
    },
  }
}
