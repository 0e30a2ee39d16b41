// Follows a task until it ends: on a terminal one bar for the task and one per
// active file, fitted to the terminal's width, with speed and time left.
import { MultiBar, Presets, type SingleBar } from 'cli-progress'
import type { TaskStatus } from '../tasks/schemas.js'
import { isFinalTaskState } from '../vocabulary.js'
import type { Client } from './client.js'

const POLL_MS = 300
const FILE_BARS = 8

export const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`
export const isEnded = (s: TaskStatus) => isFinalTaskState(s.state)

/** Bytes per second over the last few polls. */
class Speed {
  private readonly samples: [number, number][] = []
  add(bytes: number, at = Date.now()): number {
    this.samples.push([at, bytes])
    while (this.samples.length > 10) this.samples.shift()
    const [t0, b0] = this.samples[0]!
    return at > t0 ? ((bytes - b0) * 1000) / (at - t0) : 0
  }
}

function eta(left: number, speed: number): string {
  if (speed <= 0 || left <= 0) return ''
  const s = Math.ceil(left / speed)
  return s >= 3600 ? `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m left` : s >= 60 ? `${Math.floor(s / 60)}m${s % 60}s left` : `${s}s left`
}

const fit = (label: string, width: number) => (label.length <= width ? label : `${label.slice(0, Math.max(1, width - 1))}…`)

export async function watch(client: Client, taskId: string, showBars: boolean): Promise<TaskStatus> {
  const columns = process.stderr.columns || 80
  // The bar takes a third of the width (10 to 40 columns); the label the rest, less
  // the percentage and separators (9 columns) and one spare, where a terminal wraps.
  const barSize = Math.max(10, Math.min(40, Math.floor(columns / 3)))
  const labelWidth = Math.max(10, columns - barSize - 10)
  const bars = showBars
    ? new MultiBar({ format: ' {bar} {percentage}% | {label}', barsize: barSize, hideCursor: true, clearOnComplete: false }, Presets.shades_classic)
    : null
  const speed = new Speed()
  let overall: SingleBar | null = null
  const active = new Map<string, SingleBar>()
  const path = `/tasks/${encodeURIComponent(taskId)}`
  for (;;) {
    const status = await client.json<TaskStatus>('GET', path)
    if (bars) {
      const t = status.totals
      const rate = speed.add(t.bytes_done)
      const known = status.files.reduce((sum, f) => sum + (f.size ?? 0), 0)
      const label = `${t.done + t.failed}/${t.files} files, ${mb(t.bytes_done)}, ${mb(rate)}/s ${eta(known - t.bytes_done, rate)} ${status.state}`
      overall ??= bars.create(t.files, 0, { label: '' })
      overall.update(t.done + t.failed, { label: fit(label, labelWidth) })
      const running = status.files.filter((f) => f.state === 'downloading')
      for (const [name, bar] of active) {
        if (!running.some((f) => f.saved_as === name)) {
          bars.remove(bar)
          active.delete(name)
        }
      }
      for (const f of running.slice(0, FILE_BARS)) {
        let bar = active.get(f.saved_as)
        if (!bar) active.set(f.saved_as, (bar = bars.create(f.size ?? 1, 0, { label: '' })))
        if (f.size) bar.setTotal(f.size)
        bar.update(f.bytes, { label: fit(`${f.saved_as} ${mb(f.bytes)}`, labelWidth) })
      }
    }
    if (isEnded(status)) {
      bars?.stop()
      return status
    }
    await new Promise((r) => setTimeout(r, POLL_MS))
  }
}
