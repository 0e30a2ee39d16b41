import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import { UnauthorizedError } from '../errors.js'

const digest = (s: string) => createHash('sha256').update(s).digest()

/**
 * An onRequest hook accepting `Authorization: Bearer <key>` for any of the
 * keys (several, for rotation). Keys are compared as SHA-256 digests with
 * timingSafeEqual: constant time, whatever their lengths. No keys: open.
 */
export function apiKeyHook(keys: readonly string[]) {
  const digests = keys.map(digest)
  return async function requireApiKey(req: FastifyRequest): Promise<void> {
    if (digests.length === 0) return
    const header = req.headers.authorization ?? ''
    const match = /^Bearer\s+(\S+)$/i.exec(header)
    if (!match) throw new UnauthorizedError()
    const given = digest(match[1]!)
    let ok = false
    for (const d of digests) ok = timingSafeEqual(d, given) || ok
    if (!ok) throw new UnauthorizedError()
  }
}
