import { Redis } from 'ioredis'
import type { Logger } from '../logger.js'

export type { Redis }

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379'

/**
 * The API fails fast (a request gets a 503 at once rather than waiting in an
 * offline queue), workers wait for Redis forever (BullMQ requires
 * maxRetriesPerRequest null on its connections).
 */
export type RedisRole = 'api' | 'worker'

export function createRedis(url: string, role: RedisRole, log: Logger): Redis {
  const redis = new Redis(url, {
    connectionName: `batchdl-${role}`,
    enableOfflineQueue: role === 'worker',
    maxRetriesPerRequest: role === 'worker' ? null : 1,
    connectTimeout: 5000,
    // Reconnect forever, but never faster than every 2 s.
    retryStrategy: (times) => Math.min(100 * 2 ** times, 2000),
  })
  let down = false
  redis.on('error', (err: Error) => {
    if (!down) log.warn({ err: { message: err.message }, role }, 'redis connection error')
    down = true
  })
  redis.on('ready', () => {
    if (down) log.info({ role }, 'redis connection restored')
    down = false
  })
  return redis
}

/** Quits politely when connected, else drops the connection: never hangs on a dead server. */
export async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status === 'end') return
  if (redis.status === 'ready') {
    try {
      await redis.quit()
      return
    } catch {
      // fall through
    }
  }
  redis.disconnect()
  if (redis.status === 'reconnecting') {
    // Between two attempts there is no socket whose close would end the
    // connection, and disconnect() has just cancelled the next attempt: the
    // status would stay 'reconnecting' and 'end' never come (ioredis#1247),
    // leaving whoever waits on it (BullMQ) waiting forever. End it ourselves.
    redis.status = 'end'
    redis.emit('end')
  }
}

/**
 * Resolves once the connection is ready or has failed its first attempt, so
 * that a process starting next to a live Redis takes requests at once, and
 * one starting while Redis is away still starts (and answers 503).
 */
export async function settled(redis: Redis): Promise<void> {
  if (redis.status === 'ready') return
  await new Promise<void>((resolve) => {
    const done = () => {
      redis.off('ready', done)
      redis.off('error', done)
      resolve()
    }
    redis.once('ready', done)
    redis.once('error', done)
  })
}

/**
 * A queue whose keys can be evicted loses tasks: say so loudly at start.
 * (Managed Redis may refuse CONFIG: then nothing can be told.)
 */
export async function warnIfEvicting(redis: Redis, log: Logger): Promise<void> {
  try {
    const [, policy] = (await redis.config('GET', 'maxmemory-policy')) as [string, string]
    if (policy && policy !== 'noeviction') {
      log.warn({ maxmemoryPolicy: policy }, `Redis maxmemory-policy is ${policy}: under memory pressure Redis will drop tasks and messages; set it to noeviction`)
    }
  } catch {
    // CONFIG disabled or Redis away
  }
}
