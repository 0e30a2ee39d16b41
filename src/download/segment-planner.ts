// Which bytes of a file a new connection fetches: a range no connection has
// yet (left by an interrupted run), else the second half of the largest range
// still running (aria2's dynamic split, so that the end of a batch is never
// one lonely connection pulling a large file).
import type { Segment } from './resume-state.js'

/** Connections one file uses at most (aria2's -x16). */
export const MAX_SEGMENTS = 16

/** Split points fall on this boundary: whole pages for the disk. */
const ALIGN = 64 * 1024

export interface RunningRange {
  segment: Segment
  /** the next byte its request writes */
  position: number
}

/**
 * The range a new connection should take, or null when none is worth it.
 * A split shrinks the running segment's end and returns the new segment,
 * which the caller adds to the file's record.
 */
export function planNext(pending: Segment[], running: readonly RunningRange[], minBytes: number): Segment | null {
  if (running.length >= MAX_SEGMENTS || minBytes <= 0) return null
  const waiting = pending.shift()
  if (waiting) return waiting
  let widest: RunningRange | null = null
  for (const r of running) {
    if (!widest || r.segment.end - r.position > widest.segment.end - widest.position) widest = r
  }
  if (!widest) return null
  const at = splitPoint(widest.position, widest.segment.end, minBytes)
  if (at === null) return null
  const added: Segment = { start: at, end: widest.segment.end, done: 0 }
  widest.segment.end = at
  return added
}

/** The middle of [position, end) on a 64 KiB boundary, when both halves keep at least minBytes. */
export function splitPoint(position: number, end: number, minBytes: number): number | null {
  if (!Number.isFinite(end) || end - position < 2 * minBytes) return null
  const middle = position + Math.floor((end - position) / 2)
  const aligned = middle - (middle % ALIGN)
  const at = aligned - position >= minBytes ? aligned : middle
  return end - at >= minBytes ? at : null
}
