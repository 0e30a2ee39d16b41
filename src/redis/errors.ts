// Which Redis failures mean "Redis is away" (a request answers 503 and is
// retried), told by codes: a socket error's errno code, an error reply's code
// word. ioredis's own errors carry neither, only a name or a fixed message.

/** A socket that failed or never opened. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN'])

/** Replies of a server that cannot serve now: a cluster without quorum, a slot moving, a demoted primary, a load. */
const UNAVAILABLE_REPLIES = new Set(['CLUSTERDOWN', 'TRYAGAIN', 'READONLY', 'MASTERDOWN', 'LOADING'])

/** ioredis gives up on a command: too many retries, or no node of a Cluster answers. */
const UNAVAILABLE_NAMES = new Set(['MaxRetriesPerRequestError', 'ClusterAllFailedError'])

/** ioredis's rejections of a command sent while the connection is down, its fixed messages (they carry no code). */
const OFFLINE_MESSAGES = ['Connection is closed.', "Stream isn't writeable", "Cluster isn't ready"]

/** An error reply's code: the word Redis puts first ("-READONLY You can't write against a read only replica"). */
export function replyCode(err: unknown): string | null {
  if (!(err instanceof Error) || err.name !== 'ReplyError') return null
  return /^[A-Z]+/.exec(err.message)?.[0] ?? null
}

/** Whether a command failed because Redis is unreachable or cannot serve now, rather than for what it asked. */
export function isRedisUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false
  const code = (err as NodeJS.ErrnoException).code
  if (code !== undefined && NETWORK_CODES.has(code)) return true
  if (UNAVAILABLE_NAMES.has(err.name)) return true
  const reply = replyCode(err)
  if (reply !== null) return UNAVAILABLE_REPLIES.has(reply)
  return OFFLINE_MESSAGES.some((m) => err.message.startsWith(m))
}
