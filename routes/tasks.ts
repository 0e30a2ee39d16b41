import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { apiKeyHook } from '../src/http/auth.js'
import { ErrorBody, TaskAccepted, TaskId, TaskList, TaskListQuery, TaskRequest, TaskStatus, TaskStatusQuery } from '../src/tasks/schemas.js'
import type { TaskService } from '../src/api/task-service.js'

export interface TaskRoutesOptions {
  tasks: TaskService
  apiKeys: readonly string[]
  submitsPerMinute: number
}

/**
 * Submits are counted per accepted API key (its position in API_KEYS, never
 * the key or the header as spelled) or, without keys, per client address.
 */
const submitter = (req: FastifyRequest) => (req.apiKeyId !== null ? `key${req.apiKeyId}` : req.ip)

const Params = Type.Object({ id: TaskId })
const errors = {
  400: ErrorBody,
  401: ErrorBody,
  503: ErrorBody,
}

const taskRoutes: FastifyPluginAsyncTypebox<TaskRoutesOptions> = async (app, { tasks, apiKeys, submitsPerMinute }) => {
  app.addHook('onRequest', apiKeyHook(apiKeys))

  app.post(
    '/tasks',
    {
      schema: {
        tags: ['tasks'],
        summary: 'Submit a batch of files to download',
        description: 'Answered once the task is durably queued. A resubmit of the same task_id and files answers 200.',
        body: TaskRequest,
        response: { 200: TaskAccepted, 202: TaskAccepted, 409: ErrorBody, 413: ErrorBody, 429: ErrorBody, ...errors },
      },
      config: {
        rateLimit: submitsPerMinute > 0 ? { max: submitsPerMinute, timeWindow: 60_000, keyGenerator: submitter } : false,
      },
      // Before schema validation, so that a huge list is refused without walking it.
      preValidation: async (req) => {
        const files = (req.body as { task_info?: unknown } | undefined)?.task_info
        if (Array.isArray(files)) tasks.checkFileCount(files.length)
      },
    },
    async (req, reply) => {
      const { created, task } = await tasks.submit(req.body)
      return reply.code(created ? 202 : 200).header('location', task.status_url).send(task)
    },
  )

  app.get(
    '/tasks',
    {
      schema: {
        tags: ['tasks'],
        summary: 'Every task of the service, newest first',
        description: 'Paginated: pass next_cursor as cursor for the next page. state keeps only tasks in those states.',
        querystring: TaskListQuery,
        response: { 200: TaskList, ...errors },
      },
    },
    async (req) => tasks.list(req.query),
  )

  app.get(
    '/tasks/:id',
    {
      schema: {
        tags: ['tasks'],
        summary: 'State of a task and of each of its files',
        description:
          'totals say how far the task is: bytes_done of bytes_total (the sizes known so far), speed and eta_s. ' +
          'files=active lists only the files not ended (queued, downloading, retrying), files=failed the failed ones, ' +
          'files=none no file: what a client following a large task asks for.',
        params: Params,
        querystring: TaskStatusQuery,
        response: { 200: TaskStatus, 404: ErrorBody, ...errors },
      },
    },
    async (req) => tasks.get(req.params.id, req.query.files),
  )

  app.post(
    '/tasks/:id/retry',
    {
      schema: {
        tags: ['tasks'],
        summary: 'Run the failed and cancelled files of an ended task again',
        description:
          'Same task_id: the reply list gets start, one message per retried file, then end again; the events ' +
          'continue on the same stream. 409 while the task runs, or when no file failed.',
        params: Params,
        response: { 202: TaskStatus, 404: ErrorBody, 409: ErrorBody, ...errors },
      },
    },
    async (req, reply) => {
      const { status } = await tasks.retry(req.params.id)
      return reply.code(202).send(status)
    },
  )

  app.delete(
    '/tasks/:id',
    {
      schema: {
        tags: ['tasks'],
        summary: 'Cancel a task, or purge a finished one',
        description:
          'A queued task ends at once (200). A running one stops its transfers within a second, removes partial ' +
          'files and keeps finished ones (202 until its worker has ended it). A finished task is left as it is (200). ' +
          'With purge=1, a finished task\'s files and state are removed at once (204; 409 while it runs).',
        params: Params,
        querystring: Type.Object({ purge: Type.Optional(Type.Enum(['1', 'true'], { description: 'remove a finished task' })) }),
        response: { 200: TaskStatus, 202: TaskStatus, 204: { type: 'null', description: 'purged' }, 404: ErrorBody, 409: ErrorBody, ...errors },
      },
    },
    async (req, reply) => {
      if (req.query.purge) {
        await tasks.purge(req.params.id)
        return reply.code(204).send(null)
      }
      const status = await tasks.cancel(req.params.id)
      return reply.code(status.state === 'running' ? 202 : 200).send(status)
    },
  )
}

export default taskRoutes
