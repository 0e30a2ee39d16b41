import fastifyStatic from '@fastify/static'
import type { FastifyPluginAsync } from 'fastify'
import { webRoot } from '../src/http/static-assets.js'
import { fileErrorTable } from '../src/tasks/file-errors.js'

/** The operators' page at /, its assets under /ui/. No key is needed to load it; the API calls it makes need one. */
const uiRoutes: FastifyPluginAsync = async (app) => {
  // Revalidated on every load (ETag, 304): the page's modules import one another, and a set half
  // from before an upgrade, half from after, would break it for as long as they stay cached.
  await app.register(fastifyStatic, { root: webRoot(), prefix: '/ui/', index: false, cacheControl: true, maxAge: 0 })
  app.get('/', { schema: { hide: true } }, (_req, reply) => reply.sendFile('index.html', { maxAge: 0 }))
  // The page words errors from the service's own table (src/tasks/file-errors.ts): one source, no copy.
  const table = JSON.stringify(fileErrorTable())
  app.get('/ui/file-errors.json', { schema: { hide: true } }, (_req, reply) =>
    reply.header('content-type', 'application/json; charset=utf-8').header('cache-control', 'no-cache').send(table),
  )
}

export default uiRoutes
