// Every state change that PHP or a subscriber can observe is one Lua step:
// the state, the reply-list message and the event are written together or not
// at all, and a step that already happened is a no-op. That is what makes each
// reply message exactly-once when a worker dies and another one resumes.
//
// Every script takes KEYS = meta, files, events, reply, webhook (see keys.ts).
// The steps of a running task's files are in file-scripts.ts.
import { LuaScript, type ScriptArg } from '../redis/script.js'
import { FINAL_FILE_STATES, type FinalTaskState, type TaskState } from '../vocabulary.js'

/** What retryTask returns instead of a count of retried files. */
export const RETRY_NOT_ENDED = -1
export const RETRY_MISSING = -2

/** What a worker's beginTask and the API's cancelTask return besides a state. */
export type BeginResult = 'running' | 'cancel' | 'missing' | TaskState
export type CancelResult = 'cancelling' | 'missing' | TaskState
export type FinishOutcome = 'normal' | 'cancelled' | 'failed'

export const PRELUDE = `
local meta, files, events, reply, webhook = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]

local function terminal(s)
  return ${FINAL_FILE_STATES.map((state) => `s == '${state}'`).join(' or ')}
end

local function emit(name, data)
  redis.call('XADD', events, 'MAXLEN', '~', 100000, '*', 'e', name, 'd', data)
end

local function push(msg, ttl)
  redis.call('LPUSH', reply, msg)
  redis.call('EXPIRE', reply, ttl)
end

local function push_start(ttl)
  if redis.call('HSETNX', meta, 'start_pushed', 1) == 1 then push('start', ttl) end
end

-- A task's totals once no file is running: nothing moves, nothing is left to wait for.
local function totals()
  local c = redis.call('HMGET', meta, 'files', 'done', 'failed', 'bytes_done', 'bytes_total')
  return { files = tonumber(c[1]), done = tonumber(c[2]), failed = tonumber(c[3]), bytes_done = tonumber(c[4]),
    bytes_total = tonumber(c[5] or 0), speed = 0, eta_s = cjson.null }
end

-- The fields a file has only while it waits for its next attempt.
local function clear_retry(idx)
  redis.call('HDEL', files, idx .. '.retry_at', idx .. '.error', idx .. '.http_status')
end

-- A file that ends keeps its bytes and size, which move into the task's counters.
local function count_end(idx, bytes, size)
  if tonumber(bytes) > 0 then redis.call('HINCRBY', meta, 'bytes_done', string.format('%d', tonumber(bytes))) end
  if size and size ~= '' then redis.call('HINCRBY', meta, 'bytes_total', string.format('%d', tonumber(size))) end
end

-- The webhook of an end is made pending in the step that ends the task, so
-- that no end goes without its delivery (src/webhooks/ makes it). The record
-- outlives the task's retention and purge: each attempt renews it.
local function queue_webhook(id, state, t, now)
  local url = redis.call('HGET', meta, 'callback_url')
  if not url or id == '' then return end
  redis.call('HSET', webhook, 'last', id, id, cjson.encode({ url = url, state = state, totals = t, ended_at = now }),
    id .. '.state', 'pending', id .. '.attempts', 0)
  redis.call('EXPIRE', webhook, 604800)
end

-- Ends the task once: files still open become 'cancelled' (or 'failed' with
-- the reason) and get their message, then the final state and 'end', and the
-- webhook's delivery (id: delivery_id) when the task has a callback_url.
local function finish(outcome, reason, now, ttl, retention, delivery_id)
  local m = redis.call('HMGET', meta, 'state', 'end_pushed', 'spec')
  if not m[1] then return false end
  if m[2] then return m[1] end
  push_start(ttl)
  local left = outcome == 'cancelled' and 'cancelled' or 'failed'
  local spec = cjson.decode(m[3])
  for i, f in ipairs(spec) do
    local idx = tostring(i - 1)
    local was = redis.call('HGET', files, idx .. '.state')
    if not terminal(was) then
      local c = redis.call('HMGET', files, idx .. '.bytes', idx .. '.size', idx .. '.attempts')
      local bytes = tonumber(c[1] or 0)
      if was == 'retrying' then clear_retry(idx) end
      redis.call('HSET', files, idx .. '.state', left, idx .. '.bytes', bytes)
      if left == 'failed' then redis.call('HSET', files, idx .. '.error', reason) end
      redis.call('HINCRBY', meta, left, 1)
      count_end(idx, bytes, c[2])
      push(f.fn, ttl)
      emit('file', cjson.encode({ index = i - 1, fn = f.fn, saved_as = f.saved_as, state = left, bytes = bytes,
        size = tonumber(c[2]) or cjson.null, attempts = tonumber(c[3] or 0), retry_at = cjson.null, http_status = cjson.null,
        error = left == 'failed' and reason or cjson.null }))
    end
  end
  local t = totals()
  local state
  if outcome == 'cancelled' then state = 'cancelled'
  elseif t.done == t.files then state = 'completed'
  elseif t.done == 0 then state = 'failed'
  else state = 'partial' end
  redis.call('HSET', meta, 'state', state, 'finished_at', now, 'end_pushed', 1)
  redis.call('HDEL', meta, 'cancel_requested', 'live', 'live_at')
  emit('state', cjson.encode({ state = state }))
  emit('end', cjson.encode({ state = state, totals = t }))
  push('end', ttl)
  queue_webhook(delivery_id, state, t, now)
  if tonumber(retention) > 0 then
    redis.call('EXPIRE', meta, retention)
    redis.call('EXPIRE', files, retention)
    redis.call('EXPIRE', events, retention)
  end
  return state
end
`

export const script = <Result, Args extends readonly ScriptArg[] = ScriptArg[]>(body: string) => new LuaScript<Result, Args>(PRELUDE + body, 5)

/**
 * ARGV: task_id, fingerprint, spec JSON, file count, created_at, priority,
 * callback_url, request headers JSON, mirrors JSON, rate cap ('' for none).
 * Nil when created, else {fingerprint, state}. The headers are secrets: they
 * live in the same hash as the URLs, so they expire and go with them.
 */
export const createTask = script<
  [fingerprint: string, state: TaskState] | null,
  [
    taskId: string, fingerprint: string, spec: string, files: number, createdAt: string, priority: string, callbackUrl: string,
    headers: string, mirrors: string, maxBytesPerSecond: number | '',
  ]
>(`
if redis.call('EXISTS', meta) == 1 then
  return redis.call('HMGET', meta, 'fingerprint', 'state')
end
redis.call('HSET', meta, 'task_id', ARGV[1], 'fingerprint', ARGV[2], 'spec', ARGV[3], 'files', ARGV[4],
  'state', 'queued', 'created_at', ARGV[5], 'done', 0, 'failed', 0, 'cancelled', 0, 'bytes_done', 0, 'bytes_total', 0, 'priority', ARGV[6])
if ARGV[7] ~= '' then redis.call('HSET', meta, 'callback_url', ARGV[7]) end
if ARGV[8] ~= '' then redis.call('HSET', meta, 'headers', ARGV[8]) end
if ARGV[9] ~= '' then redis.call('HSET', meta, 'mirrors', ARGV[9]) end
if ARGV[10] ~= '' then redis.call('HSET', meta, 'max_bps', ARGV[10]) end
-- A task of the same id that was purged may have left deliveries: not this task's.
redis.call('HDEL', webhook, 'last')
emit('state', cjson.encode({ state = 'queued' }))
return false
`)

/** Pushes 'start' once the task is durably queued. ARGV: reply ttl. */
export const acceptTask = script<0 | 1, [ttl: number]>(`
if redis.call('EXISTS', meta) == 0 then return 0 end
push_start(ARGV[1])
return 1
`)

/**
 * A worker takes the task. ARGV: now, reply ttl.
 * Returns 'running', 'cancel' (cancel was requested), 'missing' or the final state.
 */
export const beginTask = script<BeginResult, [now: string, ttl: number]>(`
local m = redis.call('HMGET', meta, 'state', 'cancel_requested')
if not m[1] then return 'missing' end
if m[1] ~= 'queued' and m[1] ~= 'running' then return m[1] end
push_start(ARGV[2])
if m[2] then return 'cancel' end
if m[1] == 'queued' then
  redis.call('HSET', meta, 'state', 'running', 'started_at', ARGV[1])
  emit('state', cjson.encode({ state = 'running' }))
end
return 'running'
`)

/** ARGV: outcome ('normal', 'cancelled' or 'failed'), reason, now, reply ttl, retention, delivery id. The final state. */
export const finishTask = script<
  FinalTaskState | null,
  [outcome: FinishOutcome, reason: string, now: string, ttl: number, retention: number, deliveryId: string]
>(`
return finish(ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6])
`)

/**
 * DELETE /tasks/:id. ARGV: now, reply ttl, retention, delivery id. A queued task ends at
 * once; a running one is flagged for its worker ('cancelling'); else the state.
 */
export const cancelTask = script<CancelResult, [now: string, ttl: number, retention: number, deliveryId: string]>(`
local state = redis.call('HGET', meta, 'state')
if not state then return 'missing' end
if state == 'queued' then return finish('cancelled', '', ARGV[1], ARGV[2], ARGV[3], ARGV[4]) end
if state == 'running' then
  redis.call('HSET', meta, 'cancel_requested', 1)
  return 'cancelling'
end
return state
`)

/**
 * POST /tasks/:id/retry. ARGV: the job id of the new run. The failed and
 * cancelled files of an ended task become queued again and the task queued,
 * to be run (and reported: start, a message per retried file, end) once more.
 * Returns the number of files retried, or RETRY_NOT_ENDED when the task has
 * not ended, RETRY_MISSING when it does not exist.
 */
export const retryTask = script<number, [jobId: string]>(`
local m = redis.call('HMGET', meta, 'state', 'end_pushed', 'spec')
if not m[1] then return ${RETRY_MISSING} end
if not m[2] then return ${RETRY_NOT_ENDED} end
local spec = cjson.decode(m[3])
local retried = 0
for i = 0, #spec - 1 do
  local idx = tostring(i)
  local state = redis.call('HGET', files, idx .. '.state')
  if state == 'failed' or state == 'cancelled' then
    redis.call('HINCRBY', meta, state, -1)
    -- Its bytes and size leave the counters: the run starts the file afresh.
    local c = redis.call('HMGET', files, idx .. '.bytes', idx .. '.size')
    redis.call('HINCRBY', meta, 'bytes_done', string.format('%d', -tonumber(c[1] or 0)))
    if c[2] then redis.call('HINCRBY', meta, 'bytes_total', string.format('%d', -tonumber(c[2]))) end
    redis.call('HDEL', files, idx .. '.state', idx .. '.bytes', idx .. '.size', idx .. '.http_status', idx .. '.error', idx .. '.attempts',
      idx .. '.retry_at', idx .. '.source')
    retried = retried + 1
  end
end
if retried == 0 then return 0 end
redis.call('HDEL', meta, 'end_pushed', 'start_pushed', 'finished_at', 'cancel_requested', 'live', 'live_at')
redis.call('HSET', meta, 'state', 'queued', 'job_id', ARGV[1])
redis.call('PERSIST', meta)
redis.call('PERSIST', files)
redis.call('PERSIST', events)
emit('state', cjson.encode({ state = 'queued' }))
return retried
`)
