// The webhook loop as the configuration sets it up, in every worker process.
import type { RedisClient } from '../redis/connection.js'
import type { Config } from '../config.js'
import { tokenSignerFor } from '../http/token.js'
import type { Logger } from '../logger.js'
import type { Metrics } from '../metrics.js'
import { webhookPolicyFor } from './callback-url.js'
import { startWebhookLoop, type WebhookLoop } from './deliveries.js'
import { createDeliveryStore } from './store.js'

/** Null without WEBHOOK_SECRET: no task can have a callback_url then, and nothing could be signed. */
export function startWebhooks(config: Config, redis: RedisClient, metrics: Metrics, log: Logger): WebhookLoop | null {
  if (!config.WEBHOOK_SECRET) return null
  return startWebhookLoop({
    store: createDeliveryStore(redis, config),
    secret: config.WEBHOOK_SECRET,
    policy: webhookPolicyFor(config),
    tokens: tokenSignerFor(config),
    maxAttempts: config.WEBHOOK_MAX_ATTEMPTS,
    baseDelayMs: config.WEBHOOK_RETRY_BASE_MS,
    maxDelayMs: config.WEBHOOK_RETRY_MAX_DELAY_MS,
    pollMs: config.WEBHOOK_POLL_MS,
    metrics,
    log: log.child({ component: 'webhooks' }),
  })
}
