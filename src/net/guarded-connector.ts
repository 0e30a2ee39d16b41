// The one place a worker opens connections. Every connection, first request or
// redirect hop, is checked here, on the address actually connected to: the
// name is resolved once, every address it resolves to is checked, and the
// socket connects to exactly what was checked, so DNS rebinding between a
// check and the connect cannot happen.
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns'
import { isIP, type Socket } from 'node:net'
import { buildConnector } from 'undici'
import type { AddressPolicy } from './address-policy.js'
import { unbracket } from './address-policy.js'

export class BlockedAddressError extends Error {
  constructor(
    readonly code: 'blocked_address' | 'host_not_allowed',
    message: string,
  ) {
    super(message)
    this.name = 'BlockedAddressError'
  }
}

type Lookup = (hostname: string, options: LookupOptions & { all: true }, callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) => void

export interface ConnectorOptions {
  policy: AddressPolicy
  timeoutMs: number
  /** name resolution, replaceable in tests */
  lookup?: Lookup
}

export function guardedConnector({ policy, timeoutMs, lookup = dnsLookup as Lookup }: ConnectorOptions): buildConnector.connector {
  // net.connect calls this instead of dns.lookup: whatever it returns is what gets connected.
  const checkedLookup = (hostname: string, options: LookupOptions, callback: (...args: unknown[]) => void) => {
    lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err)
      const refused = addresses.find((a) => !policy.allowsAddress(a.address))
      if (refused || addresses.length === 0) {
        return callback(new BlockedAddressError('blocked_address', `${hostname} resolves to a non-public address`))
      }
      if (options.all) return callback(null, addresses)
      return callback(null, addresses[0]!.address, addresses[0]!.family)
    })
  }
  const connect = buildConnector({ timeout: timeoutMs, lookup: checkedLookup } as buildConnector.BuildOptions)

  return (opts, callback) => {
    const host = unbracket(opts.hostname)
    if (!policy.allowsHost(host)) {
      return callback(new BlockedAddressError('host_not_allowed', `host ${host} is not in DOWNLOAD_ALLOWED_HOSTS`), null)
    }
    // A literal address is never looked up: check it here.
    if (isIP(host) && !policy.allowsAddress(host)) {
      return callback(new BlockedAddressError('blocked_address', `${host} is not a public address`), null)
    }
    connect(opts, (err, socket) => {
      if (err || !socket) return callback(err ?? new Error('no socket'), null)
      // Belt and braces: the peer we are connected to.
      const remote = (socket as Socket).remoteAddress
      if (remote && !policy.allowsAddress(remote)) {
        socket.destroy()
        return callback(new BlockedAddressError('blocked_address', `${remote} is not a public address`), null)
      }
      callback(null, socket)
    })
  }
}
