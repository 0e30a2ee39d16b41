export interface KeyConfig {
  QUEUE_PREFIX: string
  LEGACY_REPLY_PREFIX: string
}

export interface TaskKeys {
  /** hash: the task's state, counters and file list */
  meta: string
  /** hash: per-file state, fields "<index>.<name>" */
  files: string
  /** stream: the task's event log (state, file, progress, end) */
  events: string
  /** list: the legacy reply list PHP reads */
  reply: string
  /** hash: the task's webhook deliveries; outlives a purge, so that a pending one is still made */
  webhook: string
}

/**
 * Our keys carry the reply list's name as their hash tag, so that all five
 * land in one Redis Cluster slot and each Lua step can touch them together.
 */
export function taskKeys(config: KeyConfig, taskId: string): TaskKeys {
  const reply = `${config.LEGACY_REPLY_PREFIX}_${taskId}`
  const base = `${config.QUEUE_PREFIX}:{${reply}}`
  return { meta: `${base}:meta`, files: `${base}:files`, events: `${base}:events`, reply, webhook: `${base}:webhook` }
}

export const keyList = (k: TaskKeys): string[] => [k.meta, k.files, k.events, k.reply, k.webhook]

/** The channel workers listen on for cancel requests. */
export const cancelChannel = (config: KeyConfig) => `${config.QUEUE_PREFIX}:cancel`

/** Sorted set of finished tasks by end time (ms): what the retention sweeper works from. */
export const finishedIndex = (config: KeyConfig) => `${config.QUEUE_PREFIX}:finished`

/**
 * What Redis Cluster hashes a key by: the text between its first `{` and the
 * next `}` when not empty, else the whole key. A key named `{tag}...` lands
 * in the same slot as `key`.
 */
export function hashTagOf(key: string): string {
  const open = key.indexOf('{')
  if (open >= 0) {
    const close = key.indexOf('}', open + 1)
    if (close > open + 1) return key.slice(open + 1, close)
  }
  return key
}

/** Sorted set of webhook deliveries to make, "<task_id>/<delivery_id>" by when (ms) each is due. */
export const webhookIndex = (config: KeyConfig) => `${config.QUEUE_PREFIX}:webhooks`
