// The list of every task of the service (GET /tasks, newest first), whoever
// submitted it: REST, PHP, the CLI or this page. The first page is asked again
// every few seconds; "Load more" follows next_cursor.

import { api } from './api.js'
import { ago, bytes } from './format.js'

const POLL_MS = 3000
const PAGE = 30

const $ = (s, root = document) => root.querySelector(s)

export function createTaskList({ onSelect }) {
  const list = $('#task-list')
  const more = $('#more-tasks')
  const filter = $('#state-filter')
  const empty = $('#no-tasks')
  const tasks = new Map()
  const rows = new Map()
  let cursor = null
  let selected = null
  let timer = null
  let loadedOnce = false

  const order = () => [...tasks.values()].sort((a, b) => b.created_at.localeCompare(a.created_at) || b.task_id.localeCompare(a.task_id))
  const keep = (t) => !filter.value || filter.value.split(',').includes(t.state)

  function row(id) {
    let li = rows.get(id)
    if (li) return li
    li = document.createElement('li')
    li.innerHTML = '<button type="button" class="task-row"><span class="task-id"></span><span class="badge"></span>' +
      '<progress max="1" aria-hidden="true"></progress><span class="task-meta"></span></button>'
    $('button', li).addEventListener('click', () => onSelect(id))
    rows.set(id, li)
    return li
  }

  function paint(li, t) {
    const button = $('button', li)
    const fraction = t.totals.bytes_total ? t.totals.bytes_done / t.totals.bytes_total : t.totals.files ? (t.totals.done + t.totals.failed) / t.totals.files : 0
    const ended = !['queued', 'running'].includes(t.state)
    $('.task-id', li).textContent = t.task_id
    $('.task-id', li).title = t.task_id
    const badge = $('.badge', li)
    badge.textContent = t.state
    badge.className = `badge ${t.state}`
    const bar = $('progress', li)
    // Never full before the end: sizes still unknown would make it lie.
    bar.value = ended ? 1 : Math.min(fraction, 0.99)
    const failed = t.totals.failed ? `, ${t.totals.failed} failed` : ''
    $('.task-meta', li).textContent = `${t.totals.done}/${t.totals.files} files${failed} · ${bytes(t.totals.bytes_done)} · ${ago(t.created_at)}`
    if (t.task_id === selected) button.setAttribute('aria-current', 'true')
    else button.removeAttribute('aria-current')
  }

  function render() {
    const shown = order().filter(keep)
    shown.forEach((t, i) => {
      const li = row(t.task_id)
      paint(li, t)
      if (list.children[i] !== li) list.insertBefore(li, list.children[i] ?? null)
    })
    while (list.children.length > shown.length) list.lastElementChild.remove()
    empty.hidden = shown.length > 0 || !loadedOnce
    more.hidden = !cursor
  }

  const query = (after) => {
    const q = new URLSearchParams({ limit: String(PAGE) })
    if (filter.value) q.set('state', filter.value)
    if (after) q.set('cursor', after)
    return `/tasks?${q}`
  }

  async function poll() {
    clearTimeout(timer)
    try {
      const page = await api('GET', query(null))
      for (const t of page.tasks) tasks.set(t.task_id, { ...tasks.get(t.task_id), ...t })
      // The first load sets where "Load more" goes on; later polls only refresh the top.
      if (!loadedOnce) cursor = page.next_cursor
      loadedOnce = true
      render()
    } catch {
      // Shown again at the next poll.
    }
    timer = setTimeout(poll, document.hidden ? POLL_MS * 4 : POLL_MS)
  }

  more.addEventListener('click', async () => {
    more.disabled = true
    try {
      const page = await api('GET', query(cursor))
      for (const t of page.tasks) tasks.set(t.task_id, t)
      cursor = page.next_cursor
      render()
      // Keyboard users land on the first task that was added, not back at the top.
      const first = page.tasks[0] && rows.get(page.tasks[0].task_id)
      if (first) $('button', first).focus()
    } finally {
      more.disabled = false
    }
  })

  filter.addEventListener('change', () => {
    tasks.clear()
    cursor = null
    loadedOnce = false
    poll()
  })

  return {
    start: poll,
    refresh: poll,
    tasks: () => order(),
    select(id) {
      selected = id
      render()
    },
    /** A task's summary as its detail view learns it from events, between polls. */
    update(summary) {
      const t = tasks.get(summary.task_id)
      if (!t) return
      tasks.set(summary.task_id, { ...t, ...summary, totals: { ...t.totals, ...summary.totals } })
      const li = rows.get(summary.task_id)
      if (li) paint(li, tasks.get(summary.task_id))
    },
    remove(id) {
      tasks.delete(id)
      rows.get(id)?.remove()
      rows.delete(id)
      render()
    },
  }
}
