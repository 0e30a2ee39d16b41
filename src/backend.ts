// What the parts of one process share, built once per role and passed in: the
// role's command connection, the BullMQ queue and the task store on it, and
// the connections that block (event reader, cancel subscriber, legacy intake),
// all opened by the one factory whatever the Redis mode.
import type { Queue } from 'bullmq'
import type { Config } from './config.js'
import type { Logger } from './logger.js'
import { closeRedis, createRedis, type RedisClient, type RedisRole } from './redis/connection.js'
import type { ReplicaAcks } from './redis/script.js'
import { createTaskQueue, type TaskJob } from './tasks/queue.js'
import { createTaskStore, type TaskStore } from './tasks/store.js'

export interface Backend {
  role: RedisRole
  redis: RedisClient
  queue: Queue<TaskJob>
  store: TaskStore
  /** REDIS_REPLICA_ACKS, or null when no replica is waited for */
  acks: ReplicaAcks | null
  /** A connection of this role for one blocking or subscribed reader; closed with the backend. */
  connect(name: string): RedisClient
  close(): Promise<void>
}

export function openBackend(config: Config, role: RedisRole, log: Logger): Backend {
  const redis = createRedis(config, role, log)
  const queue = createTaskQueue(redis, config.QUEUE_PREFIX)
  queue.on('error', (err) => log.warn({ err: { message: err.message }, role }, 'queue error'))
  const acks = config.REDIS_REPLICA_ACKS > 0 ? { replicas: config.REDIS_REPLICA_ACKS, timeoutMs: config.REDIS_REPLICA_ACK_TIMEOUT_MS } : null
  const store = createTaskStore(redis, config, acks)
  const extra: RedisClient[] = []
  return {
    role,
    redis,
    queue,
    store,
    acks,
    connect(name) {
      const connection = createRedis(config, role, log, `${role}-${name}`)
      extra.push(connection)
      return connection
    },
    async close() {
      for (const c of extra) await closeRedis(c)
      // BullMQ reports a connection that never came up through the queue's
      // 'error' event, and throws it unhandled once the queue is closed: end the
      // connection and let the queue see it before closing the queue.
      await closeRedis(redis)
      await queue.waitUntilReady().catch(() => {})
      await queue.close()
    },
  }
}
