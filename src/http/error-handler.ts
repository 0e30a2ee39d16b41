import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { AppError, UnavailableError } from '../errors.js'
import { validationDetails, type ValidationIssue } from './validation-messages.js'

/** Details listed in one answer at the most: enough to fix a body, never a huge answer. */
const MAX_DETAILS = 100

type Detail = { path: string; message: string }

const send = (reply: FastifyReply, status: number, error: string, message: string, details?: Detail[]) =>
  reply.code(status).send({ error, message, ...(details ? { details: details.slice(0, MAX_DETAILS) } : {}) })

/** Fastify's own refusals of a body, in the service's words and shape. */
const BODY_ERRORS: Record<string, { status: number; error: string; message: string }> = {
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, error: 'invalid_request', message: 'the body is not valid JSON' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, error: 'invalid_request', message: 'the body is empty: send a JSON object' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    status: 415,
    error: 'unsupported_media_type',
    message: 'the body must be JSON, sent with Content-Type: application/json',
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, error: 'invalid_request', message: 'the body is not as long as its Content-Length says' },
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, error: 'body_too_large', message: 'the body is over the size limit (MAX_BODY_BYTES)' },
}

/** The one place errors become HTTP answers: `{ error, message, details? }`. */
export function errorHandler(err: FastifyError, req: FastifyRequest, reply: FastifyReply) {
  if (err instanceof AppError) {
    if (err instanceof UnavailableError) reply.header('retry-after', String(err.retryAfterSeconds))
    return send(reply, err.statusCode, err.code, err.message, err.details)
  }
  if (err.validation) {
    const details = validationDetails(err.validation as ValidationIssue[], err.validationContext ?? 'request')
    const first = details[0]
    const message = first ? `${first.path || 'body'}: ${first.message}` : 'the request is invalid'
    return send(reply, 400, 'invalid_request', details.length > 1 ? `${message} (and ${details.length - 1} more)` : message, details)
  }
  const known = err.code ? BODY_ERRORS[err.code] : undefined
  if (known) return send(reply, known.status, known.error, known.message, [{ path: '', message: known.message }])
  const status = err.statusCode ?? 500
  if (status < 500) {
    // Another refusal of Fastify's: its code is internal, its message is plain enough to show.
    return send(reply, status, 'bad_request', err.message)
  }
  req.log.error({ err }, 'request failed')
  return send(reply, 500, 'internal_error', 'internal error')
}
