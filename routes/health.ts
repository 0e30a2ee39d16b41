import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { RedisClient } from '../src/redis/connection.js'

export interface HealthRoutesOptions {
  redis: RedisClient
}

const Health = Type.Object({ status: Type.Enum(['ok', 'unavailable']) })
const READY_TIMEOUT_MS = 1000

const healthRoutes: FastifyPluginAsyncTypebox<HealthRoutesOptions> = async (app, { redis }) => {
  app.get(
    '/health/live',
    { schema: { tags: ['operations'], summary: 'The process answers', response: { 200: Health } } },
    async () => ({ status: 'ok' as const }),
  )

  app.get(
    '/health/ready',
    { schema: { tags: ['operations'], summary: 'Redis answers: the API can take tasks', response: { 200: Health, 503: Health } } },
    async (_req, reply) => {
      const ok = redis.status === 'ready' && (await pingWithin(redis, READY_TIMEOUT_MS))
      return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'unavailable' })
    },
  )
}

async function pingWithin(redis: RedisClient, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms)
  })
  try {
    return await Promise.race([redis.ping().then(() => true, () => false), timeout])
  } finally {
    clearTimeout(timer)
  }
}

export default healthRoutes
