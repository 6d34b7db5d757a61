/**
 * Every (method, path, status) the test request helper sees is recorded here; after the last test
 * file, the preload checks them against the OpenAPI document: a status an operation can return but
 * does not declare fails the run. So no route can drift from its documented responses.
 */

type Json = Record<string, any>

export interface SeenResponse {
  method: string
  path: string
  status: number
}

interface Store {
  seen: Map<string, SeenResponse>
}

// one store per process, whichever copy of this module a test file imported
const shared = globalThis as Json
shared.__taskbaseSeenStatuses ??= { seen: new Map() }
const store: Store = shared.__taskbaseSeenStatuses

/** Records one response (the path may be a full URL and carry a query string). */
export function recordStatus(method: string, url: string, status: number): void {
  let path = url
  if (/^https?:\/\//.test(path)) path = new URL(path).pathname
  path = path.split('?')[0]!.split('#')[0]!
  const m = method.toUpperCase()
  const key = `${m} ${path} ${status}`
  if (!store.seen.has(key)) store.seen.set(key, { method: m, path, status })
}

export const recordedStatuses = (): SeenResponse[] => [...store.seen.values()]

const METHODS = new Set(['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'])

/** A path template of the document as a regex, and how many of its segments are literal. */
function compile(template: string) {
  const segments = template.split('/')
  const literal = segments.filter((s) => !/^\{[^}]+\}$/.test(s)).length
  const source = segments
    .map((s) => (/^\{[^}]+\}$/.test(s) ? '[^/]+' : s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/')
  return { template, literal, re: new RegExp(`^${source}$`) }
}

/**
 * The operation a request reached, as `{template, operation}`: among the templates that match the
 * path and have the method, the most literal one (the router prefers `/users/me` to `/users/{id}`).
 * undefined when the document has no such operation (an unknown route or method).
 */
export function operationFor(doc: Json, method: string, path: string) {
  const m = method.toLowerCase()
  if (!METHODS.has(m)) return undefined
  let best: { template: string; literal: number } | undefined
  for (const [template, item] of Object.entries<Json>(doc.paths ?? {})) {
    if (!item?.[m]) continue
    const c = compile(template)
    if (c.re.test(path) && (!best || c.literal > best.literal)) best = c
  }
  return best && { template: best.template, operation: doc.paths[best.template][m] as Json }
}

/** The seen responses whose status the reached operation does not declare, as `METHOD /template status`. */
export function undeclaredStatuses(doc: Json, seen: SeenResponse[]): string[] {
  const out = new Set<string>()
  for (const s of seen) {
    const found = operationFor(doc, s.method, s.path)
    if (!found) continue
    const responses = found.operation.responses ?? {}
    const status = String(s.status)
    const declared = status in responses || `${status[0]}XX` in responses || 'default' in responses
    if (!declared) out.add(`${s.method} ${found.template} ${status}`)
  }
  return [...out].sort()
}
