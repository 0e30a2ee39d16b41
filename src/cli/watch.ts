// Follows a task until it ends: on a terminal one bar for the task (its bytes,
// speed and time left) and one per active file, fitted to the terminal's width.
import { MultiBar, Presets, type SingleBar } from 'cli-progress'
import type { TaskStatus } from '../tasks/schemas.js'
import { isFinalTaskState } from '../vocabulary.js'
import type { Client } from './client.js'
import { fileBar, taskBar, type BarState } from './lines.js'

const POLL_MS = 300
const FILE_BARS = 8
/** Past this many files a task is followed by its totals alone: its active files would be most of it. */
const MAX_FILES_WITH_BARS = 200

export { mb } from './lines.js'
export const isEnded = (s: TaskStatus) => isFinalTaskState(s.state)

const fit = (label: string, width: number) => (label.length <= width ? label : `${label.slice(0, Math.max(1, width - 1))}…`)

export async function watch(client: Client, taskId: string, showBars: boolean): Promise<TaskStatus> {
  const columns = process.stderr.columns || 80
  // The bar takes a third of the width (10 to 40 columns); the label the rest, less
  // the percentage and separators (9 columns) and one spare, where a terminal wraps.
  const barSize = Math.max(10, Math.min(40, Math.floor(columns / 3)))
  const labelWidth = Math.max(10, columns - barSize - 10)
  const bars = showBars
    ? new MultiBar({ format: ' {bar} {pct} | {label}', barsize: barSize, hideCursor: true, clearOnComplete: false }, Presets.shades_classic)
    : null
  const draw = (bar: SingleBar, s: BarState) => {
    bar.setTotal(s.total)
    bar.update(s.value, { pct: s.pct, label: fit(s.label, labelWidth) })
  }
  let overall: SingleBar | null = null
  const active = new Map<string, SingleBar>()
  const path = `/tasks/${encodeURIComponent(taskId)}`
  let files: 'active' | 'none' = 'none'
  for (;;) {
    // The active files only while it runs, and of a large task (whose queued files
    // are active too) none: following 10,000 files costs no more than following ten.
    const status: TaskStatus = await client.json<TaskStatus>('GET', `${path}?files=${files}`)
    files = bars && status.totals.files <= MAX_FILES_WITH_BARS ? 'active' : 'none'
    if (bars) {
      overall ??= bars.create(1, 0, { pct: '', label: '' })
      draw(overall, taskBar(status))
      const running = status.files.filter((f) => f.state === 'downloading' || f.state === 'retrying')
      for (const [name, bar] of active) {
        if (!running.some((f) => f.saved_as === name)) {
          bars.remove(bar)
          active.delete(name)
        }
      }
      for (const f of running.slice(0, FILE_BARS)) {
        let bar = active.get(f.saved_as)
        if (!bar) active.set(f.saved_as, (bar = bars.create(1, 0, { pct: '', label: '' })))
        draw(bar, fileBar(f))
      }
    }
    if (isEnded(status)) {
      bars?.stop()
      // The whole task once, for the summary of what failed.
      return client.json<TaskStatus>('GET', path)
    }
    await new Promise((r) => setTimeout(r, POLL_MS))
  }
}
