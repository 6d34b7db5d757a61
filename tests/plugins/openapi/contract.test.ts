import { beforeAll, describe, expect, test } from 'bun:test'
import { EVENT_TYPES } from '../../../src/events/record'
import { LOGIN_PATH } from '../../../src/lib/api'
import { servedDocument } from '../../helpers/declared-statuses'

type Json = Record<string, any>
let doc: Json
let text: string
beforeAll(async () => {
  doc = await servedDocument()
  text = JSON.stringify(doc)
})

/** Every schema object in the document (paths and components), with where it is. */
function schemas(): [string, Json][] {
  const out: [string, Json][] = []
  const walk = (s: unknown, at: string) => {
    if (!s || typeof s !== 'object' || Array.isArray(s)) return
    const o = s as Json
    out.push([at, o])
    for (const [k, v] of Object.entries<Json>(o.properties ?? {})) walk(v, `${at}.${k}`)
    if (o.items) walk(o.items, `${at}[]`)
    for (const k of ['anyOf', 'oneOf', 'allOf'])
      for (const [i, v] of (o[k] ?? []).entries()) walk(v, `${at}.${k}[${i}]`)
    if (o.additionalProperties && typeof o.additionalProperties === 'object')
      walk(o.additionalProperties, `${at}{}`)
  }
  for (const [name, s] of Object.entries<Json>(doc.components.schemas)) walk(s, name)
  for (const [path, item] of Object.entries<Json>(doc.paths))
    for (const [method, op] of Object.entries<Json>(item)) {
      const at = `${method.toUpperCase()} ${path}`
      for (const p of op.parameters ?? []) walk(p.schema, `${at} ${p.name}`)
      for (const [type, media] of Object.entries<Json>(op.requestBody?.content ?? {}))
        walk(media.schema, `${at} body ${type}`)
      for (const [status, r] of Object.entries<Json>(op.responses))
        for (const [type, media] of Object.entries<Json>(r.content ?? {}))
          walk(media.schema, `${at} ${status} ${type}`)
    }
  return out
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` })
const json = (op: Json, status: string) => op.responses[status].content['application/json'].schema
const body = (op: Json) => op.requestBody.content['application/json'].schema
const param = (op: Json, name: string) => op.parameters.find((p: Json) => p.name === name)

describe('named schemas (issue 7 #15)', () => {
  test('resources, page envelopes, request bodies and Problem are components, each used', () => {
    const names = [
      'User',
      'UserPage',
      'Session',
      'ApiToken',
      'ApiTokenCreated',
      'TokenPair',
      'Project',
      'ProjectPage',
      'TrashedProject',
      'TrashedProjectPage',
      'Member',
      'MemberPage',
      'Event',
      'EventPage',
      'Task',
      'TaskPage',
      'Comment',
      'CommentPage',
      'Dashboard',
      'Job',
      'Problem',
      'RegisterRequest',
      'LoginRequest',
      'ProjectCreate',
      'TaskCreate',
      'TaskUpdate',
    ]
    for (const name of names) {
      expect({ name, defined: name in doc.components.schemas }).toEqual({ name, defined: true })
      expect({ name, used: text.includes(`"#/components/schemas/${name}"`) }).toEqual({ name, used: true })
    }
  })

  test('operations reference them instead of repeating them inline', () => {
    const p = doc.paths
    expect(json(p['/api/v1/users/me'].get, '200')).toEqual(ref('User'))
    expect(json(p['/api/v1/tasks/{id}'].get, '200')).toEqual(ref('Task'))
    expect(json(p['/api/v1/projects/{id}/tasks'].get, '200')).toEqual(ref('ProjectTaskPage'))
    expect(json(p['/api/v1/users/me/tasks'].get, '200')).toEqual(ref('TaskPage'))
    expect(json(p['/api/v1/users/me/tasks'].get, '200')).toEqual(ref('TaskPage'))
    expect(doc.components.schemas.TaskPage.properties.items.items).toEqual(ref('Task'))
    expect(doc.components.schemas.Member.properties.user).toEqual(ref('MemberUser'))
    expect(doc.components.schemas.Dashboard.properties.due_soon.items).toEqual(ref('Task'))
    expect(json(p['/api/v1/auth/login'].post, '200')).toEqual(ref('TokenPair'))
    expect(body(p['/api/v1/projects/{id}/tasks'].post)).toEqual(ref('TaskCreate'))
    // no object schema with properties is left inline in any request or response body
    const inline = schemas().filter(
      ([at, s]) => / (body|\d{3}) application\/json$/.test(at) && s.properties !== undefined,
    )
    expect(inline.map(([at]) => at)).toEqual([])
  })

  test('integers are integers: a number type only where the value has a fraction', () => {
    const fractions = ['JobStats.oldest_queued_age_seconds']
    const numbers = schemas()
      .filter(([, s]) => s.type === 'number' || (Array.isArray(s.type) && s.type.includes('number')))
      .map(([at]) => at)
    expect(numbers).toEqual(fractions)
    const s = doc.components.schemas
    for (const [name, field] of <[string, string][]>[
      ['User', 'version'],
      ['Task', 'number'],
      ['TaskPage', 'total'],
      ['TaskPage', 'page_size'],
      ['TokenPair', 'expires_in'],
      ['Project', 'task_count'],
    ])
      expect({ name, field, type: s[name].properties[field].type }).toEqual({ name, field, type: 'integer' })
  })

  test('enums are enums', () => {
    const s = doc.components.schemas
    expect(s.Task.properties.status.enum).toEqual(['todo', 'in_progress', 'done', 'canceled'])
    expect(s.Task.properties.priority.enum).toEqual(['low', 'medium', 'high', 'urgent'])
    expect(s.TaskCreate.properties.status.enum).toEqual(['todo', 'in_progress', 'done', 'canceled'])
    expect(s.Project.properties.status.enum).toEqual(['active', 'archived'])
    expect(s.Member.properties.role.enum).toEqual(['owner', 'editor', 'viewer'])
    expect(s.User.properties.role.enum).toEqual(['user', 'admin', 'superadmin'])
    expect(s.Event.properties.type.enum).toEqual([...EVENT_TYPES])
    // a union of constants is always written as an enum
    expect(
      schemas()
        .filter(([, x]) => Array.isArray(x.anyOf) && x.anyOf.every((b: Json) => 'const' in b))
        .map(([at]) => at),
    ).toEqual([])
  })

  test('sort is a comma list of enumerated fields; status and priority filters too', () => {
    const sorts = Object.entries<Json>(doc.paths).flatMap(([path, item]) =>
      Object.entries<Json>(item).flatMap(([m, op]) =>
        (op.parameters ?? []).filter((p: Json) => p.name === 'sort').map((p: Json) => [`${m} ${path}`, p]),
      ),
    )
    expect(sorts.length).toBeGreaterThanOrEqual(4)
    for (const [at, p] of sorts) {
      expect({ at, style: p.style, explode: p.explode, type: p.schema.type }).toEqual({
        at,
        style: 'form',
        explode: false,
        type: 'array',
      })
      expect(p.schema.items.enum.length).toBeGreaterThan(1)
    }
    const tasks = doc.paths['/api/v1/projects/{id}/tasks'].get
    expect(param(tasks, 'sort').schema.items.enum).toEqual(
      expect.arrayContaining(['number', '-number', 'priority', '-priority', 'due_date', 'title']),
    )
    expect(param(doc.paths['/api/v1/projects'].get, 'sort').schema.items.enum).toEqual(
      expect.arrayContaining(['name', '-name', 'created_at', '-updated_at']),
    )
    expect(param(tasks, 'status').schema).toMatchObject({
      type: 'array',
      items: { enum: ['todo', 'in_progress', 'done', 'canceled'] },
    })
    expect(param(tasks, 'priority').schema.items.enum).toEqual(['low', 'medium', 'high', 'urgent'])
    expect(param(tasks, 'status').explode).toBe(false)
  })

  test('page and page_size are integers', () => {
    for (const [path, item] of Object.entries<Json>(doc.paths))
      for (const [m, op] of Object.entries<Json>(item))
        for (const p of op.parameters ?? [])
          if (p.name === 'page' || p.name === 'page_size')
            expect({ at: `${m} ${path} ${p.name}`, type: p.schema.type, minimum: p.schema.minimum }).toEqual({
              at: `${m} ${path} ${p.name}`,
              type: 'integer',
              minimum: 1,
            })
    expect(param(doc.paths['/api/v1/projects'].get, 'page_size').schema.maximum).toBe(100)
  })

  test('no validator-only keyword (error) leaks into a schema', () => {
    expect(
      schemas()
        .filter(([, s]) => 'error' in s)
        .map(([at]) => at),
    ).toEqual([])
  })
})

describe('the docs can log in (issue 7 #16)', () => {
  test('an OAuth2 password flow at the login route, beside the bearer scheme', () => {
    const schemes = doc.components.securitySchemes
    expect(schemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' })
    expect(schemes.oauth2Password).toMatchObject({
      type: 'oauth2',
      flows: { password: { tokenUrl: LOGIN_PATH, scopes: {} } },
    })
    expect(doc.paths['/api/v1/users/me'].get.security).toEqual([{ bearerAuth: [] }, { oauth2Password: [] }])
    expect(
      doc.paths[LOGIN_PATH].post.requestBody.content['application/x-www-form-urlencoded'].schema,
    ).toEqual(ref('LoginRequest'))
  })

  test('password fields are format: password', () => {
    const s = doc.components.schemas
    expect(s.LoginRequest.properties.password.format).toBe('password')
    expect(s.RegisterRequest.properties.password.format).toBe('password')
    const named = schemas().filter(([at]) => /\.(password|new_password|current_password)$/.test(at))
    expect(named.length).toBeGreaterThanOrEqual(4)
    for (const [at, x] of named) expect({ at, format: x.format }).toEqual({ at, format: 'password' })
  })

  test('public operations say so (security: [])', () => {
    expect(doc.paths['/health'].get.security).toEqual([])
    expect(doc.paths[LOGIN_PATH].post.security).toEqual([])
    expect(doc.servers).toEqual([expect.objectContaining({ url: '/' })])
  })
})
