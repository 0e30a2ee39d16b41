// What a zip of a task needs of its state, and only that: the done files'
// names in one buffer (src/zip/names.ts) and their sizes, and an object only
// for a file left out of the zip, when REPORT.txt is asked for. An object per file, kept in one
// growing array while the slices arrive, filled the young generation with
// 10,000 objects that scavenges copied and promoted while the zip streamed
// (docs/decisions/0011-zip-event-loop.md).
import type { RedisClient } from '../redis/connection.js'
import { LuaScript } from '../redis/script.js'
import { ZipNames } from '../zip/names.js'
import { jsonArraySlices } from './json-slices.js'
import type { TaskKeys } from './keys.js'
import type { FileSpec } from './store-types.js'
import { FILE_STATES, type FileState, type TaskState } from '../vocabulary.js'

/** A file of the task that is not in its zip, for REPORT.txt. */
export interface LeftOutFile {
  fn: string
  saved_as: string
  state: FileState
  error: string | null
  http_status: number | null
}

export interface ArchiveView {
  state: TaskState
  finished_at: string | null
  /** how many files the task has */
  files: number
  /** the done files' saved_as, in the task's order */
  names: ZipNames
  /** the done files' sizes, in the same order */
  sizes: number[]
  /** with `leftOut`: every file that is not done, in order */
  leftOut: LeftOutFile[]
}

/** Files per slice: a slice's JSON.parse and its reply from Redis each take well under the zip's 2 ms piece. */
const SLICE = 256

/**
 * ARGV: the first file's index, how many. Returns one string, a value per
 * file separated by commas: its bytes when it is done, else its state (empty
 * when it has none). One short command and one short reply per slice rather
 * than an HMGET of 512 field names and its 512 replies, which were most of
 * what reading the task allocated (docs/decisions/0011-zip-event-loop.md).
 */
const sliceStates = new LuaScript<string, [number, number]>(
  `
local files, from, n = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2])
local fields = {}
for j = 0, n - 1 do
  fields[2 * j + 1] = (from + j) .. '.state'
  fields[2 * j + 2] = (from + j) .. '.bytes'
end
local v = redis.call('HMGET', files, unpack(fields))
local out = {}
for j = 0, n - 1 do
  local state = v[2 * j + 1]
  if state == 'done' then out[j + 1] = v[2 * j + 2] or '0' else out[j + 1] = state or '' end
end
return table.concat(out, ',')
`,
  1,
)

/** A value of sliceStates' answer: a done file's bytes start with a digit, a state never does. */
function isBytes(value: string): boolean {
  const c = value.charCodeAt(0)
  return c >= 0x30 && c <= 0x39
}

/** The task's archive view, or null when there is no such task; `leftOut` also reads why each file not done is not. */
export async function readArchiveView(redis: RedisClient, k: TaskKeys, leftOut: boolean): Promise<ArchiveView | null> {
  // The file list as bytes: decoded a slice at a time, never as one 2 MB string (json-slices.ts).
  const [spec, state, finishedAt] = await redis.hmgetBuffer(k.meta, 'spec', 'state', 'finished_at')
  if (!spec) return null
  const finished = finishedAt?.toString()
  const view: ArchiveView = {
    state: state?.toString() as TaskState,
    finished_at: finished === undefined || finished === '' ? null : finished,
    files: 0,
    names: new ZipNames(1024),
    sizes: [],
    leftOut: [],
  }
  for await (const slice of jsonArraySlices<FileSpec>(spec, SLICE)) {
    const from = view.files
    const values = (await sliceStates.run(redis, [k.files], [from, slice.length])).split(',')
    const notDone: number[] = []
    for (let j = 0; j < slice.length; j++) {
      if (!isBytes(values[j]!)) {
        notDone.push(j)
        continue
      }
      view.names.add(slice[j]!.saved_as)
      view.sizes.push(Number(values[j]))
    }
    if (leftOut && notDone.length > 0) await readLeftOut(redis, k, view, slice, from, notDone, values)
    view.files += slice.length
  }
  return view
}

/** The files of a slice that are not done, with their error and HTTP status (a second read: most zips have none). */
async function readLeftOut(
  redis: RedisClient,
  k: TaskKeys,
  view: ArchiveView,
  slice: FileSpec[],
  from: number,
  notDone: number[],
  states: string[],
): Promise<void> {
  const more = await redis.hmget(k.files, ...notDone.flatMap((j) => [`${from + j}.error`, `${from + j}.http_status`]))
  notDone.forEach((j, n) => {
    const f = slice[j]!
    const httpStatus = more[2 * n + 1]
    view.leftOut.push({
      fn: f.fn,
      saved_as: f.saved_as,
      state: FILE_STATES.find((s) => s === states[j]) ?? 'queued',
      error: more[2 * n] || null,
      http_status: httpStatus ? Number(httpStatus) : null,
    })
  })
}
