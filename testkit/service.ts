// The service for a test suite: in this process, as child processes, or both;
// with a test origin and an environment of its own (env.ts, spawn.ts).
import { after, before } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../src/app.js'
import { openBackend } from '../src/backend.js'
import { loadConfig, type Config } from '../src/config.js'
import { createLogger, type Logger } from '../src/logger.js'
import { createMetrics, type Metrics } from '../src/metrics.js'
import { startWorker, type TaskWorker } from '../src/worker/worker.js'
import { cleanEnv, testEnv } from './env.js'
import { startOrigin, type Origin } from './origin.js'
import { spawnService, type ChildService } from './spawn.js'

export { cleanEnv, notInFastRun, readReplies, REDIS_URL, testEnv, waitFor } from './env.js'
export { spawnService, type ChildService } from './spawn.js'

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
  let worker: TaskWorker | null = null
  // In reverse of the start; also after a start that failed part-way, so that nothing stays open behind the test.
  const close = async () => {
    await worker?.close()
    await workerBackend?.close()
    // A client that keeps its connection (a browser between requests) must not hold a suite's end.
    const closing = app.close()
    app.server.closeAllConnections()
    await closing
    await apiBackend.close()
  }
  try {
    worker = workerBackend ? await startWorker(config, workerBackend, log, metrics) : null
  } catch (err) {
    await close()
    throw err
  }
  return { config, metrics, app, worker, close }
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
  /**
   * What the suite needs of its own before the service starts (a Redis
   * topology, a small tmpfs, a folder no one can write): its `env` joins the
   * overrides, and its `stop` runs once every process and the service have
   * stopped, before the keys and the download folder are removed.
   */
  setup?: () => Promise<SuiteSetup>
}

export interface SuiteSetup {
  env?: Record<string, string>
  stop?(): Promise<void>
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
  /** Kills every spawned process, closes the service and the origin, stops the setup, removes every key and the download folder. */
  close(): Promise<void>
}

/** A test origin, an environment of its own and the service; for scripts, or a test that needs one of its own. */
export async function startService(name: string, overrides: Record<string, string> = {}, opts: ServiceOptions = {}): Promise<StartedService> {
  const children: ChildService[] = []
  const inProcess = opts.inProcess ?? 'all'
  const parts: { setup?: SuiteSetup; origin?: Origin; env?: Record<string, string>; svc?: InProcessService } = {}
  // Stops what started, in reverse; also when the start failed part-way.
  const close = async () => {
    for (const child of children) await child.stop('SIGKILL')
    await parts.svc?.close()
    await parts.origin?.close()
    await parts.setup?.stop?.()
    // With a Redis of the suite's own, this finds nothing on the shared one; the folder is still removed.
    if (parts.env) await cleanEnv(parts.env)
  }
  try {
    parts.setup = opts.setup ? await opts.setup() : {}
    const origin = (parts.origin = await startOrigin())
    const env = (parts.env = await testEnv(name, { ...overrides, ...parts.setup.env }))
    const svc = inProcess ? (parts.svc = await startInProcess(env, inProcess === 'all', opts.log)) : (undefined as unknown as InProcessService)
    const base = svc && opts.listen ? await svc.app.listen({ port: 0, host: '127.0.0.1' }) : ''
    return {
      origin,
      env,
      svc,
      base,
      async spawn(role: Role, extra: Record<string, string> = {}, spawnOpts: Parameters<typeof spawnService>[1] = {}) {
        const child = await spawnService({ PORT: '0', ...env, ROLE: role, ...extra }, spawnOpts)
        children.push(child)
        return child
      },
      close,
    }
  } catch (err) {
    await close().catch(() => {})
    throw err
  }
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
