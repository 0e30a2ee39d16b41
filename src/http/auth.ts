import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import { UnauthorizedError } from '../errors.js'
import type { TokenSigner } from './token.js'

const digest = (s: string) => createHash('sha256').update(s).digest()

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * Which configured key the request was accepted with (its position in
     * API_KEYS), or null: what per-client limits count by, however the
     * Authorization header was spelled.
     */
    apiKeyId: number | null
  }
}

/**
 * An onRequest hook accepting `Authorization: Bearer <key>` for any of the
 * keys (several, for rotation). Keys are compared as SHA-256 digests with
 * timingSafeEqual: constant time, whatever their lengths. No keys: open.
 */
export function apiKeyHook(keys: readonly string[]) {
  const keyOf = keyChecker(keys)
  return async function requireApiKey(req: FastifyRequest): Promise<void> {
    if (keys.length === 0) return
    req.apiKeyId = keyOf(req.headers.authorization)
    if (req.apiKeyId === null) throw new UnauthorizedError()
  }
}

/** For /metrics: a key as for the API, unless the operator made the figures public. */
export const metricsAccessHook = (keys: readonly string[], isPublic: boolean) => apiKeyHook(isPublic ? [] : keys)

/**
 * For what a browser opens by URL (events, archive): an API key, or a
 * `token` query parameter signed for the task in the `id` route parameter.
 */
export function taskAccessHook(keys: readonly string[], tokens: TokenSigner) {
  const keyOf = keyChecker(keys)
  return async function requireKeyOrToken(req: FastifyRequest): Promise<void> {
    if (keys.length === 0) return
    req.apiKeyId = keyOf(req.headers.authorization)
    if (req.apiKeyId !== null) return
    const token = (req.query as { token?: unknown }).token
    if (typeof token !== 'string') throw new UnauthorizedError('an API key or a signed token is required')
    tokens.verify(token, (req.params as { id: string }).id)
  }
}

/** The position in `keys` of the key an Authorization header carries, or null. */
export function keyChecker(keys: readonly string[]) {
  const digests = keys.map(digest)
  return (header: string | undefined): number | null => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')
    if (!match) return null
    const given = digest(match[1]!)
    let found: number | null = null
    // Every key is compared, whichever matches: the time says nothing of which.
    digests.forEach((d, i) => {
      if (timingSafeEqual(d, given)) found = i
    })
    return found
  }
}
