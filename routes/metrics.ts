import type { Queue } from 'bullmq'
import type { FastifyPluginAsync } from 'fastify'
import { metricsAccessHook } from '../src/http/auth.js'
import type { Metrics } from '../src/metrics.js'
import type { TaskJob } from '../src/tasks/queue.js'
import type { RedisClient } from '../src/redis/connection.js'

export interface MetricsRoutesOptions {
  metrics: Metrics
  queue: Queue<TaskJob>
  redis: RedisClient
  apiKeys: readonly string[]
  /** METRICS_PUBLIC: no key needed */
  isPublic: boolean
}

const QUEUE_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'failed'] as const

/** Prometheus text format; the queue's depth is read from BullMQ at each scrape. */
const metricsRoutes: FastifyPluginAsync<MetricsRoutesOptions> = async (app, { metrics, queue, redis, apiKeys, isPublic }) => {
  const schema = {
    tags: ['operations'],
    summary: 'Prometheus metrics',
    description: 'Needs an API key when API_KEYS is set, unless METRICS_PUBLIC=true.',
  }
  app.get('/metrics', { schema, onRequest: metricsAccessHook(apiKeys, isPublic) }, async (_req, reply) => {
    // While Redis is away the process's own figures are still served, at once.
    if (redis.status === 'ready') {
      const counts = await queue.getJobCounts(...QUEUE_STATES)
      for (const state of QUEUE_STATES) metrics.queueJobs.set({ state }, counts[state] ?? 0)
    }
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics())
  })
}

export default metricsRoutes
