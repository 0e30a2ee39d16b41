// Which callback_url a task may have. The address policy is the downloads'
// own, with WEBHOOK_ALLOWED_CIDRS as its exemptions (and no host list): a
// literal address is refused at submit, a name when it is resolved, at connect.
import { createAddressPolicy, type AddressPolicy } from '../net/address-policy.js'

export interface WebhookConfig {
  WEBHOOK_SECRET?: string
  WEBHOOK_ALLOWED_CIDRS: readonly string[]
}

export const webhookPolicyFor = (config: WebhookConfig): AddressPolicy =>
  createAddressPolicy({ allowedCidrs: config.WEBHOOK_ALLOWED_CIDRS, allowedHosts: [] })

/** Checks a callback_url at submit; null when it is acceptable as far as can be known then. */
export type CallbackCheck = (url: string) => string | null

export function callbackCheckFor(config: WebhookConfig): CallbackCheck {
  if (!config.WEBHOOK_SECRET) return () => 'callback_url needs the service to have a WEBHOOK_SECRET, and it has none'
  const policy = webhookPolicyFor(config)
  return (url) => {
    if (URL.canParse(url)) {
      const parsed = new URL(url)
      // The receiver verifies the signature; a password in the URL would only be one more secret to leak.
      if (parsed.username || parsed.password) return 'callback_url must not carry credentials (user:password@): the signature authenticates the call'
    }
    const problem = policy.urlProblem(url)
    if (!problem) return null
    // The downloads' words, about the callback and its own exemption list.
    const words = problem.replace('DOWNLOAD_ALLOWED_CIDRS', 'WEBHOOK_ALLOWED_CIDRS')
    return words.startsWith('url ') ? `callback_url ${words.slice(4)}` : `callback_url: ${words}`
  }
}
