import { pino, type Logger, type DestinationStream } from 'pino'

export type { Logger }

/**
 * A URL without its query string, fragment or credentials: object-store
 * signatures and our own tokens live there, and they are secrets.
 */
export function redactUrl(url: string): string {
  const cut = url.search(/[?#]/)
  const bare = cut === -1 ? url : url.slice(0, cut)
  return bare.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1')
}

interface RequestLike {
  method?: string
  url?: string
  id?: string
  socket?: { remoteAddress?: string }
}

/**
 * pino's error serializer, without the arguments of a failed Redis command:
 * ioredis attaches them to its errors, and those of AUTH are the password.
 */
function serializeError(err: Error): ReturnType<typeof pino.stdSerializers.err> {
  const out = pino.stdSerializers.err(err)
  const command: unknown = out.command
  if (command && typeof command === 'object' && 'args' in command) out.command = { name: (command as { name?: unknown }).name }
  return out
}

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      // Fastify's default request serializer logs the raw URL (token query
      // parameters included) and pino's would log the headers: keep neither.
      serializers: {
        req: (req: RequestLike) => ({
          method: req.method,
          url: req.url === undefined ? undefined : redactUrl(req.url),
          reqId: req.id,
          remoteAddress: req.socket?.remoteAddress,
        }),
        err: serializeError,
      },
      // Nothing logs request headers today; should a line ever carry some (a download's
      // options, a task's), their credentials are cut. Names are fine, values never.
      redact: {
        paths: [
          ...['authorization', 'cookie', 'proxy-authorization'].flatMap((h) => [`headers["${h}"]`, `*.headers["${h}"]`]),
          'apiKey',
          'token',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  )
}
