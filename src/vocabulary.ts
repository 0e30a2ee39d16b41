// The words every part says about tasks and files: their states, which of
// those are final, and the stable codes of a failed file. The API's schemas
// (and so openapi.yaml), the Lua steps, the worker, the CLI and the words
// people read all derive from these lists; a word added here reaches them all.

export const TASK_STATES = ['queued', 'running', 'completed', 'partial', 'failed', 'cancelled'] as const
export type TaskState = (typeof TASK_STATES)[number]

/** A task in one of these has its `end` written; only a retry takes it back to queued. */
export const FINAL_TASK_STATES = ['completed', 'partial', 'failed', 'cancelled'] as const satisfies readonly TaskState[]
export type FinalTaskState = (typeof FINAL_TASK_STATES)[number]

/** `retrying`: between two attempts, waiting out a backoff. */
export const FILE_STATES = ['queued', 'downloading', 'retrying', 'done', 'failed', 'cancelled'] as const
export type FileState = (typeof FILE_STATES)[number]

/** The file states of GET /tasks/:id?files=active: not ended yet. */
export const ACTIVE_FILE_STATES = ['queued', 'downloading', 'retrying'] as const satisfies readonly FileState[]

/** A file in one of these has its reply message pushed; a resume skips it. */
export const FINAL_FILE_STATES = ['done', 'failed', 'cancelled'] as const satisfies readonly FileState[]
export type FinalFileState = (typeof FINAL_FILE_STATES)[number]

const member =
  <T extends string>(list: readonly T[]) =>
  (value: unknown): value is T =>
    (list as readonly unknown[]).includes(value)

export const isTaskState = member(TASK_STATES)
export const isFinalTaskState = member(FINAL_TASK_STATES)
export const isFinalFileState = member(FINAL_FILE_STATES)

/** Why a file failed, as GET /tasks/:id shows it in `error` (see src/tasks/file-errors.ts for the words). */
export const FILE_ERROR_CODES = [
  'http_error',
  'timeout',
  'connect_timeout',
  'connection_error',
  'dns_error',
  'too_slow',
  'size_mismatch',
  'range_mismatch',
  'checksum_mismatch',
  'file_too_large',
  'too_many_redirects',
  'redirect_loop',
  'bad_redirect',
  'headers_too_large',
  'blocked_address',
  'host_not_allowed',
  'disk_full',
  'disk_error',
  'cancelled',
  'worker_error',
  'download_error',
] as const
export type FileErrorCode = (typeof FILE_ERROR_CODES)[number]
export const isFileErrorCode = member(FILE_ERROR_CODES)

/** The codes a webhook delivery's `error` takes: the few of a file's that a POST can meet. */
export type WebhookErrorCode = Extract<FileErrorCode, 'http_error' | 'timeout' | 'connection_error' | 'dns_error' | 'blocked_address'>

