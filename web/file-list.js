// The files of the task on view: only up to `cap` rows are in the document
// ("Show more" raises it), so a task of 10,000 files keeps a small DOM. Rows are
// reused in place and written only when what they show changed.

import { bytes, duration, rate, reason } from './format.js'

const STEP = 100
const ACTIVE = new Set(['downloading', 'retrying'])
const BAD = new Set(['failed', 'cancelled'])
// The default view: what moves and what went wrong first, then what waits, then what is done.
const RANK = { downloading: 0, retrying: 0, failed: 1, cancelled: 1, queued: 2, done: 3 }

export const FILTERS = {
  all: () => true,
  active: (f) => ACTIVE.has(f.state),
  failed: (f) => BAD.has(f.state),
  done: (f) => f.state === 'done',
}

const $ = (s, root = document) => root.querySelector(s)

/** What the file's line says about its state. */
function stateText(f, now) {
  if (f.state === 'retrying') {
    const wait = f.retry_at ? (Date.parse(f.retry_at) - now) / 1000 : null
    const next = (f.attempts ?? 0) + 1
    if (wait == null || wait <= 0.5) return `Retrying · attempt ${next} starting`
    return `Retrying · attempt ${next} in ${duration(wait)}`
  }
  if (BAD.has(f.state)) return reason(f)
  if (f.state === 'downloading') return f.attempts > 1 ? `Downloading · attempt ${f.attempts}` : 'Downloading'
  return f.state === 'done' ? 'Done' : 'Waiting'
}

function amount(f) {
  if (f.state === 'done') return bytes(f.bytes)
  if (f.size != null) return `${bytes(f.bytes)} of ${bytes(f.size)}`
  return f.bytes ? bytes(f.bytes) : ''
}

export function createFileList() {
  const list = $('#files')
  const more = $('#more-files')
  const empty = $('#no-files')
  const slots = []
  let cap = STEP
  let onMore = () => {}

  more.addEventListener('click', () => {
    cap += STEP * 2
    onMore()
    // Focus goes to the first row that was added, not back to the top.
    list.children[cap - STEP * 2]?.focus()
  })

  function slot(i) {
    if (slots[i]) return slots[i]
    const li = document.createElement('li')
    li.tabIndex = -1
    li.innerHTML = '<span class="fname"></span><span class="fstate"></span><progress></progress><span class="famount"></span><span class="furl"></span>'
    const s = { li, sig: '', name: $('.fname', li), state: $('.fstate', li), bar: $('progress', li), amount: $('.famount', li), url: $('.furl', li) }
    slots[i] = s
    return s
  }

  function paint(s, f, now) {
    const speed = f.state === 'downloading' ? rate(f.speed) : ''
    const text = stateText(f, now)
    const sig = `${f.saved_as}|${f.state}|${f.bytes}|${f.size}|${text}|${speed}`
    if (sig === s.sig) return
    s.sig = sig
    s.li.className = `file ${f.state}`
    s.name.textContent = f.saved_as
    s.name.title = f.saved_as
    s.state.textContent = text
    s.url.textContent = f.url // the service never shows a query string
    s.amount.textContent = [amount(f), speed].filter(Boolean).join(' · ')
    const bar = s.bar
    bar.setAttribute('aria-label', `${f.saved_as}: ${text}`)
    if (f.state === 'done') {
      bar.max = 1
      bar.value = 1
    } else if (f.size && (f.state === 'downloading' || f.state === 'retrying')) {
      // Honest: a file is never drawn full before it is done.
      bar.max = f.size
      bar.value = Math.min(f.bytes, f.size * 0.99)
    } else if (f.state === 'downloading') {
      bar.removeAttribute('value') // indeterminate: the size is not known yet
    } else {
      bar.max = 1
      bar.value = 0
    }
  }

  return {
    set onMore(fn) { onMore = fn },
    reset() { cap = STEP },
    /** Draws the files the filter keeps, in the default order, up to the cap. */
    render(files, filter) {
      // One pass, no sort: rows go into buckets by rank, in file order, and only the first `cap` are kept.
      const keep = FILTERS[filter]
      const buckets = [[], [], [], []]
      let total = 0
      for (const f of files) {
        if (!keep(f)) continue
        total++
        const bucket = filter === 'all' ? buckets[RANK[f.state] ?? 3] : buckets[0]
        if (bucket.length < cap) bucket.push(f)
      }
      const shown = buckets.flat()
      const now = Date.now()
      const n = Math.min(cap, shown.length)
      for (let i = 0; i < n; i++) {
        const s = slot(i)
        paint(s, shown[i], now)
        if (list.children[i] !== s.li) list.append(s.li)
      }
      while (list.children.length > n) list.lastElementChild.remove()
      for (let i = n; i < slots.length; i++) slots[i].sig = ''
      more.hidden = total <= n
      more.textContent = `Show more (${total - n} not shown)`
      empty.hidden = total > 0
      return total
    },
  }
}
