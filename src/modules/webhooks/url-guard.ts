import { lookup } from 'node:dns/promises'
import { isIP } from 'node:net'
import ipaddr from 'ipaddr.js'

/**
 * SSRF guard of webhook URLs. The WHATWG URL parser already turns numeric spellings of IPv4
 * (`2130706433`, `0x7f.1`, `017700000001`, `127.1`) into dotted form; names are resolved, and
 * every address they resolve to must be public unicast. Delivery connects to the address that
 * was checked (the Host header and TLS server name keep the name), so DNS cannot change the
 * answer between the check and the connection.
 */
export interface GuardOptions {
  /** WEBHOOK_ALLOW_PRIVATE: any address is allowed (tests, on-premises receivers). */
  allowPrivate: boolean
  /** Plain http is refused (production). */
  httpsOnly: boolean
  /** Name resolution (tests replace it to exercise DNS answers). */
  resolve?: (host: string) => Promise<string[]>
}

export interface Target {
  url: URL
  /** The URL's host without IPv6 brackets: the Host header's name and the TLS server name. */
  hostname: string
  /** The checked address to connect to (IPv6 without brackets). */
  address: string
}

export class UrlRefused extends Error {
  override name = 'UrlRefused'
}

const MAX_URL_LENGTH = 2_048

/** Why an address may not receive webhooks (its special range), or null when it is public unicast. */
export function addressRefusal(address: string): string | null {
  if (!ipaddr.isValid(address)) return 'not an IP address'
  let ip = ipaddr.parse(address)
  if (ip.kind() === 'ipv6') {
    const v6 = ip as ipaddr.IPv6
    if (v6.isIPv4MappedAddress()) ip = v6.toIPv4Address()
    // ::a.b.c.d (IPv4-compatible, deprecated): never a real public receiver
    else if (v6.parts.slice(0, 6).every((p) => p === 0)) return 'ipv4Compatible'
  }
  const range = ip.range()
  return range === 'unicast' ? null : range
}

const systemResolve = async (host: string) =>
  (await lookup(host, { all: true, verbatim: true })).map((a) => a.address)

/** Parses and checks a webhook URL without resolving it (create/update runs `resolveTarget` too). */
export function parseWebhookUrl(raw: string, opts: Pick<GuardOptions, 'httpsOnly'>): URL {
  if (raw.length > MAX_URL_LENGTH) throw new UrlRefused(`must be at most ${MAX_URL_LENGTH} characters`)
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new UrlRefused('is not an absolute URL')
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new UrlRefused('must be an http(s) URL')
  if (opts.httpsOnly && url.protocol !== 'https:') throw new UrlRefused('must use https in production')
  if (url.username || url.password) throw new UrlRefused('must not carry credentials')
  if (!url.hostname) throw new UrlRefused('has no host')
  url.hash = ''
  return url
}

/** The URL and the address to connect to; throws UrlRefused with the reason. */
export async function resolveTarget(raw: string, opts: GuardOptions): Promise<Target> {
  const url = parseWebhookUrl(raw, opts)
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1')
  let addresses: string[]
  if (isIP(host)) addresses = [host]
  else {
    try {
      addresses = await (opts.resolve ?? systemResolve)(host)
    } catch {
      throw new UrlRefused(`host ${host} does not resolve`)
    }
    if (!addresses.length) throw new UrlRefused(`host ${host} does not resolve`)
  }
  if (!opts.allowPrivate) {
    for (const a of addresses) {
      const why = addressRefusal(a)
      if (why) throw new UrlRefused(`resolves to a ${why} address (${a}), which is not allowed`)
    }
  }
  return { url, hostname: host, address: addresses[0]! }
}

/** The URL to fetch: the checked address in place of the name (the caller sends Host and the TLS server name). */
export function pinnedUrl(target: Target): string {
  const pinned = new URL(target.url)
  pinned.hostname = isIP(target.address) === 6 ? `[${target.address}]` : target.address
  return pinned.toString()
}
