// Numbers, times and failure reasons in words. The reasons come from the
// service's own table (GET /ui/file-errors.json, from src/tasks/file-errors.ts).

export const bytes = (n) =>
  n == null ? '' : n >= 1e9 ? `${(n / 1e9).toFixed(2)} GB` : n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : n >= 1e3 ? `${Math.round(n / 1e3)} kB` : `${n} B`

export const rate = (n) => (n > 0 ? `${bytes(Math.round(n))}/s` : '')

/** 75 -> "1 min 15 s"; 4000 -> "1 h 7 min". */
export function duration(seconds) {
  if (seconds == null || !Number.isFinite(seconds)) return ''
  const s = Math.max(0, Math.round(seconds))
  if (s < 60) return `${s} s`
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ''}`
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`
}

/** "3 min ago" for a timestamp. */
export function ago(iso) {
  if (!iso) return ''
  const s = (Date.now() - Date.parse(iso)) / 1000
  if (s < 45) return 'just now'
  if (s < 3600) return `${Math.round(s / 60)} min ago`
  if (s < 86_400) return `${Math.round(s / 3600)} h ago`
  return new Date(iso).toLocaleDateString()
}

let table = { text: {}, http_words: {}, final_errors: [], final_http: { from: 400, to: 499, except: [408, 429] } }

export async function loadErrorTable() {
  try {
    const res = await fetch('/ui/file-errors.json')
    if (res.ok) table = await res.json()
  } catch {
    // The codes are shown as they are.
  }
}

/** A failed file's reason, as the zip's REPORT.txt words it. */
export function reason(f) {
  if (f.error === 'http_error' && f.http_status != null) {
    const words = table.http_words[f.http_status]
    return `The server answered ${f.http_status}${words ? ` (${words})` : ''}`
  }
  if (!f.error) return f.state === 'cancelled' ? 'Cancelled' : 'Failed, for no recorded reason'
  return table.text[f.error] ?? `Failed (${f.error})`
}

/** Whether a retry could make this failed or cancelled file succeed (not a 404, not a blocked address). */
export function retryMayHelp(f) {
  if (f.state === 'cancelled') return true
  if (f.error === 'http_error' && f.http_status != null) {
    const { from, to, except } = table.final_http
    return !(f.http_status >= from && f.http_status <= to && !except.includes(f.http_status))
  }
  return !table.final_errors.includes(f.error)
}
