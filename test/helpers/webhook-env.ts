// The service settings of the webhook suites: a secret to sign with, receivers
// on loopback allowed, and retries and polls fast enough for a test.
export const SECRET = 'webhook-test-secret-0123456789'
export const FAST = {
  WEBHOOK_SECRET: SECRET,
  WEBHOOK_ALLOWED_CIDRS: '127.0.0.0/8',
  WEBHOOK_RETRY_BASE_MS: '50',
  WEBHOOK_RETRY_MAX_DELAY_MS: '200',
  WEBHOOK_POLL_MS: '20',
  WEBHOOK_MAX_ATTEMPTS: '4',
}
