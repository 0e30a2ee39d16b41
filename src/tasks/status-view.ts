// GET /tasks/:id from the task's two hashes: its summary, and its files as
// the caller asked (all, the active ones, the failed ones, or none).
import { redactUrl } from '../logger.js'
import type { FileFilter, FileStatus, Priority, TaskStatus, WebhookStatus } from './schemas.js'
import { ACTIVE_FILE_STATES, type FileErrorCode, type FileState, type TaskState } from '../vocabulary.js'
import { headerNames } from './request-headers.js'
import { fileSources, sourcesOf } from './sources.js'
import { totalsOf } from './totals.js'

/** What the view needs of a file's spec (store.ts has the whole of it). */
interface SpecFile {
  fn: string
  url: string
  saved_as: string
}

const orNull = (v: string | undefined) => (v === undefined || v === '' ? null : v)
const intOrNull = (v: string | undefined) => (v === undefined || v === '' ? null : Number(v))

const keeps: Record<FileFilter, (s: FileState) => boolean> = {
  all: () => true,
  active: (s) => (ACTIVE_FILE_STATES as readonly FileState[]).includes(s),
  failed: (s) => s === 'failed',
  none: () => false,
}

export function toStatus(
  meta: Record<string, string>,
  files: Record<string, string>,
  webhook: WebhookStatus | null | undefined,
  filter: FileFilter = 'all',
): TaskStatus {
  // Without files, no need to parse the list (megabytes for 10,000 files).
  const spec = filter === 'none' ? [] : (JSON.parse(meta.spec!) as SpecFile[])
  const running = { bytes: 0, size: 0 }
  const keep = keeps[filter]
  const sources = sourcesOf(meta)
  const list: FileStatus[] = []
  spec.forEach((f, i) => {
    const field = (name: string) => files[`${i}.${name}`]
    const state = (field('state') ?? 'queued') as FileState
    const bytes = Number(field('bytes') ?? 0)
    const size = intOrNull(field('size'))
    if (state === 'downloading' || state === 'retrying') {
      running.bytes += bytes
      running.size += size ?? 0
    }
    if (!keep(state)) return
    // Of a file's headers, the names only: their values are secrets.
    const { headers, mirrors } = fileSources(sources, i)
    const names = headerNames(headers)
    list.push({
      index: i,
      fn: f.fn,
      url: redactUrl(f.url),
      saved_as: f.saved_as,
      state,
      bytes,
      size,
      attempts: Number(field('attempts') ?? 0),
      retry_at: state === 'retrying' ? orNull(field('retry_at')) : null,
      http_status: intOrNull(field('http_status')),
      // Written only from a FileErrorCode (the worker's or a Lua step's reason).
      error: orNull(field('error')) as FileErrorCode | null,
      source: intOrNull(field('source')),
      ...(mirrors.length > 0 ? { mirrors: mirrors.map(redactUrl) } : {}),
      ...(names.length > 0 ? { header_names: names } : {}),
    })
  })
  return {
    task_id: meta.task_id!,
    state: meta.state as TaskState,
    priority: (meta.priority as Priority | undefined) ?? 'normal',
    created_at: meta.created_at!,
    started_at: orNull(meta.started_at),
    finished_at: orNull(meta.finished_at),
    totals: totalsOf(meta, running),
    files: list,
    ...(sources.maxBytesPerSecond === null ? {} : { max_bytes_per_second: sources.maxBytesPerSecond }),
    ...(webhook === undefined ? {} : { webhook }),
  }
}
