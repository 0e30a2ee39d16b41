// The Lua steps a running task's files take: their progress, and their ends.
// Written with the same prelude as the task's other steps (scripts.ts).
import { script } from './scripts.js'

/**
 * Progress of a running task, written every 250 ms at most rather than per
 * file or chunk (src/worker/progress.ts). ARGV: the progress event's JSON ('':
 * none), the live totals' JSON (meta "live", what GET answers speed and eta_s
 * from), now (ms), the number N of file events, N pairs (index, file event
 * JSON: a file began waiting for a retry), then 8 fields per file being
 * downloaded or waiting: index, state (downloading or retrying), bytes,
 * attempts, size, retry_at, error, http_status ('' for none). A file that
 * ended meanwhile is left alone. 0 when the task has ended.
 */
export const progress = script<0 | 1>(`
if redis.call('HEXISTS', meta, 'end_pushed') == 1 then return 0 end
local n = tonumber(ARGV[4])
for i = 5, 4 + 2 * n, 2 do
  if not terminal(redis.call('HGET', files, ARGV[i] .. '.state')) then emit('file', ARGV[i + 1]) end
end
for i = 5 + 2 * n, #ARGV, 8 do
  local idx, state = ARGV[i], ARGV[i + 1]
  local was = redis.call('HGET', files, idx .. '.state')
  if not terminal(was) then
    if was == 'retrying' then clear_retry(idx) end
    local f = { idx .. '.state', state, idx .. '.bytes', ARGV[i + 2], idx .. '.attempts', ARGV[i + 3] }
    local optional = { 'size', 'retry_at', 'error', 'http_status' }
    for k, name in ipairs(optional) do
      local v = ARGV[i + 3 + k]
      if v ~= '' then f[#f + 1] = idx .. '.' .. name; f[#f + 1] = v end
    end
    redis.call('HSET', files, unpack(f))
  end
end
redis.call('HSET', meta, 'live', ARGV[2], 'live_at', ARGV[3])
if ARGV[1] ~= '' then emit('progress', ARGV[1]) end
return 1
`)

/**
 * Files end: several in one step, in the order given. ARGV: reply ttl, then
 * per file: index, state, bytes, size, http_status, error, attempts, fn,
 * event JSON, source (which of its URLs served it). Empty strings stand for null. One 1 or 0 per file: 0 when it
 * had already ended.
 */
export const finishFiles = script<(0 | 1)[]>(`
local ttl = ARGV[1]
local ended = redis.call('HEXISTS', meta, 'end_pushed') == 1
local recorded, messages = {}, {}
local ends = { done = 0, failed = 0, cancelled = 0 }
local bytes_done, bytes_total = 0, 0
for i = 2, #ARGV, 10 do
  local idx, state, bytes = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local was = redis.call('HGET', files, idx .. '.state')
  if ended or terminal(was) then
    recorded[#recorded + 1] = 0
  else
    -- The optional fields are absent but for the size (only a file's end or
    -- its wait for a retry writes them, and both delete them after): one
    -- HSET, of those with a value.
    if was == 'retrying' then clear_retry(idx) end
    local fields = { idx .. '.state', state, idx .. '.bytes', bytes, idx .. '.attempts', ARGV[i + 6] }
    if ARGV[i + 3] ~= '' then fields[#fields + 1] = idx .. '.size'; fields[#fields + 1] = ARGV[i + 3] end
    if ARGV[i + 4] ~= '' then fields[#fields + 1] = idx .. '.http_status'; fields[#fields + 1] = ARGV[i + 4] end
    if ARGV[i + 5] ~= '' then fields[#fields + 1] = idx .. '.error'; fields[#fields + 1] = ARGV[i + 5] end
    if ARGV[i + 9] ~= '' then fields[#fields + 1] = idx .. '.source'; fields[#fields + 1] = ARGV[i + 9] end
    redis.call('HSET', files, unpack(fields))
    ends[state] = ends[state] + 1
    bytes_done = bytes_done + tonumber(bytes)
    local size = ARGV[i + 3]
    if size == '' then size = redis.call('HGET', files, idx .. '.size') end
    if size then bytes_total = bytes_total + tonumber(size) end
    messages[#messages + 1] = ARGV[i + 7]
    emit('file', ARGV[i + 8])
    recorded[#recorded + 1] = 1
  end
end
for state, n in pairs(ends) do
  if n > 0 then redis.call('HINCRBY', meta, state, n) end
end
if bytes_done > 0 then redis.call('HINCRBY', meta, 'bytes_done', string.format('%d', bytes_done)) end
if bytes_total > 0 then redis.call('HINCRBY', meta, 'bytes_total', string.format('%d', bytes_total)) end
-- One LPUSH of many values pushes them in turn: a reader sees them in this order.
if #messages > 0 then
  redis.call('LPUSH', reply, unpack(messages))
  redis.call('EXPIRE', reply, ttl)
end
return recorded
`)
