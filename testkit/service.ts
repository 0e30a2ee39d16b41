import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { after, before } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { Redis, type Cluster } from 'ioredis'
import { buildApp } from '../src/app.js'
import { openBackend } from '../src/backend.js'
import { loadConfig, type Config } from '../src/config.js'
import { createLogger, type Logger } from '../src/logger.js'
import { createMetrics, type Metrics } from '../src/metrics.js'
import { startWorker, type TaskWorker } from '../src/worker/worker.js'
import { startOrigin, type Origin } from './origin.js'

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

export interface InProcessService {
  config: Config
  metrics: Metrics
  app: FastifyInstance
  worker: TaskWorker | null
  close(): Promise<void>
}

/** API (and worker, unless told not to) in this process; requests go through app.inject(). */
export async function startInProcess(env: Record<string, string>, withWorker = true, log?: Logger): Promise<InProcessService> {
  const config = loadConfig(env)
  log ??= createLogger(config.LOG_LEVEL)
  const metrics = createMetrics()
  // As src/roles.ts does for ROLE=all: one backend per role.
  const apiBackend = openBackend(config, 'api', log)
  const app = await buildApp(config, { backend: apiBackend, logger: log, metrics })
  await app.ready()
  const workerBackend = withWorker ? openBackend(config, 'worker', log) : null
  const worker = workerBackend ? await startWorker(config, workerBackend, log, metrics) : null
  return {
    config,
    metrics,
    app,
    worker,
    close: async () => {
      await worker?.close()
      await workerBackend?.close()
      await app.close()
      await apiBackend.close()
    },
  }
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

export interface ChildService {
  child: ChildProcess
  address: string | null
  logs: string[]
  stop(signal?: NodeJS.Signals): Promise<number | null>
}

/**
 * The real program as a child process; resolves once it logged "batchdl
 * started". From the sources through tsx, or, with `built`, as production runs
 * it: dist/src/main.js (run `npm run build` first). `preload`: modules (URLs)
 * imported before the program, after tsx, so they may be TypeScript.
 */
export async function spawnService(
  env: Record<string, string>,
  opts: { built?: boolean; nodeArgs?: string[]; preload?: string[]; startTimeoutMs?: number; onSpawn?: (child: ChildProcess) => void } = {},
): Promise<ChildService> {
  const preload = (opts.preload ?? []).flatMap((url) => ['--import', url])
  if (opts.built && preload.length > 0) throw new Error('preload needs tsx: it is for a service run from the sources')
  const args = [...(opts.nodeArgs ?? []), ...(opts.built ? ['dist/src/main.js'] : ['--import', 'tsx', ...preload, 'src/main.ts'])]
  const child = spawn(process.execPath, args, {
    // The start is read from the log: at least info, whatever the test environment says.
    env: { ...process.env, ...env, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  opts.onSpawn?.(child)
  const logs: string[] = []
  const lines = createInterface({ input: child.stdout! })
  child.stderr!.on('data', (d: Buffer) => logs.push(d.toString()))
  let timer: NodeJS.Timeout | undefined
  const started = new Promise<string | null>((resolve, reject) => {
    const ms = opts.startTimeoutMs ?? 20_000
    timer = setTimeout(() => {
      // Not left running: a child that starts late would keep the test file from ever exiting.
      child.kill('SIGKILL')
      reject(new Error(`service did not start in ${ms} ms: ${logs.join('\n')}`))
    }, ms)
    lines.on('line', (line) => {
      logs.push(line)
      // Parsed only when it may be the one: a loaded API logs thousands of lines a second.
      if (!line.includes('batchdl started')) return
      try {
        const entry = JSON.parse(line) as { msg?: string; address?: string | null }
        if (entry.msg === 'batchdl started') resolve(entry.address ?? null)
      } catch {
        // not a log line
      }
    })
    child.once('exit', (code) => reject(new Error(`service exited (${code}) before starting: ${logs.join('\n')}`)))
  })
  // One that did not start is not left running behind the test.
  const address = await started.catch((err: unknown) => {
    child.kill('SIGKILL')
    throw err
  }).finally(() => clearTimeout(timer))
  return {
    child,
    address,
    logs,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode
      const exit = once(child, 'exit')
      child.kill(signal)
      const [code] = (await exit) as [number | null]
      return code
    },
  }
}

export type Role = 'api' | 'worker' | 'all'

export interface ServiceOptions {
  /**
   * What runs in this process: API and worker ('all', the default), the API
   * alone, or nothing (the tests start processes with spawn()).
   */
  inProcess?: 'all' | 'api' | false
  /** the in-process API also listens on loopback, at `base` */
  listen?: boolean
  /** the logger of the in-process service (to read what it logs) */
  log?: Logger
}

/** What withService gives a suite; every field is set once the suite's `before` hooks ran. */
export interface ServiceFixture {
  /** the suite's environment: its own queue prefix, reply prefix and download folder */
  env: Record<string, string>
  origin: Origin
  /** the service in this process (not with `inProcess: false`) */
  svc: InProcessService
  /** the in-process API's address, with `listen` */
  base: string
  /** The real program as a child process with the suite's environment (and `extra`); killed after the suite. */
  spawn(role: Role, extra?: Record<string, string>, opts?: Parameters<typeof spawnService>[1]): Promise<ChildService>
}

/** A service started by startService: what withService gives, and how to stop it all. */
export interface StartedService extends ServiceFixture {
  /** Kills every spawned process, closes the service and the origin, removes every key and the download folder. */
  close(): Promise<void>
}

/** A test origin, an environment of its own and the service; for scripts, or a test that needs one of its own. */
export async function startService(name: string, overrides: Record<string, string> = {}, opts: ServiceOptions = {}): Promise<StartedService> {
  const children: ChildService[] = []
  const inProcess = opts.inProcess ?? 'all'
  const started = {} as StartedService
  const origin = await startOrigin()
  const env = await testEnv(name, overrides)
  const svc = inProcess ? await startInProcess(env, inProcess === 'all', opts.log) : (undefined as unknown as InProcessService)
  const base = svc && opts.listen ? await svc.app.listen({ port: 0, host: '127.0.0.1' }) : ''
  return Object.assign(started, {
    origin,
    env,
    svc,
    base,
    async spawn(role: Role, extra: Record<string, string> = {}, spawnOpts: Parameters<typeof spawnService>[1] = {}) {
      const child = await spawnService({ PORT: '0', ...env, ROLE: role, ...extra }, spawnOpts)
      children.push(child)
      return child
    },
    async close() {
      for (const child of children) await child.stop('SIGKILL')
      await svc?.close()
      await origin.close()
      await cleanEnv(env)
    },
  })
}

/**
 * The service for the tests of one suite (startService), started before them
 * and, after them, every process killed, every key removed, the download
 * folder deleted. Call it in a describe body; the fields are set once the
 * suite's `before` hooks ran.
 */
export function withService(name: string, overrides: Record<string, string> = {}, opts: ServiceOptions = {}): ServiceFixture {
  const fixture = {} as ServiceFixture
  let started: StartedService | null = null
  before(async () => {
    started = await startService(name, overrides, opts)
    Object.assign(fixture, started)
  })
  after(async () => {
    await started?.close()
  })
  return fixture
}
