import { createHash } from 'node:crypto'
import type { RedisClient } from './connection.js'
import { replyCode } from './errors.js'

/**
 * REDIS_REPLICA_ACKS: the replicas that must have a write before the caller
 * acts on it, and how long one WAIT may last.
 */
export interface ReplicaAcks {
  replicas: number
  timeoutMs: number
}

/** Fewer replicas than required confirmed a write in time: the step is not acknowledged and is retried. */
export class ReplicaAckError extends Error {
  readonly code = 'replica_ack_timeout'
  constructor(acks: ReplicaAcks, got: number) {
    super(`${got} of ${acks.replicas} replicas confirmed the write within ${acks.timeoutMs} ms`)
    this.name = 'ReplicaAckError'
  }
}

type Pipeline = ReturnType<RedisClient['pipeline']>

/**
 * Sends `queue`'s commands and then WAIT in one pipeline. A pipeline goes to
 * the node of its keys (in a Cluster too) over one connection, and WAIT
 * waits for every write that connection made before it.
 */
async function execAcked(redis: RedisClient, queue: (p: Pipeline) => Pipeline, acks: ReplicaAcks): Promise<unknown> {
  const res = await queue(redis.pipeline()).wait(acks.replicas, acks.timeoutMs).exec()
  if (!res) throw new Error('pipeline aborted')
  const [[err, value], [waitErr, got]] = res as [[Error | null, unknown], [Error | null, number]]
  if (err) throw err
  if (waitErr) throw waitErr
  if (got < acks.replicas) throw new ReplicaAckError(acks, got)
  return value
}

/** Waits until the replicas have what this connection wrote on `key`'s node; no-op when none are required. */
export async function replicated(redis: RedisClient, key: string, acks: ReplicaAcks | null): Promise<void> {
  if (!acks || acks.replicas === 0) return
  await execAcked(redis, (p) => p.exists(key), acks)
}

/** What a script's ARGV may hold: Redis takes every argument as a string. */
export type ScriptArg = string | number

/**
 * A Lua script run by EVALSHA, loaded with EVAL the first time a server lacks
 * it. `Args` is its ARGV and `Result` what it returns as ioredis reads it
 * (Lua false is null), both as the script's comment states them: its callers
 * then need no casts.
 */
export class LuaScript<Result = unknown, Args extends readonly ScriptArg[] = ScriptArg[]> {
  private readonly sha: string

  constructor(
    private readonly lua: string,
    private readonly numberOfKeys: number,
  ) {
    this.sha = createHash('sha1').update(lua).digest('hex')
  }

  /** Runs the script; with `acks`, resolves only once that many replicas have its writes. */
  async run(redis: RedisClient, keys: readonly string[], args: Args, acks: ReplicaAcks | null = null): Promise<Result> {
    return (await this.send(redis, keys, args, acks)) as Result
  }

  private async send(redis: RedisClient, keys: readonly string[], args: Args, acks: ReplicaAcks | null): Promise<unknown> {
    if (keys.length !== this.numberOfKeys) throw new Error(`script takes ${this.numberOfKeys} keys`)
    const n = keys.length
    const acked = acks !== null && acks.replicas > 0
    try {
      if (acked) return await execAcked(redis, (p) => p.evalsha(this.sha, n, ...keys, ...args), acks)
      return await redis.evalsha(this.sha, n, ...keys, ...args)
    } catch (err) {
      if (replyCode(err) !== 'NOSCRIPT') throw err
      if (acked) return execAcked(redis, (p) => p.eval(this.lua, n, ...keys, ...args), acks)
      return redis.eval(this.lua, n, ...keys, ...args)
    }
  }
}
