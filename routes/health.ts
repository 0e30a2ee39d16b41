import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { RedisClient } from '../src/redis/connection.js'

export interface HealthRoutesOptions {
  redis: RedisClient
  /** why this process cannot write its files, or null (see downloadDirProblem) */
  diskProblem: () => Promise<string | null>
}

const Health = Type.Object({
  status: Type.Enum(['ok', 'unavailable']),
  reason: Type.Optional(Type.String({ description: 'what is not ready' })),
})
const READY_TIMEOUT_MS = 1000

const healthRoutes: FastifyPluginAsyncTypebox<HealthRoutesOptions> = async (app, { redis, diskProblem }) => {
  app.get(
    '/health/live',
    { schema: { tags: ['operations'], summary: 'The process answers', response: { 200: Health } } },
    async () => ({ status: 'ok' as const }),
  )

  app.get(
    '/health/ready',
    {
      schema: {
        tags: ['operations'],
        summary: 'Redis answers and DOWNLOAD_DIR can be written: tasks can be taken',
        response: { 200: Health, 503: Health },
      },
    },
    async (_req, reply) => {
      const redisOk = redis.status === 'ready' && (await pingWithin(redis, READY_TIMEOUT_MS))
      const reason = redisOk ? await diskProblem() : 'Redis does not answer'
      if (reason) return reply.code(503).send({ status: 'unavailable', reason })
      return { status: 'ok' as const }
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
