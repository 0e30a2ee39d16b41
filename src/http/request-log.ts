import { LogController, type FastifyReply, type FastifyRequest } from 'fastify'

/**
 * One log line per request, when it ends, with what Fastify's two lines
 * carry between them (method, redacted URL, status, time). At a few thousand
 * submits a second the line at arrival cost as much as the rest of the log;
 * it is still there at debug level, for requests that stay open (event streams).
 */
export class RequestLog extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    if (!this.isLogDisabled(request)) request.log.debug({ req: request }, 'incoming request')
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return
    const line = { req: request, res: reply, responseTime: reply.elapsedTime }
    if (error) reply.log.error({ ...line, err: error }, 'request errored')
    else reply.log.info(line, 'request completed')
  }
}
