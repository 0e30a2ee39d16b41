import fastifyStatic from '@fastify/static'
import type { FastifyPluginAsync } from 'fastify'
import { webRoot } from '../src/http/static-assets.js'

/** The operators' page at /, its assets under /ui/. No key is needed to load it; the API calls it makes need one. */
const uiRoutes: FastifyPluginAsync = async (app) => {
  await app.register(fastifyStatic, { root: webRoot(), prefix: '/ui/', index: false, cacheControl: true, maxAge: '1h' })
  app.get('/', { schema: { hide: true } }, (_req, reply) => reply.sendFile('index.html', { maxAge: 0 }))
}

export default uiRoutes
