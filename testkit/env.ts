// A test file's own environment on the shared Redis, its removal, and the
// waits tests use: on a condition, with a deadline.
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis, type Cluster } from 'ioredis'

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'

/**
 * `npm run test:fast` (TEST_FAST=1) leaves out suites that start the program
 * as processes, or run long: give it as their describe's `skip`. `npm test` runs every one.
 */
export const notInFastRun: string | false = process.env.TEST_FAST === '1' ? 'not in test:fast: starts processes or runs long' : false

/**
 * The environment of one test file: its own queue prefix, reply prefix and
 * download folder (a new one, unless the overrides name one).
 */
export async function testEnv(name: string, overrides: Record<string, string> = {}): Promise<Record<string, string>> {
  const id = `${name}-${process.pid}-${randomBytes(3).toString('hex')}`
  return {
    REDIS_URL,
    QUEUE_PREFIX: `t-${id}`,
    LEGACY_REPLY_PREFIX: `t-${id}-resp`,
    // Made only when used: cleanEnv removes the folder the environment names, and no other.
    DOWNLOAD_DIR: overrides.DOWNLOAD_DIR ?? (await mkdtemp(join(tmpdir(), `batchdl-${name}-`))),
    LOG_LEVEL: 'silent',
    RETRY_BASE_DELAY_MS: '20',
    RETRY_MAX_DELAY_MS: '200',
    DOWNLOAD_IDLE_TIMEOUT_MS: '1000',
    SHUTDOWN_GRACE_MS: '0',
    // No fixed port: test files run side by side, and a worker on 9464 makes the next one fail to start.
    METRICS_PORT: '0',
    // The test origin is on loopback, which downloads may not reach by default.
    DOWNLOAD_ALLOWED_CIDRS: '127.0.0.0/8',
    ...overrides,
  }
}

/** Removes everything a test environment left in Redis and on disk. */
export async function cleanEnv(env: Record<string, string>): Promise<void> {
  const redis = new Redis(REDIS_URL)
  try {
    for (const pattern of [`${env.QUEUE_PREFIX}*`, `{${env.QUEUE_PREFIX}}*`, `${env.LEGACY_REPLY_PREFIX}*`]) {
      let cursor = '0'
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000)
        if (keys.length) await redis.del(...keys)
        cursor = next
      } while (cursor !== '0')
    }
  } finally {
    redis.disconnect()
  }
  await rm(env.DOWNLOAD_DIR!, { recursive: true, force: true })
}

/**
 * Reads a reply list the way the PHP backend does (BRPOP, oldest first) until
 * `end`, on a connection of its own. Throws when `end` does not come in time.
 */
export async function readReplies(key: string, timeoutMs = 20_000, redisUrl: string | (() => Redis | Cluster) = REDIS_URL): Promise<string[]> {
  const redis = typeof redisUrl === 'string' ? new Redis(redisUrl) : redisUrl()
  const messages: string[] = []
  const deadline = Date.now() + timeoutMs
  try {
    while (messages.at(-1) !== 'end') {
      const left = (deadline - Date.now()) / 1000
      if (left <= 0) throw new Error(`no "end" on ${key} within ${timeoutMs} ms; got ${JSON.stringify(messages)}`)
      const res = await redis.brpop(key, Math.max(0.1, left))
      if (res) messages.push(res[1])
    }
    return messages
  } finally {
    redis.disconnect()
  }
}

/** Polls until `check` returns a value other than undefined. */
export async function waitFor<T>(check: () => Promise<T | undefined>, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}
