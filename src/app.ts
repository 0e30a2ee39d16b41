import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import cors from '@fastify/cors'
import rateLimit from '@fastify/rate-limit'
import archiveRoutes from '../routes/archive.js'
import eventRoutes from '../routes/events.js'
import healthRoutes from '../routes/health.js'
import metricsRoutes from '../routes/metrics.js'
import openapiRoutes from '../routes/openapi.js'
import taskRoutes from '../routes/tasks.js'
import uiRoutes from '../routes/ui.js'
import type { Backend } from './backend.js'
import type { Config } from './config.js'
import { EventHub } from './events/hub.js'
import { tokenSignerFor } from './http/token.js'
import { RateLimitedError } from './errors.js'
import { errorHandler } from './http/error-handler.js'
import { createLogger, type Logger } from './logger.js'
import { createMetrics, type Metrics } from './metrics.js'
import { RequestLog } from './http/request-log.js'
import { settled, warnIfEvicting } from './redis/connection.js'
import { downloadDirProblem } from './tasks/paths.js'
import { taskServiceFor } from './api/task-service.js'

export const API_VERSION = '1.0.0'

export interface AppOptions {
  /** the API role's Redis connection, queue and store; the caller closes it after the app */
  backend: Backend
  logger?: Logger
  /** this process's registry, shared with its worker in ROLE=all */
  metrics?: Metrics
}

/** The HTTP API as one Fastify instance, on the API role's backend. */
export async function buildApp(config: Config, opts: AppOptions): Promise<FastifyInstance> {
  const logger = opts.logger ?? createLogger(config.LOG_LEVEL)
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    logController: new RequestLog(),
    bodyLimit: config.MAX_BODY_BYTES,
    // Every problem of a request, each with the schema it broke (for its rule in words).
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: true, verbose: true, keywords: ['x-hint'] } },
  }).withTypeProvider<TypeBoxTypeProvider>()

  const { backend } = opts
  const { redis, queue } = backend
  const tokens = tokenSignerFor(config)
  const tasks = taskServiceFor(config, backend, tokens, logger)
  // Event streams are read by one blocking connection of their own.
  const hub = new EventHub(redis, backend.connect('events'), logger, config.SSE_HEARTBEAT_MS, (id) => backend.store.keys(id).events)
  app.addHook('onReady', async () => {
    await settled(redis)
    await warnIfEvicting(redis, logger)
  })
  // Before the server's close, which waits for every open event stream to end.
  app.addHook('preClose', () => hub.close())

  app.decorateRequest('apiKeyId', null)
  app.setErrorHandler(errorHandler)
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send({ error: 'not_found', message: `no route ${req.method} ${req.url.split('?')[0]}` })
  })

  await app.register(cors, {
    origin: config.CORS_ORIGINS.length > 0 ? config.CORS_ORIGINS : false,
    methods: ['GET', 'POST', 'DELETE'],
    allowedHeaders: ['authorization', 'content-type', 'last-event-id'],
    exposedHeaders: ['location'],
  })
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'batchdl',
        version: API_VERSION,
        description: 'Downloads batches of files into DOWNLOAD_DIR/<task_id>/, with progress over REST and the legacy Redis reply list.',
      },
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer' } } },
      security: [{ apiKey: [] }],
      tags: [
        { name: 'tasks', description: 'batch downloads' },
        { name: 'operations', description: 'health and documentation' },
      ],
    },
  })
  await app.register(swaggerUi, { routePrefix: '/docs' })
  await app.register(openapiRoutes)
  await app.register(uiRoutes)
  await app.register(healthRoutes, { redis, diskProblem: () => downloadDirProblem(config.DOWNLOAD_DIR) })
  await app.register(metricsRoutes, {
    metrics: opts.metrics ?? createMetrics(),
    queue,
    redis,
    apiKeys: config.API_KEYS,
    isPublic: config.METRICS_PUBLIC,
  })
  await app.register(rateLimit, {
    global: false,
    redis,
    nameSpace: `${config.QUEUE_PREFIX}:ratelimit:`,
    // A limiter that cannot reach Redis lets the request through to its 503.
    skipOnError: true,
    errorResponseBuilder: (_req, ctx) => new RateLimitedError(`at most ${ctx.max} submits per minute; retry in ${ctx.after}`),
  })
  await app.register(taskRoutes, { tasks, apiKeys: config.API_KEYS, submitsPerMinute: config.SUBMIT_RATE_LIMIT_PER_MINUTE })
  await app.register(eventRoutes, { tasks, hub, tokens, apiKeys: config.API_KEYS })
  await app.register(archiveRoutes, { tasks, tokens, apiKeys: config.API_KEYS })
  return app
}
