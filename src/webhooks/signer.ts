// Webhook signatures, Stripe-style: the receiver recomputes the HMAC over
// "<t>.<raw body>" and rejects an old `t`, so a captured delivery cannot be
// replayed later.
import { createHmac, timingSafeEqual } from 'node:crypto'

export const SIGNATURE_HEADER = 'batchdl-signature'
export const DELIVERY_HEADER = 'batchdl-delivery'

const mac = (secret: string, t: number, body: string) => createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')

/** The batchdl-signature header for this body at this time: `t=<unix seconds>,v1=<hex>`. */
export function signWebhook(secret: string, body: string, nowMs = Date.now()): string {
  const t = Math.floor(nowMs / 1000)
  return `t=${t},v1=${mac(secret, t, body)}`
}

/** What a receiver does: true when a v1 signature matches and `t` is within the tolerance. */
export function verifyWebhook(secret: string, body: string, header: string, toleranceSeconds = 300, nowMs = Date.now()): boolean {
  const parts = header.split(',').map((p) => p.trim().split('=') as [string, string?])
  const t = Number(parts.find(([k]) => k === 't')?.[1])
  if (!Number.isInteger(t) || Math.abs(nowMs / 1000 - t) > toleranceSeconds) return false
  const expected = Buffer.from(mac(secret, t, body), 'hex')
  return parts.some(([k, v]) => {
    if (k !== 'v1' || !v || !/^[0-9a-f]+$/i.test(v)) return false
    const given = Buffer.from(v, 'hex')
    return given.length === expected.length && timingSafeEqual(given, expected)
  })
}
