// The single source of the API's shapes: request validation, TypeScript types
// and the OpenAPI document all come from these schemas.
import { Type, type Static } from 'typebox'
import { FILE_ERROR_CODES, FILE_STATES, TASK_STATES } from '../vocabulary.js'

export const TASK_ID_PATTERN = '^[A-Za-z0-9_-]{1,64}$'

const TASK_ID_HINT = '1 to 64 letters, digits, "_" or "-"'
export const TaskId = Type.String({ pattern: TASK_ID_PATTERN, 'x-hint': TASK_ID_HINT, description: TASK_ID_HINT })

const HttpUrl = (description: string) =>
  Type.String({ maxLength: 8192, pattern: '^[Hh][Tt][Tt][Pp][Ss]?://', 'x-hint': 'an http:// or https:// URL', description })

const RequestHeaders = (description: string) =>
  Type.Record(Type.String(), Type.String({ maxLength: 65536 }), {
    maxProperties: 100,
    description: `${description}. Refused: hop-by-hop headers, Host, Content-Length, Range, If-Range, Expect, invalid names, line breaks or control characters in values, more than 8 KiB in all. Authorization and Cookie are not sent to another origin after a redirect. Values are secrets: never logged or shown (only the names are)`,
  })

export const FileRequest = Type.Object({
  fn: Type.String({
    maxLength: 1024,
    description:
      'file name in the task folder; not empty, ".", "..", no "/", "\\", NUL, control or invisible formatting characters, at most 255 bytes of UTF-8',
  }),
  url: HttpUrl('http or https URL'),
  sha256: Type.Optional(
    Type.String({
      pattern: '^[A-Fa-f0-9]{64}$',
      'x-hint': 'a SHA-256 digest: 64 hexadecimal characters',
      description: 'SHA-256 of the file, 64 hex characters: the downloaded bytes must match it',
    }),
  ),
  headers: Type.Optional(RequestHeaders('request headers for this file, over the task\'s of the same name')),
  mirrors: Type.Optional(
    Type.Array(HttpUrl('http or https URL of the same file elsewhere'), {
      maxItems: 5,
      description: 'up to 5 more URLs of the same file, tried in order when the one before fails for good',
    }),
  ),
})

export const PRIORITIES = ['high', 'normal', 'low'] as const
export type Priority = (typeof PRIORITIES)[number]
export const PrioritySchema = Type.Enum([...PRIORITIES], { description: 'queued tasks start in priority order, first come first served within one' })

export const TaskRequest = Type.Object(
  {
    task_id: Type.Optional(TaskId),
    task_info: Type.Array(FileRequest, { minItems: 1, description: '1 to MAX_FILES_PER_TASK files' }),
    priority: Type.Optional(PrioritySchema),
    headers: Type.Optional(RequestHeaders('request headers sent with every file of the task (Referer, User-Agent, Cookie, Authorization, ...)')),
    max_bytes_per_second: Type.Optional(
      Type.Integer({ minimum: 1024, description: 'this task\'s download rate cap, over all its connections, in bytes per second (at least 1024)' }),
    ),
    callback_url: Type.Optional(
      Type.String({
        maxLength: 2048,
        pattern: '^[Hh][Tt][Tt][Pp][Ss]?://',
        'x-hint': 'an http:// or https:// URL',
        description: 'http(s) URL POSTed a signed task.ended event at each end of the task; needs WEBHOOK_SECRET',
      }),
    ),
  },
  { description: 'the JSON the PHP backend pushed onto the seed Redis list, unchanged' },
)
export type TaskRequest = Static<typeof TaskRequest>

export const TaskStateSchema = Type.Enum([...TASK_STATES])
export const FileStateSchema = Type.Enum([...FILE_STATES])
export const FileErrorCodeSchema = Type.Enum([...FILE_ERROR_CODES])

const Timestamp = Type.Union([Type.String({ format: 'date-time' }), Type.Null()])
const NullableInt = Type.Union([Type.Integer(), Type.Null()])

export const Totals = Type.Object({
  files: Type.Integer(),
  done: Type.Integer(),
  failed: Type.Integer(),
  bytes_done: Type.Integer({
    description:
      'the sum of the files\' bytes: saved files, files being downloaded (the most their attempts reached) and ' +
      'failed or cancelled files (what they had received); never goes backwards while the task runs',
  }),
  bytes_total: Type.Integer({ description: 'the sum of the sizes known so far (a file\'s size is known once its server said it)' }),
  speed: Type.Integer({ description: 'bytes per second received over the last 3 seconds; 0 when nothing moves or the task is not running' }),
  eta_s: Type.Union([Type.Integer(), Type.Null()], {
    description: 'seconds left at this speed, for the files not ended yet (a file of unknown size counted at the mean size known); null when unknown',
  }),
})
export type Totals = Static<typeof Totals>

export const FileStatus = Type.Object({
  index: Type.Integer({ description: 'position of the file in task_info' }),
  fn: Type.String(),
  url: Type.String({ description: 'the submitted URL without its query string' }),
  saved_as: Type.String(),
  state: FileStateSchema,
  bytes: Type.Integer({ description: 'bytes saved, or received so far (the most an attempt reached), or received before it failed' }),
  size: Type.Union([Type.Integer(), Type.Null()], { description: 'as soon as the server said it (Content-Length, Content-Range); null until then' }),
  attempts: Type.Integer({ description: 'attempts begun so far' }),
  retry_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'while retrying: when the next attempt starts' }),
  http_status: NullableInt,
  error: Type.Union([FileErrorCodeSchema, Type.Null()], {
    description: 'a stable code such as http_error or timeout; while retrying, the failure of the last attempt',
  }),
  source: Type.Union([Type.Integer(), Type.Null()], {
    description: 'which URL served the file: 0 its url, 1 its first mirror, ...; null until it is done',
  }),
  mirrors: Type.Optional(Type.Array(Type.String(), { description: 'the file\'s mirrors, without their query strings' })),
  header_names: Type.Optional(
    Type.Array(Type.String(), { description: 'names of the request headers the file is sent with (the task\'s and its own); never their values' }),
  ),
})
export type FileStatus = Static<typeof FileStatus>

export const WEBHOOK_STATES = ['pending', 'delivered', 'failed'] as const
export type WebhookState = (typeof WEBHOOK_STATES)[number]

export const WebhookStatus = Type.Object(
  {
    delivery_id: Type.String({ description: 'the batchdl-delivery header of the last end\'s event' }),
    state: Type.Enum([...WEBHOOK_STATES]),
    attempts: Type.Integer(),
    http_status: NullableInt,
    error: Type.Union([Type.String(), Type.Null()], { description: 'http_error, timeout, connection_error, blocked_address, ...' }),
    next_attempt_at: Timestamp,
  },
  { description: 'the delivery of the webhook of the task\'s last end' },
)
export type WebhookStatus = Static<typeof WebhookStatus>

/** A task as GET /tasks lists it. */
export const TaskSummary = Type.Object({
  task_id: Type.String(),
  state: TaskStateSchema,
  priority: PrioritySchema,
  created_at: Type.String({ format: 'date-time' }),
  started_at: Timestamp,
  finished_at: Timestamp,
  totals: Totals,
})
export type TaskSummary = Static<typeof TaskSummary>

/** A task as GET /tasks/:id shows it: the summary, its files and its webhook's last delivery. */
export const TaskStatus = Type.Object({
  ...TaskSummary.properties,
  files: Type.Array(FileStatus),
  max_bytes_per_second: Type.Optional(Type.Integer({ description: 'the task\'s rate cap, when it has one' })),
  webhook: Type.Optional(Type.Union([WebhookStatus, Type.Null()], { description: 'present when the task has a callback_url; null before its first end' })),
})
export type TaskStatus = Static<typeof TaskStatus>


export const FILE_FILTERS = ['all', 'active', 'failed', 'none'] as const
export type FileFilter = (typeof FILE_FILTERS)[number]

export const TaskStatusQuery = Type.Object({
  files: Type.Optional(
    Type.Enum([...FILE_FILTERS], {
      description: 'which files to list: all (the default), active (queued, downloading, retrying), failed, or none (the totals alone)',
    }),
  ),
})

export const TaskListQuery = Type.Object({
  state: Type.Optional(
    Type.String({
      maxLength: 200,
      description: `comma-separated task states to keep: ${TASK_STATES.join(', ')}`,
    }),
  ),
  // A string: query values are not coerced (a body's numbers must stay numbers).
  limit: Type.Optional(
    Type.String({ pattern: '^[1-9][0-9]{0,2}$', 'x-hint': 'a whole number from 1 to 200', description: 'tasks per page, 1 to 200; 50 by default' }),
  ),
  cursor: Type.Optional(Type.String({ maxLength: 200, description: 'next_cursor of the page before' })),
})

export const TaskList = Type.Object({
  tasks: Type.Array(TaskSummary),
  next_cursor: Type.Union([Type.String(), Type.Null()], { description: 'where the next page starts; null: no more' }),
})

export const TaskAccepted = Type.Object({
  task_id: Type.String(),
  state: TaskStateSchema,
  files: Type.Integer(),
  status_url: Type.String(),
  events_url: Type.String(),
  archive_url: Type.String(),
})
export type TaskAccepted = Static<typeof TaskAccepted>

export const ErrorBody = Type.Object({
  error: Type.String({ description: 'stable machine-readable code' }),
  message: Type.String(),
  details: Type.Optional(Type.Array(Type.Object({ path: Type.String(), message: Type.String() }))),
})
