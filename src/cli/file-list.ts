// The file lists people paste or keep: one URL per line, "name URL" per line,
// CSV (fn,url), or JSON (an array of { fn, url } or a whole task body).
import { fileNameProblem } from '../tasks/names.js'

export interface ListedFile {
  fn: string
  url: string
}

/** A file name from the URL's last path segment, else file-<n>. */
function nameFromUrl(url: string, n: number): string {
  try {
    const last = decodeURIComponent(new URL(url).pathname.split('/').pop() ?? '')
    if (fileNameProblem(last) === null) return last
  } catch {
    // not a URL: the server will say so
  }
  return `file-${n}`
}

export function parseFileList(text: string, hint: 'json' | 'csv' | 'lines'): ListedFile[] {
  if (hint === 'json') {
    const data = JSON.parse(text) as ListedFile[] | { task_info: ListedFile[] }
    return Array.isArray(data) ? data : data.task_info
  }
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith('#'))
  if (hint === 'csv') {
    const rows = lines.map((l) => l.split(',').map((c) => c.trim().replace(/^"(.*)"$/, '$1')))
    const body = rows[0]?.[0]?.toLowerCase() === 'fn' ? rows.slice(1) : rows
    return body.map(([fn, url], i) => ({ fn: fn || nameFromUrl(url ?? '', i + 1), url: url ?? '' }))
  }
  return lines.map((line, i) => {
    const cut = line.lastIndexOf(' ')
    if (cut === -1) return { fn: nameFromUrl(line, i + 1), url: line }
    return { fn: line.slice(0, cut).trim(), url: line.slice(cut + 1) }
  })
}

export function listHint(path: string): 'json' | 'csv' | 'lines' {
  if (path.endsWith('.json')) return 'json'
  if (path.endsWith('.csv')) return 'csv'
  return 'lines'
}
