import { createHash } from 'node:crypto'
import type { ChainableCommander, Redis } from 'ioredis'

/** A Lua script run by EVALSHA, loaded with EVAL the first time a server lacks it. */
export class LuaScript {
  private readonly sha: string

  constructor(
    private readonly lua: string,
    private readonly numberOfKeys: number,
  ) {
    this.sha = createHash('sha1').update(lua).digest('hex')
  }

  async run(redis: Redis, keys: string[], args: (string | number)[]): Promise<unknown> {
    if (keys.length !== this.numberOfKeys) throw new Error(`script takes ${this.numberOfKeys} keys`)
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args)
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err
      return redis.eval(this.lua, keys.length, ...keys, ...args)
    }
  }

  /** Queues the script in a pipeline; EVAL, since a pipeline cannot fall back. */
  queue(pipeline: ChainableCommander, keys: string[], args: (string | number)[]): ChainableCommander {
    return pipeline.eval(this.lua, keys.length, ...keys, ...args)
  }
}
