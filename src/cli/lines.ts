// What the CLI's bars say: the task's bytes (when sizes are known), speed and
// time left, and per file a percentage that reaches 100% only when the file
// is done; a file waiting for its next attempt says which and when.
import type { FileStatus, TaskStatus, Totals } from '../tasks/schemas.js'

export const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`

/** A bar's position: value of total, and the percentage shown beside it (4 columns). */
export interface BarState {
  value: number
  total: number
  pct: string
  label: string
}

/** Whole percent of a part, held below 100 until the thing is done. */
function percent(part: number, whole: number, done: boolean): string {
  const p = done ? 100 : Math.min(99, Math.floor((part * 100) / whole))
  return `${p}%`.padStart(4)
}

export function duration(s: number): string {
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
  return `${s}s`
}

const clockTime = (iso: string) => new Date(iso).toTimeString().slice(0, 8)

/** The task's bar: bytes once sizes are known, files until then. */
export function taskBar(s: TaskStatus): BarState {
  const t: Totals = s.totals
  const ended = t.done + t.failed
  const over = s.state !== 'queued' && s.state !== 'running'
  const rate = t.speed > 0 ? `, ${mb(t.speed)}/s` : ''
  const eta = t.eta_s !== null && t.eta_s > 0 && !over ? `, ${duration(t.eta_s)} left` : ''
  const files = `${ended}/${t.files} files`
  if (t.bytes_total > 0) {
    // A bar past its total would show more than all: bytes_done can exceed the sizes known while some are not.
    return {
      value: Math.min(t.bytes_done, t.bytes_total),
      total: t.bytes_total,
      pct: percent(t.bytes_done, t.bytes_total, over && t.bytes_done >= t.bytes_total),
      label: `${mb(t.bytes_done)} of ${mb(t.bytes_total)}${rate}${eta}, ${files}, ${s.state}`,
    }
  }
  return { value: ended, total: Math.max(1, t.files), pct: percent(ended, Math.max(1, t.files), over && ended === t.files), label: `${files}${rate}, ${s.state}` }
}

/** A file's bar: a percentage only when its size is known; retrying says the attempt and when the next starts. */
export function fileBar(f: FileStatus, now = Date.now()): BarState {
  const done = f.state === 'done'
  if (f.state === 'retrying') {
    const why = f.http_status ? `HTTP ${f.http_status}` : (f.error ?? 'failed')
    const when = f.retry_at ? ` in ${duration(Math.max(0, Math.ceil((Date.parse(f.retry_at) - now) / 1000)))} (${clockTime(f.retry_at)})` : ''
    return { value: 0, total: f.size ?? 1, pct: 'wait', label: `${f.saved_as}: ${why} on attempt ${f.attempts}, attempt ${f.attempts + 1}${when}` }
  }
  if (f.size === null || f.size === 0) {
    return { value: done ? 1 : 0, total: 1, pct: done ? '100%' : '   ?', label: `${f.saved_as} ${mb(f.bytes)}` }
  }
  // Every byte in is not done yet (checked, renamed): the bar stops short of full until it is.
  const value = done ? f.size : Math.min(f.bytes, f.size * 0.99)
  return { value, total: f.size, pct: percent(f.bytes, f.size, done), label: `${f.saved_as} ${mb(f.bytes)} of ${mb(f.size)}` }
}
