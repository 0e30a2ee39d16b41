import type { FastifyPluginAsync } from 'fastify'

/** The OpenAPI document generated from the routes' schemas; openapi.yaml is its committed copy. */
const openapiRoutes: FastifyPluginAsync = async (app) => {
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
}

export default openapiRoutes
