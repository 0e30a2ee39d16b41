// Task-scoped, expiring, HMAC-signed tokens: a browser's EventSource cannot
// send an Authorization header, so events_url and archive_url carry one.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { AppError } from '../errors.js'

export class TokenError extends AppError {}

export interface TokenSigner {
  sign(taskId: string, now?: number): string
  /** Throws TokenError: 401 when invalid or expired, 403 when made for another task. */
  verify(token: string, taskId: string, now?: number): void
}

/**
 * The key: TOKEN_SECRET when set (every API process must share it), else one
 * derived from API_KEYS (shared already), else a random one: with no keys,
 * tokens are not checked.
 */
export function tokenKey(secret: string | undefined, apiKeys: readonly string[]): Buffer {
  if (secret) return createHash('sha256').update(`token-secret:${secret}`).digest()
  if (apiKeys.length > 0) return createHash('sha256').update(`token-from-keys:${[...apiKeys].sort().join('\n')}`).digest()
  return randomBytes(32)
}

/** The signer the configuration sets: TOKEN_SECRET (or API_KEYS) and TOKEN_TTL_SECONDS. */
export const tokenSignerFor = (config: { TOKEN_SECRET?: string; API_KEYS: readonly string[]; TOKEN_TTL_SECONDS: number }) =>
  createTokenSigner(tokenKey(config.TOKEN_SECRET, config.API_KEYS), config.TOKEN_TTL_SECONDS)

export function createTokenSigner(key: Buffer, ttlSeconds: number): TokenSigner {
  const mac = (payload: string) => createHmac('sha256', key).update(payload).digest()
  return {
    sign(taskId, now = Date.now()) {
      const payload = Buffer.from(JSON.stringify({ t: taskId, e: Math.floor(now / 1000) + ttlSeconds })).toString('base64url')
      return `${payload}.${mac(payload).toString('base64url')}`
    },
    verify(token, taskId, now = Date.now()) {
      const [payload, sig, extra] = token.split('.')
      const given = Buffer.from(sig ?? '', 'base64url')
      const expected = mac(payload ?? '')
      if (!payload || extra !== undefined || given.length !== expected.length || !timingSafeEqual(given, expected)) {
        throw new TokenError(401, 'invalid_token', 'the token is not valid')
      }
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as { t: string; e: number }
      if (claims.e * 1000 <= now) throw new TokenError(401, 'token_expired', 'the token has expired')
      if (claims.t !== taskId) throw new TokenError(403, 'token_wrong_task', 'the token is for another task')
    },
  }
}
