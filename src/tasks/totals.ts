// A task's totals as any API process answers them: the counters of the files
// that ended (in the task's hash), the bytes and sizes of the files still
// running, and the speed and time left as its worker last wrote them (the
// task's "live" field, src/worker/progress.ts). No process keeps them in memory.
import type { Totals } from './schemas.js'
import type { TaskState } from '../vocabulary.js'

/** Speed is the bytes received over this window, divided by it. */
export const SPEED_WINDOW_MS = 3000

/**
 * A worker writes its figures while bytes move, and once more with speed 0
 * when none has moved for a whole window. Figures older than that (and some
 * slack) are a dead worker's: the speed they show is gone.
 */
export const LIVE_STALE_MS = SPEED_WINDOW_MS + 2000

/** What the worker writes at each progress step. */
export type LiveTotals = Totals

/** The task's hash fields these totals are made of. */
export const TOTALS_FIELDS = ['state', 'files', 'done', 'failed', 'bytes_done', 'bytes_total', 'live', 'live_at'] as const
export type TotalsFields = Partial<Record<(typeof TOTALS_FIELDS)[number], string | null>>

function liveOf(meta: TotalsFields, now: number): LiveTotals | null {
  if ((meta.state as TaskState | undefined) !== 'running' || !meta.live) return null
  try {
    const live = JSON.parse(meta.live) as LiveTotals
    return now - Number(meta.live_at) > LIVE_STALE_MS ? { ...live, speed: 0, eta_s: null } : live
  } catch {
    return null
  }
}

/**
 * `running`: the bytes and known sizes of the files not ended, when the
 * caller read them (GET /tasks/:id); without, the worker's last figures
 * stand for them (GET /tasks).
 */
export function totalsOf(meta: TotalsFields, running = { bytes: 0, size: 0 }, now = Date.now()): Totals {
  const live = liveOf(meta, now)
  const num = (v: string | null | undefined) => Number(v ?? 0) || 0
  return {
    files: num(meta.files),
    done: num(meta.done),
    failed: num(meta.failed),
    // The larger of the two: a file's end moves its bytes into the counters
    // between the worker's steps, and neither may seem to go back.
    bytes_done: Math.max(num(meta.bytes_done) + running.bytes, live?.bytes_done ?? 0),
    bytes_total: Math.max(num(meta.bytes_total) + running.size, live?.bytes_total ?? 0),
    speed: live?.speed ?? 0,
    eta_s: live?.eta_s ?? null,
  }
}
