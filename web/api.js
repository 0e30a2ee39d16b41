// Talking to the service: JSON calls with the API key of this tab, and a task's
// Server-Sent Events read with fetch(), which (unlike EventSource) can send the
// key, so the page follows any task of the service, not only those it submitted.

const KEY = 'batchdl.key'
const LINKS = 'batchdl.links'

export const session = {
  get key() { return sessionStorage.getItem(KEY) },
  set key(value) { sessionStorage.setItem(KEY, value) },
  /** The signed archive_url of the tasks this tab submitted: a plain link, no key needed. */
  archiveUrl(taskId) { return JSON.parse(sessionStorage.getItem(LINKS) ?? '{}')[taskId] ?? null },
  rememberArchiveUrl(taskId, url) {
    const links = JSON.parse(sessionStorage.getItem(LINKS) ?? '{}')
    links[taskId] = url
    sessionStorage.setItem(LINKS, JSON.stringify(links))
  },
}

let asking = null

/** One dialog for every call that met a 401 at the same time. */
function askKey() {
  asking ??= new Promise((resolve) => {
    const dialog = document.querySelector('#key-dialog')
    dialog.addEventListener('close', () => {
      session.key = document.querySelector('#key').value.trim()
      asking = null
      resolve()
    }, { once: true })
    dialog.showModal()
  })
  return asking
}

export class ApiError extends Error {
  constructor(message, status) {
    super(message)
    this.status = status
  }
}

const describePath = (path) => path.replace(/^\/task_info\/(\d+)\/(\w+)$/, (_, i, field) => `line ${Number(i) + 1} (${field})`)

/** Every problem the service listed, not only the first. */
function problems(data, status) {
  if (data?.details?.length) return data.details.map((d) => (d.path ? `${describePath(d.path)}: ${d.message}` : d.message)).join('; ')
  return data?.message ?? `The service answered ${status}`
}

const authHeaders = () => (session.key ? { authorization: `Bearer ${session.key}` } : {})

export async function api(method, path, body) {
  // A JSON content type on an empty body is refused: only when there is one.
  const headers = { ...authHeaders(), ...(body === undefined ? {} : { 'content-type': 'application/json' }) }
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
  if (res.status === 401) {
    await askKey()
    return api(method, path, body)
  }
  const data = res.status === 204 ? null : await res.json().catch(() => null)
  if (!res.ok) throw new ApiError(problems(data, res.status), res.status)
  return data
}

/** Saves a response as a file: for a zip whose link would need the key in a header. */
export async function download(path, name) {
  const res = await fetch(path, { headers: authHeaders() })
  if (!res.ok) throw new ApiError(problems(await res.json().catch(() => null), res.status), res.status)
  const url = URL.createObjectURL(await res.blob())
  const a = Object.assign(document.createElement('a'), { href: url, download: name })
  a.click()
  setTimeout(() => URL.revokeObjectURL(url), 60_000)
}

/** Parses one "event: x / id: y / data: z" block of a stream. */
function parseBlock(block) {
  const event = { type: 'message', id: null, data: '' }
  for (const line of block.split(/\r?\n/)) {
    if (!line || line.startsWith(':')) continue
    const cut = line.indexOf(':')
    const field = cut === -1 ? line : line.slice(0, cut)
    const value = cut === -1 ? '' : line.slice(cut + 1).replace(/^ /, '')
    if (field === 'event') event.type = value
    else if (field === 'id') event.id = value
    else if (field === 'data') event.data += (event.data ? '\n' : '') + value
  }
  return event
}

/**
 * Follows a task's events until `end` (or close()). A dropped stream is opened
 * again after the last event seen: the service resumes right after it.
 */
export function followEvents(taskId, onEvent, { lastEventId = null } = {}) {
  const abort = new AbortController()
  let last = lastEventId
  let ended = false
  const run = async () => {
    for (let delay = 1000; !abort.signal.aborted; delay = Math.min(delay * 2, 15_000)) {
      try {
        const headers = { accept: 'text/event-stream', ...authHeaders(), ...(last ? { 'last-event-id': last } : {}) }
        const res = await fetch(`/tasks/${encodeURIComponent(taskId)}/events`, { headers, signal: abort.signal })
        if (res.status === 204) return
        if (res.status === 401) {
          await askKey()
          continue
        }
        if (!res.ok) throw new ApiError(`events: ${res.status}`, res.status)
        delay = 1000
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
        let buffer = ''
        for (;;) {
          const { value, done } = await reader.read()
          if (done) break
          buffer += value
          const blocks = buffer.split(/\r?\n\r?\n/)
          buffer = blocks.pop()
          for (const block of blocks) {
            const event = parseBlock(block)
            if (!event.data) continue
            if (event.id) last = event.id
            ended = event.type === 'end'
            onEvent(event.type, JSON.parse(event.data), event.id)
          }
        }
        // The service closes the stream right after the last end; an end from an
        // earlier run (before a retry) is followed by more events, not a close.
        if (ended) return
      } catch (err) {
        if (abort.signal.aborted) return
        if (err instanceof ApiError && err.status === 404) return
      }
      await new Promise((resolve) => setTimeout(resolve, delay))
    }
  }
  run()
  return { close: () => abort.abort() }
}
