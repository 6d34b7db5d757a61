import { isObject, type Json } from './openapi-schemas'

/**
 * Where each named schema is found in the generated document: `METHOD /path STATUS` (a response)
 * or `METHOD /path body`, then a path inside that schema. The first place that resolves to an
 * object schema names it; every object schema of the same shape, anywhere, becomes a `$ref` to
 * `components/schemas/<Name>`, so generated clients get one named type per resource. Nothing here
 * touches the route modules: the names follow the routes, whatever their schemas are called.
 */
export const NAMED_SCHEMAS: [name: string, at: string, inside?: string[]][] = [
  ['Health', 'GET /health 200'],
  ['Readiness', 'GET /ready 200'],
  ['User', 'GET /api/v1/users/me 200'],
  ['UserPage', 'GET /api/v1/users 200'],
  ['Session', 'GET /api/v1/auth/sessions 200', ['properties', 'items', 'items']],
  ['Session', 'GET /api/v1/auth/sessions 200', ['items']],
  ['SessionPage', 'GET /api/v1/auth/sessions 200'],
  ['ApiToken', 'GET /api/v1/users/me/tokens 200', ['properties', 'items', 'items']],
  ['ApiToken', 'GET /api/v1/users/me/tokens 200', ['items']],
  ['ApiTokenPage', 'GET /api/v1/users/me/tokens 200'],
  ['ApiTokenCreated', 'POST /api/v1/users/me/tokens 201'],
  ['TokenPair', 'POST /api/v1/auth/login 200'],
  ['Accepted', 'POST /api/v1/auth/password-reset/request 202'],
  ['Project', 'GET /api/v1/projects/{id} 200'],
  ['ProjectPage', 'GET /api/v1/projects 200'],
  ['TrashedProject', 'GET /api/v1/projects/trash 200', ['properties', 'items', 'items']],
  ['TrashedProjectPage', 'GET /api/v1/projects/trash 200'],
  ['Member', 'POST /api/v1/projects/{id}/members 201'],
  ['MemberUser', 'POST /api/v1/projects/{id}/members 201', ['properties', 'user']],
  ['MemberPage', 'GET /api/v1/projects/{id}/members 200'],
  ['Event', 'GET /api/v1/projects/{id}/activity 200', ['properties', 'items', 'items']],
  ['EventPage', 'GET /api/v1/projects/{id}/activity 200'],
  ['Task', 'GET /api/v1/tasks/{id} 200'],
  ['TaskPage', 'GET /api/v1/users/me/tasks 200'],
  ['ProjectTaskPage', 'GET /api/v1/projects/{id}/tasks 200'],
  ['Comment', 'GET /api/v1/comments/{id} 200'],
  ['CommentPage', 'GET /api/v1/tasks/{id}/comments 200'],
  ['Attachment', 'POST /api/v1/tasks/{id}/attachments 201'],
  ['AttachmentPage', 'GET /api/v1/tasks/{id}/attachments 200'],
  ['Dashboard', 'GET /api/v1/users/me/dashboard 200'],
  ['Job', 'GET /api/v1/jobs/{id} 200'],
  ['JobAccepted', 'POST /api/v1/projects/{id}/reports 202'],
  ['JobStats', 'GET /api/v1/admin/jobs 200'],
  ['TaskStatusCounts', 'GET /api/v1/users/me/dashboard 200', ['properties', 'tasks_by_status']],
  ['RegisterRequest', 'POST /api/v1/auth/register body'],
  ['LoginRequest', 'POST /api/v1/auth/login body'],
  ['RefreshRequest', 'POST /api/v1/auth/refresh body'],
  ['PasswordResetRequest', 'POST /api/v1/auth/password-reset/request body'],
  ['PasswordResetConfirm', 'POST /api/v1/auth/password-reset/confirm body'],
  ['TokenConfirm', 'POST /api/v1/auth/verify-email/confirm body'],
  ['UserSelfUpdate', 'PATCH /api/v1/users/me body'],
  ['PasswordChange', 'POST /api/v1/users/me/password body'],
  ['ApiTokenCreate', 'POST /api/v1/users/me/tokens body'],
  ['UserCreate', 'POST /api/v1/users body'],
  ['UserUpdate', 'PATCH /api/v1/users/{id} body'],
  ['ProjectCreate', 'POST /api/v1/projects body'],
  ['ProjectUpdate', 'PATCH /api/v1/projects/{id} body'],
  ['ProjectTransfer', 'POST /api/v1/projects/{id}/transfer body'],
  ['MemberCreate', 'POST /api/v1/projects/{id}/members body'],
  ['MemberUpdate', 'PATCH /api/v1/projects/{id}/members/{user_id} body'],
  ['TaskCreate', 'POST /api/v1/projects/{id}/tasks body'],
  ['TaskUpdate', 'PATCH /api/v1/tasks/{id} body'],
  ['CommentInput', 'POST /api/v1/tasks/{id}/comments body'],
  ['Webhook', 'GET /api/v1/webhooks/{id} 200'],
  ['WebhookWithSecret', 'POST /api/v1/projects/{id}/webhooks 201'],
  ['WebhookPage', 'GET /api/v1/projects/{id}/webhooks 200'],
  ['WebhookCreate', 'POST /api/v1/projects/{id}/webhooks body'],
  ['WebhookUpdate', 'PATCH /api/v1/webhooks/{id} body'],
  ['WebhookDelivery', 'POST /api/v1/deliveries/{id}/redeliver 202'],
  ['WebhookDeliveryPage', 'GET /api/v1/webhooks/{id}/deliveries 200'],
]

const REF = '#/components/schemas/'

/**
 * The shape of a schema: its property names (required or not), nested shapes and constants. Two
 * schemas of one shape describe the same thing; leaf details (formats, lengths) do not count.
 */
export function shapeOf(s: unknown): string {
  if (!isObject(s)) return ''
  if (typeof s.$ref === 'string') return s.$ref
  if (isObject(s.properties)) {
    const required = new Set(Array.isArray(s.required) ? s.required : [])
    const fields = Object.keys(s.properties)
      .sort()
      .map((k) => `${k}${required.has(k) ? '!' : '?'}:${shapeOf((s.properties as Json)[k])}`)
    return `{${fields.join(',')}}`
  }
  if (s.items !== undefined) return `[${shapeOf(s.items)}]`
  const constants = s.enum ?? ('const' in s ? [s.const] : undefined)
  return constants === undefined ? '' : JSON.stringify(constants)
}

function mediaSchema(doc: Json, at: string): unknown {
  const [method, path, where] = at.split(' ') as [string, string, string]
  const op = ((doc.paths as Json | undefined)?.[path] as Json | undefined)?.[method.toLowerCase()]
  if (!isObject(op)) return undefined
  const holder = where === 'body' ? op.requestBody : (op.responses as Json | undefined)?.[where]
  const content = isObject(holder) && isObject(holder.content) ? holder.content : undefined
  const media = content?.['application/json']
  return isObject(media) ? media.schema : undefined
}

/** Replaces every object schema under `node` (itself too when `self`) whose shape is named by a $ref. */
function refer(node: unknown, names: Map<string, string>, self: boolean): unknown {
  if (!isObject(node)) return node
  if (self && isObject(node.properties)) {
    const name = names.get(shapeOf(node))
    if (name) return { $ref: `${REF}${name}` }
  }
  for (const key of ['properties', 'patternProperties'])
    if (isObject(node[key]))
      for (const [k, v] of Object.entries(node[key])) (node[key] as Json)[k] = refer(v, names, true)
  for (const key of ['anyOf', 'oneOf', 'allOf'])
    if (Array.isArray(node[key])) node[key] = (node[key] as unknown[]).map((v) => refer(v, names, true))
  for (const key of ['items', 'additionalProperties'])
    if (isObject(node[key])) node[key] = refer(node[key], names, true)
  return node
}

/**
 * Moves the schemas listed in NAMED_SCHEMAS into components/schemas and points every request and
 * response body, parameter and component at them. Mutates and returns `doc` (a private copy).
 */
export function nameSchemas<T>(doc: T): T {
  const d = doc as Json
  const names = new Map<string, string>()
  const found = new Map<string, Json>()
  for (const [name, at, inside] of NAMED_SCHEMAS) {
    if (found.has(name)) continue
    let s = mediaSchema(d, at)
    for (const key of inside ?? []) s = isObject(s) ? s[key] : undefined
    if (!isObject(s) || !isObject(s.properties)) continue
    const shape = shapeOf(s)
    if (names.has(shape)) continue
    names.set(shape, name)
    found.set(name, JSON.parse(JSON.stringify(s)))
  }
  if (!names.size) return doc
  d.components ??= {}
  const components = d.components as Json
  components.schemas ??= {}
  const schemas = components.schemas as Json
  for (const [name, s] of found) schemas[name] = refer(s, names, false)
  for (const [key, s] of Object.entries(schemas)) if (!found.has(key)) schemas[key] = refer(s, names, false)
  const body = (content: unknown) => {
    if (!isObject(content)) return
    for (const media of Object.values(content))
      if (isObject(media)) media.schema = refer(media.schema, names, true)
  }
  for (const item of Object.values((d.paths as Json | undefined) ?? {}))
    for (const op of Object.values(item as Json)) {
      if (!isObject(op)) continue
      if (isObject(op.requestBody)) body(op.requestBody.content)
      for (const r of Object.values((op.responses as Json | undefined) ?? {}))
        if (isObject(r)) body(r.content)
    }
  return doc
}
