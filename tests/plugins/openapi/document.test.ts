import { beforeAll, describe, expect, test } from 'bun:test'
import { addErrorResponses } from '../../../src/plugins/openapi-errors'
import { createTestApp } from '../../helpers/app'

type Json = Record<string, any>

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']
const MEDIA_TYPE = /^[a-z]+\/[a-z0-9.+*-]+$/i
const JSON_TYPES = new Set(['string', 'number', 'integer', 'boolean', 'object', 'array', 'null'])

/** Resolves a local `#/a/b` reference in `doc`, or undefined. */
function resolve(doc: Json, ref: string): unknown {
  if (!ref.startsWith('#/')) return undefined
  return ref
    .slice(2)
    .split('/')
    .reduce<any>(
      (node, key) => (node == null ? undefined : node[key.replace(/~1/g, '/').replace(/~0/g, '~')]),
      doc,
    )
}

/** Every problem found in a JSON Schema (recursively), as `where: what`. */
function schemaProblems(doc: Json, schema: unknown, where: string, out: string[]) {
  if (typeof schema === 'boolean') return
  if (!schema || typeof schema !== 'object' || Array.isArray(schema)) {
    out.push(`${where}: schema is not an object`)
    return
  }
  const s = schema as Json
  if (s.$ref !== undefined && resolve(doc, s.$ref) === undefined)
    out.push(`${where}: dangling $ref ${s.$ref}`)
  if (s.type !== undefined) {
    const types = Array.isArray(s.type) ? s.type : [s.type]
    for (const t of types) if (!JSON_TYPES.has(t)) out.push(`${where}: bad type ${JSON.stringify(t)}`)
  }
  if (
    s.required !== undefined &&
    !(Array.isArray(s.required) && s.required.every((r: unknown) => typeof r === 'string'))
  )
    out.push(`${where}: required is not a string array`)
  if (s.format === 'numeric' || s.format === 'integer' || s.format === 'boolean')
    out.push(`${where}: Elysia's string coercion format "${s.format}" leaked into the document`)
  for (const k of ['anyOf', 'oneOf', 'allOf'])
    if (s[k] !== undefined) {
      if (!Array.isArray(s[k])) out.push(`${where}.${k}: not an array`)
      else
        for (const [i, x] of (s[k] as unknown[]).entries()) schemaProblems(doc, x, `${where}.${k}[${i}]`, out)
    }
  if (s.properties !== undefined)
    for (const [k, v] of Object.entries(s.properties)) schemaProblems(doc, v, `${where}.properties.${k}`, out)
  if (s.items !== undefined) schemaProblems(doc, s.items, `${where}.items`, out)
  if (s.additionalProperties !== undefined && typeof s.additionalProperties === 'object')
    schemaProblems(doc, s.additionalProperties, `${where}.additionalProperties`, out)
}

function contentProblems(doc: Json, content: unknown, where: string, out: string[]) {
  if (!content || typeof content !== 'object') {
    out.push(`${where}: content is not an object`)
    return
  }
  for (const [type, media] of Object.entries(content)) {
    if (!MEDIA_TYPE.test(type)) out.push(`${where}: "${type}" is not a media type`)
    if (!media || typeof media !== 'object' || !('schema' in media))
      out.push(`${where}.${type}: media type object without a schema`)
    else schemaProblems(doc, (media as Json).schema, `${where}.${type}.schema`, out)
  }
}

/** A structural check of an OpenAPI 3.1 document: what a validator would reject, and our own rules. */
export function documentProblems(doc: Json): string[] {
  const out: string[] = []
  if (!String(doc.openapi).startsWith('3.1')) out.push('openapi is not 3.1.x')
  if (typeof doc.info?.title !== 'string' || typeof doc.info?.version !== 'string')
    out.push('info is incomplete')
  const tags = new Set((doc.tags ?? []).map((t: Json) => t.name))
  const schemes = doc.components?.securitySchemes ?? {}
  for (const [path, item] of Object.entries<Json>(doc.paths ?? {})) {
    if (!path.startsWith('/')) out.push(`${path}: does not start with /`)
    const pathParams = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1])
    for (const [method, op] of Object.entries<Json>(item)) {
      const at = `${method.toUpperCase()} ${path}`
      if (!METHODS.includes(method)) continue
      if (!Array.isArray(op.tags) || !op.tags.length) out.push(`${at}: no tags`)
      for (const t of op.tags ?? []) if (!tags.has(t)) out.push(`${at}: tag ${t} is not declared`)
      if (typeof op.summary !== 'string' || !op.summary) out.push(`${at}: no summary`)
      for (const req of op.security ?? [])
        for (const name of Object.keys(req))
          if (!(name in schemes)) out.push(`${at}: unknown security ${name}`)
      const params: Json[] = op.parameters ?? []
      const seen = new Set<string>()
      for (const p of params) {
        const id = `${p.in}:${String(p.name).toLowerCase()}`
        if (seen.has(id)) out.push(`${at}: duplicate parameter ${id}`)
        seen.add(id)
        if (typeof p.name !== 'string' || !['query', 'header', 'path', 'cookie'].includes(p.in))
          out.push(`${at}: bad parameter ${JSON.stringify(p)}`)
        if (p.in === 'path' && p.required !== true) out.push(`${at}: path parameter ${p.name} not required`)
        schemaProblems(doc, p.schema, `${at} parameter ${p.name}`, out)
      }
      for (const name of pathParams)
        if (!params.some((p) => p.in === 'path' && p.name === name))
          out.push(`${at}: path parameter ${name} undeclared`)
      if (op.requestBody) {
        if (!op.requestBody.content || !Object.keys(op.requestBody.content).length)
          out.push(`${at}: requestBody without content`)
        else contentProblems(doc, op.requestBody.content, `${at} requestBody`, out)
      }
      const responses = Object.entries<Json>(op.responses ?? {})
      if (!responses.length) out.push(`${at}: no responses`)
      for (const [status, r0] of responses) {
        const where = `${at} ${status}`
        if (!/^([1-5]\d\d|[1-5]XX|default)$/.test(status)) out.push(`${where}: bad status key`)
        const r = r0.$ref ? (resolve(doc, r0.$ref) as Json | undefined) : r0
        if (!r) {
          out.push(`${where}: dangling $ref ${r0.$ref}`)
          continue
        }
        if (typeof r.description !== 'string') out.push(`${where}: no description`)
        if (r.content !== undefined) contentProblems(doc, r.content, where, out)
        if (status === '204' && r.content !== undefined) out.push(`${where}: a 204 has content`)
        for (const [h, header] of Object.entries<Json>(r.headers ?? {}))
          if (!header.schema) out.push(`${where}: header ${h} without a schema`)
      }
      // Idempotency-Key is keyed by user: every authenticated POST takes it, anonymous ones do not
      const secured = (op.security ?? []).some((req: Json) => Object.keys(req).length > 0)
      const keyed = params.some((p) => p.in === 'header' && p.name === 'Idempotency-Key')
      if (method === 'post' && secured && !keyed) out.push(`${at}: no Idempotency-Key parameter`)
      if (keyed && !(method === 'post' && secured))
        out.push(`${at}: Idempotency-Key where it is not honoured`)
      // If-Match only where it is enforced, and then with its 412
      const ifMatch = params.some((p) => p.in === 'header' && p.name === 'If-Match')
      if (ifMatch !== Boolean(op.responses?.['412'])) out.push(`${at}: If-Match and 412 disagree`)
      if (op.responses?.['201'] && !op.responses['201'].headers?.Location)
        out.push(`${at} 201: no Location header`)
    }
  }
  return out
}

let doc: Json
let again: Json
beforeAll(async () => {
  const { req } = await createTestApp()
  doc = (await req('GET', '/openapi.json')).body
  again = (await req('GET', '/openapi.json')).body
})

describe('/openapi.json is a well-formed OpenAPI 3.1 document', () => {
  test('no structural problems', () => {
    expect(documentProblems(doc)).toEqual([])
  })

  test('post-processing is stable across requests', () => {
    expect(again).toEqual(doc)
  })

  test('the checker itself catches what it should', () => {
    const bad = {
      openapi: '3.0.0',
      info: {},
      tags: [{ name: 'T' }],
      paths: {
        '/x/{id}': {
          post: {
            tags: ['U'],
            security: [{ nope: [] }],
            parameters: [
              { name: 'q', in: 'query', schema: { anyOf: [{ type: 'string', format: 'numeric' }] } },
              { name: 'q', in: 'query', schema: { type: 'text', required: 'x' } },
            ],
            requestBody: { content: {} },
            responses: {
              '201': { description: 'c', content: { 'application/json': {} } },
              '204': { content: { type: 'void' } },
              '418x': { $ref: '#/components/responses/Nope' },
            },
          },
          delete: {
            tags: ['T'],
            summary: 's',
            parameters: [{ name: 'id', in: 'path', schema: { $ref: '#/nope' } }],
            requestBody: { content: { 'text/plain': { schema: 5 } } },
            responses: { '200': { description: 'ok', headers: { ETag: {} } }, '412': { description: 'p' } },
          },
          get: {},
          parameters: [],
        },
      },
    }
    const problems = documentProblems(bad).join('\n')
    for (const expected of [
      'not 3.1',
      'info is incomplete',
      'tag U is not declared',
      'no summary',
      'unknown security nope',
      'duplicate parameter',
      'coercion format',
      'bad type',
      'required is not a string array',
      'path parameter id undeclared',
      'requestBody without content',
      'media type object without a schema',
      '"type" is not a media type',
      'a 204 has content',
      'no description',
      'bad status key',
      'dangling $ref #/components/responses/Nope',
      'no Idempotency-Key',
      'no Location header',
      'path parameter id not required',
      'dangling $ref #/nope',
      'schema is not an object',
      'header ETag without a schema',
      'DELETE /x/{id}: If-Match and 412 disagree',
      'GET /x/{id}: no tags',
      'GET /x/{id}: no responses',
    ])
      expect(problems).toContain(expected)
  })

  test('204 responses have a description and no content', () => {
    expect(doc.paths['/api/v1/tasks/{id}'].delete.responses['204']).toEqual({ description: 'No Content' })
  })

  test('Idempotency-Key on authenticated POSTs, If-Match on PATCH and DELETE where enforced', () => {
    const key = doc.paths['/api/v1/projects'].post.parameters.find((p: Json) => p.name === 'Idempotency-Key')
    expect(key).toMatchObject({
      in: 'header',
      required: false,
      schema: { type: 'string', minLength: 1, maxLength: 255 },
    })
    for (const op of [doc.paths['/api/v1/tasks/{id}'].patch, doc.paths['/api/v1/tasks/{id}'].delete])
      expect(op.parameters.find((p: Json) => p.name === 'If-Match')).toMatchObject({
        in: 'header',
        required: false,
      })
    // my own profile is one resource too
    expect(doc.paths['/api/v1/users/me'].patch.parameters).toContainEqual(
      expect.objectContaining({ name: 'If-Match' }),
    )
    expect(doc.paths['/api/v1/users/me'].patch.responses['412']).toBeDefined()
    expect(doc.paths['/api/v1/projects'].get.parameters).not.toContainEqual(
      expect.objectContaining({ name: 'If-Match' }),
    )
    // not enforced there (tests/plugins/openapi/if-match.test.ts checks each against the server)
    expect(doc.paths['/api/v1/auth/sessions/{id}'].delete.parameters).not.toContainEqual(
      expect.objectContaining({ name: 'If-Match' }),
    )
    expect(doc.paths['/api/v1/auth/login'].post.parameters ?? []).not.toContainEqual(
      expect.objectContaining({ name: 'Idempotency-Key' }),
    )
  })

  test('201 declares Location; versioned resources declare ETag', () => {
    const created = doc.paths['/api/v1/projects'].post.responses['201']
    expect(created.headers.Location.schema.type).toBe('string')
    expect(created.headers.ETag.schema.type).toBe('string')
    expect(doc.paths['/api/v1/tasks/{id}'].get.responses['200'].headers.ETag).toBeDefined()
    expect(doc.paths['/api/v1/users/me'].get.responses['200'].headers.ETag).toBeDefined()
    expect(doc.paths['/api/v1/users/me/tokens'].post.responses['201'].headers.ETag).toBeUndefined()
    expect(doc.paths['/api/v1/auth/login'].post.responses['200'].headers).toBeUndefined()
  })

  test('the export lists CSV and NDJSON', () => {
    const content = doc.paths['/api/v1/projects/{id}/tasks/export'].get.responses['200'].content
    expect(Object.keys(content).sort()).toEqual(['application/x-ndjson', 'text/csv'])
    expect(content['text/csv'].schema.type).toBe('string')
  })

  test('query parameters carry no coercion anyOf: page and page_size are single-typed, is_active a boolean', () => {
    const params = doc.paths['/api/v1/users'].get.parameters
    for (const name of ['page', 'page_size']) {
      const { schema } = params.find((p: Json) => p.name === name)
      expect(schema.anyOf).toBeUndefined()
      expect(['integer', 'string']).toContain(schema.type)
      if (schema.type === 'integer') expect(schema.minimum).toBe(1)
      else expect(schema.pattern).toBeString()
    }
    expect(params.find((p: Json) => p.name === 'is_active').schema).toEqual({ type: 'boolean' })
  })
})

describe('addErrorResponses on a hand-made document', () => {
  test('normalizes coerced query schemas it recognizes and leaves others alone', () => {
    const numeric = {
      anyOf: [
        { type: 'string', format: 'numeric', default: 0 },
        { type: 'number', minimum: 0, description: 'how many' },
      ],
    }
    const integer = {
      anyOf: [
        { type: 'string', format: 'integer' },
        { type: 'integer', maximum: 9 },
      ],
    }
    const boolean = {
      anyOf: [
        { type: 'string', format: 'boolean', default: false },
        { type: 'boolean', default: true },
      ],
    }
    const other = { anyOf: [{ type: 'string' }, { type: 'number' }] }
    const out = addErrorResponses({
      paths: {
        '/a': {
          get: {
            parameters: [
              { name: 'n', in: 'query', schema: numeric },
              { name: 'i', in: 'query', schema: integer },
              { name: 'b', in: 'query', schema: boolean },
              { name: 'o', in: 'query', schema: other },
              { name: 'x', in: 'query' },
            ],
            responses: { '200': { content: { 'application/json': { schema: { type: 'object' } } } } },
          },
        },
      },
    }) as Json
    const [n, i, b, o, x] = out.paths['/a'].get.parameters
    expect(n.schema).toEqual({ type: 'number', minimum: 0, description: 'how many' })
    expect(i.schema).toEqual({ type: 'integer', maximum: 9 })
    expect(b.schema).toEqual({ type: 'boolean', default: true })
    expect(o.schema).toEqual(other)
    expect(x.schema).toBeUndefined()
    expect(out.paths['/a'].get.responses['200'].description).toBe('OK')
  })

  test('finds the version of a referenced schema for ETag, and drops non-media-type content keys', () => {
    const out = addErrorResponses({
      components: { schemas: { Thing: { type: 'object', properties: { version: { type: 'integer' } } } } },
      paths: {
        '/things/{id}': {
          get: {
            responses: {
              '200': { content: { 'application/json': { schema: { $ref: '#/components/schemas/Thing' } } } },
              '202': { content: { type: 'void' } },
            },
          },
        },
      },
    }) as Json
    const { responses } = out.paths['/things/{id}'].get
    expect(responses['200'].headers.ETag).toBeDefined()
    expect(responses['202']).toEqual({ description: 'Accepted' })
  })
})
