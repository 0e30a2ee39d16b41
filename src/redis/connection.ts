// The one place that opens Redis connections, for every role and every mode:
// a single server (REDIS_URL), Sentinel (REDIS_SENTINELS + REDIS_SENTINEL_MASTER)
// or Cluster (REDIS_CLUSTER_NODES). Credentials, TLS and the database come
// from REDIS_URL in every mode.
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis'
import type { Logger } from '../logger.js'
import { replyCode } from './errors.js'

export { Cluster, Redis }

/** A connection in any mode: BullMQ, the store and the scripts take either. */
export type RedisClient = Redis | Cluster

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379'

/**
 * The API fails fast (a request gets a 503 at once rather than waiting in an
 * offline queue), workers wait for Redis forever (BullMQ requires
 * maxRetriesPerRequest null on its connections).
 */
export type RedisRole = 'api' | 'worker'

export interface RedisTargetConfig {
  REDIS_URL?: string | undefined
  REDIS_SENTINELS: string[]
  REDIS_SENTINEL_MASTER: string
  REDIS_SENTINEL_PASSWORD?: string | undefined
  REDIS_CLUSTER_NODES: string[]
}

export type RedisMode = 'single' | 'sentinel' | 'cluster'

export const redisModeOf = (c: RedisTargetConfig): RedisMode =>
  c.REDIS_CLUSTER_NODES.length > 0 ? 'cluster' : c.REDIS_SENTINELS.length > 0 ? 'sentinel' : 'single'

// Reconnect forever, but never faster than every 2 s.
const retryStrategy = (times: number) => Math.min(100 * 2 ** times, 2000)

/** Opens a connection of the mode the configuration names; `name` tells it apart in CLIENT LIST. */
export function createRedis(config: RedisTargetConfig, role: RedisRole, log: Logger, name: string = role): RedisClient {
  const url = config.REDIS_URL ?? DEFAULT_REDIS_URL
  const options: RedisOptions = {
    ...credentialsOf(url),
    connectionName: `batchdl-${name}`,
    enableOfflineQueue: role === 'worker',
    maxRetriesPerRequest: role === 'worker' ? null : 1,
    connectTimeout: 5000,
    retryStrategy,
    // A primary demoted by a failover refuses writes: reconnect, and resend,
    // to whichever server is the primary now.
    reconnectOnError: (err) => (replyCode(err) === 'READONLY' ? 2 : false),
  }
  const mode = redisModeOf(config)
  let redis: RedisClient
  if (mode === 'cluster') {
    const { enableOfflineQueue, ...nodeOptions } = options
    const clusterOptions: ClusterOptions = {
      redisOptions: nodeOptions,
      enableOfflineQueue,
      clusterRetryStrategy: retryStrategy,
      // A slot moving during a failover is retried on its new owner.
      retryDelayOnFailover: 200,
      retryDelayOnClusterDown: 200,
      slotsRefreshTimeout: 2000,
    }
    redis = new Cluster(config.REDIS_CLUSTER_NODES.map(hostPort), clusterOptions)
  } else if (mode === 'sentinel') {
    redis = new Redis({
      ...options,
      sentinels: config.REDIS_SENTINELS.map(hostPort),
      name: config.REDIS_SENTINEL_MASTER,
      role: 'master',
      ...(config.REDIS_SENTINEL_PASSWORD ? { sentinelPassword: config.REDIS_SENTINEL_PASSWORD } : {}),
      enableTLSForSentinelMode: options.tls !== undefined,
      sentinelRetryStrategy: retryStrategy,
      // Told of a promotion by the Sentinels at once, not at the next error.
      failoverDetector: true,
    })
  } else {
    redis = new Redis(url, options)
  }
  let down = false
  redis.on('error', (err: Error) => {
    if (!down) log.warn({ err: { message: err.message }, role: name, mode }, 'redis connection error')
    down = true
  })
  redis.on('ready', () => {
    if (down) log.info({ role: name, mode }, 'redis connection restored')
    down = false
  })
  return redis
}

/** User, password, database and TLS of a redis:// or rediss:// URL, for the nodes of any mode. */
export function credentialsOf(url: string): Pick<RedisOptions, 'username' | 'password' | 'db' | 'tls'> {
  const u = new URL(url)
  const db = Number(u.pathname.replace(/^\//, '') || 0)
  return {
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(db > 0 ? { db } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
  }
}

function hostPort(node: string): { host: string; port: number } {
  const at = node.lastIndexOf(':')
  return { host: node.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(node.slice(at + 1)) }
}

/** Quits politely when connected, else drops the connection: never hangs on a dead server. */
export async function closeRedis(redis: RedisClient): Promise<void> {
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
  if (redis instanceof Redis && redis.status === 'reconnecting') {
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
export async function settled(redis: RedisClient): Promise<void> {
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
export async function warnIfEvicting(redis: RedisClient, log: Logger): Promise<void> {
  try {
    const [, policy] = (await redis.config('GET', 'maxmemory-policy')) as [string, string]
    if (policy && policy !== 'noeviction') {
      log.warn({ maxmemoryPolicy: policy }, `Redis maxmemory-policy is ${policy}: under memory pressure Redis will drop tasks and messages; set it to noeviction`)
    }
  } catch {
    // CONFIG disabled or Redis away
  }
}
