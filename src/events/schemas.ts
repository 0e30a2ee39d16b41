// The data of each Server-Sent Event, documented in the OpenAPI document.
import { Type, type Static } from 'typebox'
import { FileStateSchema, TaskStateSchema, Totals } from '../tasks/schemas.js'

export const StateEvent = Type.Object({ state: TaskStateSchema }, { title: 'state', description: 'event "state": the task changed state' })

export const FileEvent = Type.Object(
  {
    index: Type.Integer({ description: 'position of the file in task_info' }),
    fn: Type.String(),
    saved_as: Type.String(),
    state: FileStateSchema,
    bytes: Type.Integer(),
    size: Type.Union([Type.Integer(), Type.Null()]),
    attempts: Type.Integer(),
    retry_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'when retrying: when the next attempt starts' }),
    http_status: Type.Union([Type.Integer(), Type.Null()]),
    error: Type.Union([Type.String(), Type.Null()]),
  },
  {
    title: 'file',
    description: 'event "file": one file finished (done, failed or cancelled), or began waiting for its next attempt (retrying)',
  },
)
export type FileEventData = Static<typeof FileEvent>

export const ProgressEvent = Type.Object(Totals.properties, {
  title: 'progress',
  description:
    'event "progress": totals, at most every 250 ms while bytes move, never the same twice in a row; when bytes stop for 3 s, one more with speed 0, then none until they move again',
})

export const EndEvent = Type.Object(
  { state: TaskStateSchema, totals: Totals },
  { title: 'end', description: 'event "end": the final state; the stream closes after it' },
)

export const TaskEventData = Type.Union([StateEvent, FileEvent, ProgressEvent, EndEvent], {
  description:
    'Each event has an `id` (resume with Last-Event-ID), an `event` name (state, file, progress, end) and ' +
    'JSON `data` of the matching shape. A comment line is sent as a heartbeat every SSE_HEARTBEAT_MS (10 s by default).',
})
