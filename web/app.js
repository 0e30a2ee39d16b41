// The batchdl page: submit a list, follow this session's tasks live
// (EventSource with the signed events_url), retry what failed, take the zip.
// Plain modern JavaScript, no framework, nothing loaded from elsewhere.

const $ = (selector, root = document) => root.querySelector(selector)
const session = {
  get key() { return sessionStorage.getItem('batchdl.key') },
  set key(value) { sessionStorage.setItem('batchdl.key', value) },
  get tasks() { return JSON.parse(sessionStorage.getItem('batchdl.tasks') ?? '[]') },
  set tasks(list) { sessionStorage.setItem('batchdl.tasks', JSON.stringify(list)) },
}

const HTTP_WORDS = { 400: 'bad request', 401: 'not authorised', 403: 'forbidden', 404: 'not found', 408: 'timed out', 410: 'gone', 429: 'too many requests', 500: 'server error', 502: 'bad gateway', 503: 'unavailable', 504: 'gateway timeout' }
const REASONS = {
  http_error: (f) => `The server answered ${f.http_status}${HTTP_WORDS[f.http_status] ? ` (${HTTP_WORDS[f.http_status]})` : ''}`,
  timeout: () => 'The server stopped sending data',
  connect_timeout: () => 'The server could not be reached in time',
  connection_error: () => 'The connection to the server was lost',
  dns_error: () => 'The server name does not exist',
  too_slow: () => 'The server sent data too slowly',
  size_mismatch: () => 'The file arrived incomplete',
  range_mismatch: () => 'The server could not resume the file',
  checksum_mismatch: () => 'The file does not match its expected checksum',
  file_too_large: () => 'The file is larger than this service allows',
  too_many_redirects: () => 'The server redirected too many times',
  redirect_loop: () => 'The server redirected in a loop',
  bad_redirect: () => 'The server redirected to something that is not a web address',
  headers_too_large: () => 'The server sent an oversized answer header',
  blocked_address: () => 'That address is on an internal network and may not be fetched',
  host_not_allowed: () => 'That server is not on the list of allowed servers',
  disk_full: () => 'The download disk is full',
  disk_error: () => 'The file could not be written to disk',
  cancelled: () => 'Cancelled',
  worker_error: () => 'The download service failed on this file; retry it',
}
const reason = (f) => (REASONS[f.error] ?? (() => f.error ?? ''))(f)
const size = (n) => (n >= 1e9 ? `${(n / 1e9).toFixed(2)} GB` : n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : n >= 1e3 ? `${(n / 1e3).toFixed(0)} kB` : `${n} B`)

function askKey() {
  const dialog = $('#key-dialog')
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => {
      session.key = $('#key').value.trim()
      resolve()
    }, { once: true })
    dialog.showModal()
  })
}

async function api(method, path, body) {
  // A JSON content type on an empty body is refused: only when there is one.
  const headers = body === undefined ? {} : { 'content-type': 'application/json' }
  if (session.key) headers.authorization = `Bearer ${session.key}`
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
  if (res.status === 401) {
    await askKey()
    return api(method, path, body)
  }
  const data = res.status === 204 ? null : await res.json()
  if (!res.ok) {
    const detail = data?.details?.[0]
    throw new Error(detail ? `${describePath(detail.path)}: ${detail.message}` : (data?.message ?? `HTTP ${res.status}`))
  }
  return data
}

const describePath = (path) => path.replace(/^\/task_info\/(\d+)\/(\w+)$/, (_, i, field) => `line ${Number(i) + 1} (${field})`)

/** One URL per line, "name URL" per line, CSV (fn,url) or JSON. */
function parseList(text, kind) {
  if (kind === 'json') {
    const data = JSON.parse(text)
    return Array.isArray(data) ? data : data.task_info
  }
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith('#'))
  if (kind === 'csv') {
    const rows = lines.map((l) => l.split(',').map((c) => c.trim().replace(/^"(.*)"$/, '$1')))
    return (rows[0]?.[0]?.toLowerCase() === 'fn' ? rows.slice(1) : rows).map(([fn, url]) => ({ fn: fn || nameOf(url), url }))
  }
  return lines.map((line) => {
    const cut = line.lastIndexOf(' ')
    return cut === -1 ? { fn: nameOf(line), url: line } : { fn: line.slice(0, cut).trim(), url: line.slice(cut + 1) }
  })
}

function nameOf(url) {
  try {
    return decodeURIComponent(new URL(url).pathname.split('/').pop()) || 'file'
  } catch {
    return 'file'
  }
}

// ---- tasks ----

const views = new Map()

function trackTask(task) {
  const tasks = session.tasks.filter((t) => t.task_id !== task.task_id)
  session.tasks = [{ task_id: task.task_id, events_url: task.events_url, archive_url: task.archive_url }, ...tasks]
  follow(session.tasks[0])
}

function follow(task) {
  let view = views.get(task.task_id)
  if (!view) {
    view = { task, lastEventId: null, source: null, pending: null, previous: new Map(), at: 0 }
    view.el = document.createElement('article')
    view.el.className = 'task'
    view.el.setAttribute('aria-live', 'polite')
    $('#tasks').prepend(view.el)
    views.set(task.task_id, view)
    $('#no-tasks').hidden = true
  }
  view.source?.close()
  const resume = view.lastEventId ? `&last_event_id=${encodeURIComponent(view.lastEventId)}` : ''
  const source = new EventSource(task.events_url + resume)
  view.source = source
  const onEvent = (e) => {
    view.lastEventId = e.lastEventId
    scheduleRefresh(view)
  }
  for (const type of ['state', 'file', 'progress']) source.addEventListener(type, onEvent)
  source.addEventListener('end', (e) => {
    onEvent(e)
    source.close()
  })
  refresh(view)
}

function scheduleRefresh(view) {
  if (view.pending) return
  view.pending = setTimeout(() => {
    view.pending = null
    refresh(view)
  }, 300)
}

async function refresh(view) {
  let status
  try {
    status = await api('GET', `/tasks/${encodeURIComponent(view.task.task_id)}`)
  } catch (err) {
    view.el.textContent = `${view.task.task_id}: ${err.message}`
    return
  }
  render(view, status)
}

function render(view, s) {
  const now = performance.now()
  const seconds = view.at ? (now - view.at) / 1000 : 0
  const ended = !['queued', 'running'].includes(s.state)
  const el = view.el
  el.innerHTML = ''
  const header = document.createElement('header')
  header.innerHTML = '<h3></h3><span class="state"></span><span class="totals"></span><span class="actions"></span>'
  $('h3', header).textContent = s.task_id
  $('.state', header).textContent = s.state
  $('.state', header).classList.add(s.state)
  $('.totals', header).textContent = `${s.totals.done} done, ${s.totals.failed} failed of ${s.totals.files} · ${size(s.totals.bytes_done)}`
  const actions = $('.actions', header)
  if (ended && s.files.some((f) => f.state === 'failed' || f.state === 'cancelled')) {
    const retry = document.createElement('button')
    retry.textContent = 'Retry failed files'
    retry.addEventListener('click', async () => {
      retry.disabled = true
      try {
        await api('POST', `/tasks/${encodeURIComponent(s.task_id)}/retry`)
        follow(view.task)
      } catch (err) {
        retry.disabled = false
        alert(err.message)
      }
    })
    actions.append(retry)
  }
  if (ended && s.totals.done > 0) {
    const zip = document.createElement('a')
    zip.href = view.task.archive_url
    zip.textContent = 'Download zip'
    zip.className = 'secondary'
    zip.setAttribute('download', `${s.task_id}.zip`)
    actions.append(zip)
  }
  el.append(header)

  const table = document.createElement('table')
  table.innerHTML = '<thead><tr><th scope="col">File</th><th scope="col">From</th><th scope="col">Progress</th><th scope="col">Speed</th><th scope="col">Status</th></tr></thead><tbody></tbody>'
  const body = $('tbody', table)
  for (const f of s.files) {
    const row = document.createElement('tr')
    row.className = `file-${f.state}`
    const before = view.previous.get(f.saved_as) ?? f.bytes
    const speed = f.state === 'downloading' && seconds > 0 ? `${size(Math.max(0, f.bytes - before) / seconds)}/s` : ''
    row.innerHTML = '<td class="name"></td><td class="url"></td><td class="bar"><progress max="1"></progress> <span></span></td><td class="speed"></td><td class="status"></td>'
    $('.name', row).textContent = f.saved_as
    $('.url', row).textContent = f.url // the server never shows a query string
    const bar = $('progress', row)
    bar.max = f.size ?? Math.max(f.bytes, 1)
    bar.value = f.state === 'done' ? bar.max : f.bytes
    bar.setAttribute('aria-label', `${f.saved_as} progress`)
    $('.bar span', row).textContent = f.size ? `${size(f.bytes)} of ${size(f.size)}` : size(f.bytes)
    $('.speed', row).textContent = speed
    $('.status', row).textContent = f.state === 'failed' || f.state === 'cancelled' ? reason(f) : f.state
    body.append(row)
    view.previous.set(f.saved_as, f.bytes)
  }
  view.at = now
  el.append(table)
}

// ---- the form ----

$('#submit-form').addEventListener('submit', async (e) => {
  e.preventDefault()
  const error = $('#form-error')
  error.hidden = true
  const files = parseList($('#list').value, 'lines')
  if (files.length === 0) {
    error.textContent = 'Paste at least one URL.'
    error.hidden = false
    return
  }
  try {
    trackTask(await api('POST', '/tasks', { task_info: files }))
    $('#list').value = ''
  } catch (err) {
    error.textContent = err.message
    error.hidden = false
  }
})

async function loadListFile(file) {
  const kind = file.name.endsWith('.json') ? 'json' : file.name.endsWith('.csv') ? 'csv' : 'lines'
  const files = parseList(await file.text(), kind)
  $('#list').value = files.map((f) => `${f.fn} ${f.url}`).join('\n')
}

const drop = $('#drop')
drop.addEventListener('click', () => $('#file').click())
drop.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' || e.key === ' ') {
    e.preventDefault()
    $('#file').click()
  }
})
drop.addEventListener('dragover', (e) => {
  e.preventDefault()
  drop.classList.add('over')
})
drop.addEventListener('dragleave', () => drop.classList.remove('over'))
drop.addEventListener('drop', (e) => {
  e.preventDefault()
  drop.classList.remove('over')
  if (e.dataTransfer.files[0]) loadListFile(e.dataTransfer.files[0])
})
$('#file').addEventListener('change', (e) => e.target.files[0] && loadListFile(e.target.files[0]))

for (const task of session.tasks.reverse()) follow(task)
