import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import { UnauthorizedError } from '../errors.js'
import type { TokenSigner } from '../events/token.js'

const digest = (s: string) => createHash('sha256').update(s).digest()

/**
 * An onRequest hook accepting `Authorization: Bearer <key>` for any of the
 * keys (several, for rotation). Keys are compared as SHA-256 digests with
 * timingSafeEqual: constant time, whatever their lengths. No keys: open.
 */
export function apiKeyHook(keys: readonly string[]) {
  const valid = keyChecker(keys)
  return async function requireApiKey(req: FastifyRequest): Promise<void> {
    if (keys.length > 0 && !valid(req.headers.authorization)) throw new UnauthorizedError()
  }
}

/**
 * For what a browser opens by URL (events, archive): an API key, or a
 * `token` query parameter signed for the task in the `id` route parameter.
 */
export function taskAccessHook(keys: readonly string[], tokens: TokenSigner) {
  const valid = keyChecker(keys)
  return async function requireKeyOrToken(req: FastifyRequest): Promise<void> {
    if (keys.length === 0 || valid(req.headers.authorization)) return
    const token = (req.query as { token?: unknown }).token
    if (typeof token !== 'string') throw new UnauthorizedError('an API key or a signed token is required')
    tokens.verify(token, (req.params as { id: string }).id)
  }
}

function keyChecker(keys: readonly string[]) {
  const digests = keys.map(digest)
  return (header: string | undefined): boolean => {
    const match = /^Bearer\s+(\S+)$/i.exec(header ?? '')
    if (!match) return false
    const given = digest(match[1]!)
    let ok = false
    for (const d of digests) ok = timingSafeEqual(d, given) || ok
    return ok
  }
}
