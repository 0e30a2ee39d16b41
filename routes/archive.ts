import { Readable } from 'node:stream'
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { TokenSigner } from '../src/http/token.js'
import { taskAccessHook } from '../src/http/auth.js'
import type { Archive } from '../src/api/archive.js'
import { ArchiveFileError } from '../src/api/archive-files.js'
import { ErrorBody, TaskId } from '../src/tasks/schemas.js'
import type { TaskService } from '../src/api/task-service.js'

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
          'unless partial=1 (the files finished so far). With report=1 the zip starts with REPORT.txt, which lists ' +
          'every file of the task that is not in it and why. Takes the API key or the signed token of archive_url. ' +
          'Content-Length is exact. A file removed or changed on disk since the task saved it fails the zip: ' +
          'with a 500 (file_missing, file_changed, file_unreadable) when it is found before the first byte, ' +
          'otherwise by cutting the response short.',
        params: Type.Object({ id: TaskId }),
        querystring: Type.Object({
          token: Type.Optional(Type.String({ description: 'signed task token from archive_url' })),
          partial: Type.Optional(Type.Enum(['1', 'true'], { description: 'zip what is finished of a running task' })),
          report: Type.Optional(
            Type.Enum(['1', 'true'], { description: 'add REPORT.txt: every file of the task not in the zip, with its reason in plain words' }),
          ),
        }),
        response: {
          200: { description: 'application/zip', content: { 'application/zip': { schema: { type: 'string', format: 'binary' } } } },
          401: ErrorBody,
          403: ErrorBody,
          404: ErrorBody,
          409: ErrorBody,
          500: ErrorBody,
          503: ErrorBody,
        },
      },
    },
    async (req, reply) => {
      const taskId = req.params.id
      const failed = (err: unknown) => req.log.error({ err, task_id: taskId }, 'archive failed')
      let archive: Archive
      try {
        archive = await tasks.archive(taskId, req.query.partial !== undefined, req.query.report !== undefined)
      } catch (err) {
        // A file gone before the first byte: the answer says which (500, file_missing or file_changed).
        if (err instanceof ArchiveFileError) failed(err)
        throw err
      }
      // After the first byte a failure can only cut the response short: Fastify destroys it, this logs why.
      archive.stream.on('error', failed)
      let body = archive.stream
      if (req.method === 'HEAD') {
        // Fastify's HEAD route would read the whole zip to discard it: the headers say all there is.
        archive.stream.destroy()
        body = Readable.from([])
      }
      return reply
        .header('content-type', 'application/zip')
        .header('content-disposition', `attachment; filename="${taskId}.zip"`)
        .header('content-length', archive.size)
        // A stream: the response schema documents its bytes, the type provider sees a string.
        .send(body as unknown as string)
    },
  )
}

export default archiveRoutes
