/** What `clientIp` needs of Bun's server: the peer address of a request. */
export interface PeerAddressSource {
  requestIP(request: Request): { address: string } | null
}

/**
 * The address a request came from. With TRUST_PROXY, the right-most X-Forwarded-For entry is
 * believed: it is the one our own proxy appended, so a client cannot forge it by sending the
 * header itself (this assumes exactly one proxy hop in front of Taskbase). Without TRUST_PROXY
 * the header is ignored and the socket peer is used ('unknown' when there is no socket, as
 * with app.handle() in tests).
 */
export function clientIp(
  request: Request,
  server: PeerAddressSource | null | undefined,
  trustProxy: boolean,
): string {
  if (trustProxy) {
    const forwarded = request.headers.get('x-forwarded-for')
    const last = forwarded
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .pop()
    if (last) return last.slice(0, 64)
  }
  return server?.requestIP(request)?.address ?? 'unknown'
}
