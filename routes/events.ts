import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { NotFoundError } from '../src/errors.js'
import type { EventHub } from '../src/events/hub.js'
import { TaskEventData } from '../src/events/schemas.js'
import { streamTaskEvents } from '../src/events/sse.js'
import { parseLastEventId } from '../src/events/stream.js'
import type { TokenSigner } from '../src/http/token.js'
import { taskAccessHook } from '../src/http/auth.js'
import { ErrorBody, TaskId } from '../src/tasks/schemas.js'
import type { TaskService } from '../src/api/task-service.js'

export interface EventRoutesOptions {
  tasks: TaskService
  hub: EventHub
  tokens: TokenSigner
  apiKeys: readonly string[]
}

const eventRoutes: FastifyPluginAsyncTypebox<EventRoutesOptions> = async (app, { tasks, hub, tokens, apiKeys }) => {
  app.get(
    '/tasks/:id/events',
    {
      onRequest: taskAccessHook(apiKeys, tokens),
      schema: {
        tags: ['tasks'],
        summary: 'Follow a task live (Server-Sent Events)',
        description:
          'History first, then live events, in order; the stream closes after `end`. Reconnecting with ' +
          'Last-Event-ID resumes right after that event; after `end` such a reconnect gets 204. Takes the API key ' +
          'or the signed `token` that events_url carries (EventSource cannot send headers).',
        params: Type.Object({ id: TaskId }),
        querystring: Type.Object({
          token: Type.Optional(Type.String({ description: 'signed task token from events_url' })),
          last_event_id: Type.Optional(Type.String({ description: 'as the Last-Event-ID header, for a first connection that resumes' })),
        }),
        headers: Type.Object({ 'last-event-id': Type.Optional(Type.String()) }),
        response: {
          200: { description: 'text/event-stream', content: { 'text/event-stream': { schema: TaskEventData } } },
          204: { description: 'the task ended before the given Last-Event-ID: nothing more will come', type: 'null' },
          401: ErrorBody,
          403: ErrorBody,
          404: ErrorBody,
          503: ErrorBody,
        },
      },
    },
    async (req, reply) => {
      const taskId = req.params.id
      // EventSource sends the header on its own reconnects; a page opening a new
      // stream after a known event (say, after a retry) can only use the query.
      const lastEventId = parseLastEventId(req.headers['last-event-id'] ?? req.query.last_event_id)
      const { exists, ended } = await tasks.lifecycle(taskId)
      if (!exists) throw new NotFoundError(`no task ${taskId}`)
      if (ended && lastEventId && !(await tasks.hasEventsAfter(taskId, lastEventId))) return reply.code(204).send(null)

      await streamTaskEvents(reply, hub, taskId, lastEventId)
    },
  )
}

export default eventRoutes
