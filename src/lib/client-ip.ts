import { BlockList, isIP } from 'node:net'

/** What `clientIp` needs of Bun's server: the peer address of a request. */
export interface PeerAddressSource {
  requestIP(request: Request): { address: string } | null
}

/**
 * Which X-Forwarded-For entries to believe (TRUST_PROXY): none; the last `hops` ones (each proxy
 * in front appends one); or those appended by the proxies in `list` (addresses and CIDRs).
 */
export type TrustProxy = { kind: 'none' } | { kind: 'hops'; hops: number } | { kind: 'list'; list: BlockList }

/** TRUST_PROXY as written: false, true (one proxy), a hop count, or a comma list of addresses/CIDRs. */
export function parseTrustProxy(value: string): TrustProxy | { error: string } {
  const v = value.trim().toLowerCase()
  if (['', 'false', '0', 'no', 'off'].includes(v)) return { kind: 'none' }
  if (['true', 'yes', 'on'].includes(v)) return { kind: 'hops', hops: 1 }
  if (/^[1-9][0-9]?$/.test(v)) return { kind: 'hops', hops: Number(v) }
  const list = new BlockList()
  for (const part of v.split(',').map((p) => p.trim())) {
    const [address = '', bits] = part.split('/')
    const family = isIP(address)
    const max = family === 4 ? 32 : 128
    if (!family || (bits !== undefined && !(/^[0-9]{1,3}$/.test(bits) && Number(bits) <= max)))
      return { error: `"${part}" is not an IP address or CIDR (expected false, true, a hop count or a list)` }
    const type = family === 4 ? 'ipv4' : 'ipv6'
    if (bits === undefined) list.addAddress(address, type)
    else list.addSubnet(address, Number(bits), type)
  }
  return { kind: 'list', list }
}

const trusted = (list: BlockList, address: string) => {
  const family = isIP(address)
  return family !== 0 && list.check(address, family === 4 ? 'ipv4' : 'ipv6')
}

/**
 * The address a request came from. X-Forwarded-For is read right to left, since each proxy
 * appends the address it received the request from, and a client can only forge entries on the
 * left:
 * - hops N: the entry N places from the right (N proxies in front of Taskbase; `true` = 1);
 * - a list: starting from the socket peer, step left while the address is one of our proxies;
 * - none: the socket peer, the header ignored.
 * 'unknown' when there is no socket (app.handle() in tests) and nothing to believe.
 */
export function clientIp(
  request: Request,
  server: PeerAddressSource | null | undefined,
  trust: TrustProxy,
): string {
  const peer = server?.requestIP(request)?.address ?? 'unknown'
  if (trust.kind === 'none') return peer
  const forwarded = (request.headers.get('x-forwarded-for') ?? '')
    .split(',')
    .map((s) => s.trim().slice(0, 64))
    .filter(Boolean)
  if (trust.kind === 'hops') return forwarded[forwarded.length - trust.hops] ?? forwarded[0] ?? peer
  let address = peer
  for (let i = forwarded.length - 1; i >= 0 && trusted(trust.list, address); i--) address = forwarded[i]!
  return address
}
