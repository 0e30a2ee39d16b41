import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { AppError, UnavailableError } from '../errors.js'

interface ValidationIssue {
  instancePath: string
  message?: string
  keyword: string
  params: Record<string, unknown>
}

/** The one place errors become HTTP answers: `{ error, message, details? }`. */
export function errorHandler(err: FastifyError, req: FastifyRequest, reply: FastifyReply) {
  if (err instanceof AppError) {
    if (err instanceof UnavailableError) reply.header('retry-after', String(err.retryAfterSeconds))
    return reply.code(err.statusCode).send({ error: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) })
  }
  if (err.validation) {
    const details = (err.validation as ValidationIssue[]).map((v) => {
      const missing = v.keyword === 'required' ? `/${String(v.params.missingProperty)}` : ''
      const path = `${v.instancePath}${missing}`
      return { path, message: `${path || err.validationContext || 'value'} ${v.message ?? 'is invalid'}` }
    })
    return reply.code(400).send({ error: 'invalid_request', message: details[0]?.message ?? err.message, details })
  }
  if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return reply.code(413).send({ error: 'body_too_large', message: err.message })
  }
  const status = err.statusCode ?? 500
  if (status < 500) {
    return reply.code(status).send({ error: (err.code ?? 'bad_request').toLowerCase(), message: err.message })
  }
  req.log.error({ err }, 'request failed')
  return reply.code(500).send({ error: 'internal_error', message: 'internal error' })
}
