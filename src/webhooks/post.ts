// One webhook attempt: a signed POST through an Agent of its own (never the
// downloads' connections), checked by the address guard at connect time.
// Redirects are not followed: undici's request() follows none without the
// redirect interceptor, so a 3xx is an answer like any other non-2xx.
import { Agent, errors as undiciErrors, request } from 'undici'
import type { AddressPolicy } from '../net/address-policy.js'
import { BlockedAddressError, guardedConnector } from '../net/guarded-connector.js'
import type { WebhookErrorCode } from '../vocabulary.js'
import { DELIVERY_HEADER, SIGNATURE_HEADER, signWebhook } from './signer.js'

export const WEBHOOK_TIMEOUT_MS = 10_000

export interface PostResult {
  ok: boolean
  httpStatus: number | null
  /** null when ok; else a stable code */
  error: WebhookErrorCode | null
  /** no later attempt can succeed (the address is refused) */
  permanent: boolean
}

export function createWebhookAgent(policy: AddressPolicy): Agent {
  return new Agent({
    connect: guardedConnector({ policy, timeoutMs: WEBHOOK_TIMEOUT_MS }),
    headersTimeout: WEBHOOK_TIMEOUT_MS,
    bodyTimeout: WEBHOOK_TIMEOUT_MS,
    keepAliveTimeout: 4000,
  })
}

/** POSTs the body; never throws. `signal` aborts it (shutdown). */
export async function postWebhook(
  agent: Agent,
  opts: { url: string; body: string; deliveryId: string; secret: string; signal: AbortSignal },
): Promise<PostResult> {
  const signal = AbortSignal.any([opts.signal, AbortSignal.timeout(WEBHOOK_TIMEOUT_MS)])
  try {
    const res = await request(opts.url, {
      method: 'POST',
      dispatcher: agent,
      signal,
      headers: {
        'content-type': 'application/json',
        'user-agent': 'batchdl-webhook',
        [DELIVERY_HEADER]: opts.deliveryId,
        [SIGNATURE_HEADER]: signWebhook(opts.secret, opts.body),
      },
      body: opts.body,
    })
    await res.body.dump({ limit: 64 * 1024 }).catch(() => {})
    const ok = res.statusCode >= 200 && res.statusCode < 300
    return { ok, httpStatus: res.statusCode, error: ok ? null : 'http_error', permanent: false }
  } catch (err) {
    return { ok: false, httpStatus: null, ...failure(err, signal) }
  }
}

function failure(err: unknown, signal: AbortSignal): { error: WebhookErrorCode; permanent: boolean } {
  const blocked = err instanceof BlockedAddressError ? err : (err as { cause?: unknown })?.cause
  if (blocked instanceof BlockedAddressError) return { error: 'blocked_address', permanent: true }
  if (signal.aborted || err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError) {
    return { error: 'timeout', permanent: false }
  }
  if (err instanceof undiciErrors.ConnectTimeoutError) return { error: 'timeout', permanent: false }
  if ((err as NodeJS.ErrnoException).code === 'ENOTFOUND') return { error: 'dns_error', permanent: false }
  return { error: 'connection_error', permanent: false }
}
