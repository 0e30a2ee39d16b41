import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { TokenSigner } from '../src/events/token.js'
import { taskAccessHook } from '../src/http/auth.js'
import { ErrorBody, TaskId } from '../src/tasks/schemas.js'
import type { TaskService } from '../src/tasks/service.js'

export interface ArchiveRoutesOptions {
  tasks: TaskService
  tokens: TokenSigner
  apiKeys: readonly string[]
}

const archiveRoutes: FastifyPluginAsyncTypebox<ArchiveRoutesOptions> = async (app, { tasks, tokens, apiKeys }) => {
  app.get(
    '/tasks/:id/archive',
    {
      onRequest: taskAccessHook(apiKeys, tokens),
      schema: {
        tags: ['tasks'],
        summary: 'The finished files as one zip, streamed',
        description:
          'Entries are named by saved_as, stored (not deflated), zip64 when needed. While the task runs: 409, ' +
          'unless partial=1 (the files finished so far). Takes the API key or the signed token of archive_url.',
        params: Type.Object({ id: TaskId }),
        querystring: Type.Object({
          token: Type.Optional(Type.String({ description: 'signed task token from archive_url' })),
          partial: Type.Optional(Type.Enum(['1', 'true'], { description: 'zip what is finished of a running task' })),
        }),
        response: {
          200: { description: 'application/zip', content: { 'application/zip': { schema: { type: 'string', format: 'binary' } } } },
          401: ErrorBody,
          403: ErrorBody,
          404: ErrorBody,
          409: ErrorBody,
          503: ErrorBody,
        },
      },
    },
    async (req, reply) => {
      const taskId = req.params.id
      const archive = await tasks.archive(taskId, req.query.partial !== undefined)
      archive.stream.on('error', (err) => req.log.error({ err }, 'archive stream failed'))
      return reply
        .header('content-type', 'application/zip')
        .header('content-disposition', `attachment; filename="${taskId}.zip"`)
        .header('content-length', archive.size)
        // A stream: the response schema documents its bytes, the type provider sees a string.
        .send(archive.stream as unknown as string)
    },
  )
}

export default archiveRoutes
