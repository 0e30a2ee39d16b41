// Which addresses and hosts a download may reach. Callers choose the URLs, so
// by default only public unicast addresses are fetched: never loopback,
// private, link-local (169.254.169.254 included), CGNAT, multicast,
// unspecified, reserved or documentation ranges, in IPv4 or IPv6, whatever
// the spelling (IPv4-mapped and other IPv4-embedding IPv6 forms included).
import { BlockList, isIP } from 'node:net'
import ipaddr from 'ipaddr.js'

export interface AddressPolicy {
  /** Whether a connection to this IP address is allowed. */
  allowsAddress(ip: string): boolean
  /** Whether this host name (or literal) passes DOWNLOAD_ALLOWED_HOSTS. */
  allowsHost(host: string): boolean
  /** Why a URL can be refused at submit, or null when only the download can tell. */
  urlProblem(url: string): string | null
}

export const unbracket = (host: string) => (host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host)

/** Parses DOWNLOAD_ALLOWED_CIDRS ("10.0.0.0/8", "fd00::/8", or single addresses); throws on a bad entry. */
export function parseCidrs(entries: readonly string[]): BlockList {
  const list = new BlockList()
  for (const entry of entries) {
    const [addr, bits] = entry.includes('/') ? ipaddr.parseCIDR(entry) : [ipaddr.parse(entry), null]
    const family = addr.kind() === 'ipv4' ? 'ipv4' : 'ipv6'
    if (bits === null) list.addAddress(addr.toString(), family)
    else list.addSubnet(addr.toString(), bits, family)
  }
  return list
}

/** What the address is: 'unicast' is the only range fetched by default. */
export function addressRange(ip: string): string {
  let addr = ipaddr.parse(unbracket(ip))
  if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()) addr = (addr as ipaddr.IPv6).toIPv4Address()
  return addr.range()
}

function hostMatcher(patterns: readonly string[]): (host: string) => boolean {
  if (patterns.length === 0) return () => true
  const exact = new Set<string>()
  const suffixes: string[] = []
  for (const p of patterns.map((s) => unbracket(s.toLowerCase()))) {
    if (p.startsWith('*.')) suffixes.push(p.slice(1))
    else exact.add(p)
  }
  return (host) => {
    const h = unbracket(host.toLowerCase()).replace(/\.$/, '')
    return exact.has(h) || suffixes.some((s) => h.endsWith(s))
  }
}

/** The policy the configuration sets: DOWNLOAD_ALLOWED_CIDRS and DOWNLOAD_ALLOWED_HOSTS. */
export const addressPolicyFor = (config: { DOWNLOAD_ALLOWED_CIDRS: readonly string[]; DOWNLOAD_ALLOWED_HOSTS: readonly string[] }) =>
  createAddressPolicy({ allowedCidrs: config.DOWNLOAD_ALLOWED_CIDRS, allowedHosts: config.DOWNLOAD_ALLOWED_HOSTS })

export function createAddressPolicy(opts: { allowedCidrs: readonly string[]; allowedHosts: readonly string[] }): AddressPolicy {
  const exempt = parseCidrs(opts.allowedCidrs)
  const hostAllowed = hostMatcher(opts.allowedHosts)
  const allowsAddress = (ip: string) => {
    const bare = unbracket(ip)
    const family = isIP(bare)
    if (family === 0) return false
    if (exempt.check(bare, family === 4 ? 'ipv4' : 'ipv6')) return true
    try {
      return addressRange(bare) === 'unicast'
    } catch {
      return false
    }
  }
  return {
    allowsAddress,
    allowsHost: hostAllowed,
    urlProblem(url) {
      let parsed: URL
      try {
        parsed = new URL(url)
      } catch {
        return 'url must be an absolute http or https URL'
      }
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return 'url must be http or https'
      if (parsed.hostname === '') return 'url must name a host'
      if (parsed.username !== '' || parsed.password !== '') {
        return 'url must not carry a user name or password: send credentials as an Authorization header (headers.Authorization)'
      }
      // The URL parser has already turned decimal, octal and hex spellings into dotted IPv4.
      const host = unbracket(parsed.hostname)
      if (!hostAllowed(host)) return `host ${host} is not in DOWNLOAD_ALLOWED_HOSTS`
      if (isIP(host) && !allowsAddress(host)) {
        return `address ${host} is not a public address (${safeRange(host)}); an operator can allow it with DOWNLOAD_ALLOWED_CIDRS`
      }
      // localhost names loopback whatever DNS says (RFC 6761): known now, not only at connect time.
      if (isLocalhost(host) && !LOOPBACK.some(allowsAddress)) {
        return `host ${host} is not a public address (loopback); an operator can allow it with DOWNLOAD_ALLOWED_CIDRS (e.g. 127.0.0.0/8)`
      }
      return null
    },
  }
}

/** What localhost resolves to: allowing either lets the name through at submit (the connect-time check still applies). */
const LOOPBACK = ['127.0.0.1', '::1']

/** localhost, a name under it, with or without a final dot, in any case. */
export function isLocalhost(host: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, '')
  return h === 'localhost' || h.endsWith('.localhost')
}

function safeRange(ip: string): string {
  try {
    return addressRange(ip)
  } catch {
    return 'invalid'
  }
}
