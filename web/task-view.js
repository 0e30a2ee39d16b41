// One task in detail: its bars and figures, its files, and what can be done
// with it. The data and how it stays current are task-model.js's.

import { download, session } from './api.js'
import { bytes, duration, rate } from './format.js'
import { createFileList } from './file-list.js'
import { loadTask, RUNNING } from './task-model.js'

const $ = (s, root = document) => root.querySelector(s)
const DRAW_EVERY_MS = 200

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
  let task = null
  let opening = null
  let filter = 'all'
  let announced = null
  let cancelling = false
  let frame = 0
  // Countdowns and the time left move with the clock, without any request.
  setInterval(() => task && RUNNING.has(task.state) && schedule(), 1000)

  // Drawn at most 5 times a second, in a frame: events of a big task come by the thousand (decision 0009).
  let drawnAt = 0
  const schedule = () => {
    if (frame) return
    frame = setTimeout(() => requestAnimationFrame(() => {
      frame = 0
      drawnAt = performance.now()
      draw()
    }), Math.max(0, drawnAt + DRAW_EVERY_MS - performance.now()))
  }
  files.onMore = schedule

  /**
   * Says a state change once it is drawn: a stream's history (replayed at once,
   * before the live events) moves the state back and forth within one frame.
   */
  function announceState() {
    if (announced === task.state) return
    const first = announced === null
    announced = task.state
    if (first) return
    const t = task.task.totals
    announce(RUNNING.has(task.state)
      ? `Task ${task.id} is ${task.state}.`
      : `Task ${task.id} ended ${task.state}: ${t.done} of ${t.files} files done, ${t.failed} failed.`)
  }

  function draw() {
    if (!task) return
    const t = task.task.totals
    const ended = !RUNNING.has(task.state)
    const count = task.counts()
    ui.id.textContent = task.id
    ui.badge.textContent = task.state
    ui.badge.className = `badge ${task.state}`
    const known = t.bytes_total ?? count.knownBytes
    const unknown = ended ? 0 : count.unknownSize
    // Bytes when every size is known; until then the share of files finished, never a bar that lies.
    ui.bar.max = 1
    if (ended) ui.bar.value = 1
    else if (!unknown && known > 0) ui.bar.value = Math.min(t.bytes_done / known, 0.99)
    else ui.bar.value = Math.min((t.done + t.failed) / Math.max(1, t.files), 0.99)
    ui.amount.textContent = unknown
      ? `${bytes(t.bytes_done)} · ${unknown} ${unknown === 1 ? 'size' : 'sizes'} unknown`
      : `${bytes(t.bytes_done)}${known && !ended ? ` of ${bytes(known)}` : ''}`
    const speed = ended ? 0 : task.speed()
    ui.speed.textContent = ended ? '–' : rate(speed) || '0 B/s'
    const eta = t.eta_s ?? (speed > 0 && !unknown && known > t.bytes_done ? (known - t.bytes_done) / speed : null)
    // Sizes still unknown make any time left a lower bound.
    ui.eta.textContent = ended || eta == null ? '–' : `${unknown ? 'over ' : ''}${duration(eta)}`
    ui.counts.textContent = `${count.done} done · ${count.active} active · ${count.queued} waiting · ${count.failed} failed of ${task.files.length}`
    for (const b of ui.filters) {
      $('.n', b).textContent = String(b.dataset.filter === 'all' ? task.files.length : count[b.dataset.filter])
      b.setAttribute('aria-pressed', String(b.dataset.filter === filter))
    }
    files.render(task.files, filter)
    actions(ended, count)
    announceState()
    task.tick()
  }

  function actions(ended, count) {
    const hadFocus = section.querySelector('.actions').contains(document.activeElement) ? document.activeElement : null
    ui.cancel.hidden = ended
    ui.cancel.disabled = cancelling
    ui.cancel.textContent = cancelling ? 'Cancelling…' : 'Cancel'
    ui.retry.hidden = !ended || count.retryable === 0
    ui.retry.textContent = `Retry ${count.retryable} failed`
    ui.purge.hidden = !ended
    ui.zip.hidden = (task.task.totals.done ?? count.done) === 0
    ui.zip.textContent = ended ? (count.failed ? 'Download zip + report' : 'Download zip') : 'Zip of finished files'
    const q = new URLSearchParams()
    if (!ended) q.set('partial', '1')
    if (count.failed || !ended) q.set('report', '1')
    const signed = session.archiveUrl(task.id)
    ui.zip.href = signed ? `${signed}&${q}` : `/tasks/${encodeURIComponent(task.id)}/archive?${q}`
    ui.zip.download = `${task.id}.zip`
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
    cancelling = true
    draw()
    try {
      await task.cancel()
    } finally {
      cancelling = false
    }
  }))

  ui.retry.addEventListener('click', () => act(ui.retry, async () => {
    await task.retry()
    draw()
    ui.cancel.focus()
  }))

  ui.purge.addEventListener('click', () => act(ui.purge, async () => {
    const id = task.id
    if (!confirm(`Remove task ${id} and its downloaded files from the service?`)) return
    await task.purge()
    announce(`Task ${id} was purged.`)
    close()
    onPurged(id)
  }))

  ui.zip.addEventListener('click', (e) => {
    // A link of this tab's own submit is signed; any other needs the key, which a link cannot send.
    if (!session.key || session.archiveUrl(task.id)) return
    e.preventDefault()
    act(ui.zip, () => download(ui.zip.href, `${task.id}.zip`))
  })

  for (const b of ui.filters) {
    b.addEventListener('click', () => {
      filter = b.dataset.filter
      files.reset()
      draw()
    })
  }

  function close() {
    task?.close()
    task = null
    opening = null
    section.hidden = true
    $('#no-selection').hidden = false
  }

  return {
    close,
    async open(id, { focus = false } = {}) {
      if ((task ?? opening)?.id === id) return
      close()
      const current = (opening = { id })
      ui.error.hidden = true
      filter = 'all'
      announced = null
      files.reset()
      let loaded
      try {
        loaded = await loadTask(id, { onChange: schedule, onSummary })
      } catch (err) {
        if (opening === current) announce(`Task ${id}: ${err.message}`)
        return
      }
      if (opening !== current) return loaded.close()
      task = loaded
      opening = null
      section.hidden = false
      $('#no-selection').hidden = true
      draw()
      if (focus) title.focus()
    },
  }
}
