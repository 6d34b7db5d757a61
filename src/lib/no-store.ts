/**
 * Marks a response that carries a credential as never to be cached (RFC 6749 §5.1, RFC 9111):
 * token pairs, a new API token, a webhook secret.
 */
export function noStore(set: { headers: Record<string, unknown> }): void {
  set.headers['cache-control'] = 'no-store'
  set.headers.pragma = 'no-cache'
}
