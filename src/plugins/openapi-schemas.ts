/** Schema-level clean-up of the generated OpenAPI document: what clients and linters expect. */

export type Json = Record<string, unknown>

export const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v)

const CHILD_MAPS = ['properties', 'patternProperties', '$defs'] as const
const CHILD_LISTS = ['anyOf', 'oneOf', 'allOf', 'prefixItems'] as const
const CHILD_ONE = ['items', 'additionalProperties', 'not', 'contains', 'if', 'then', 'else'] as const

/** Calls `fn` on `schema` and every schema nested in it, parents first. */
export function eachSchema(schema: unknown, fn: (s: Json, name?: string) => void, name?: string): void {
  if (!isObject(schema)) return
  fn(schema, name)
  for (const key of CHILD_MAPS)
    if (isObject(schema[key])) for (const [k, v] of Object.entries(schema[key])) eachSchema(v, fn, k)
  for (const key of CHILD_LISTS)
    if (Array.isArray(schema[key])) for (const v of schema[key]) eachSchema(v, fn)
  for (const key of CHILD_ONE) eachSchema(schema[key], fn)
}

/** Properties that carry a password: Swagger UI masks `format: password`, generators type them. */
const PASSWORD_FIELDS = new Set(['password', 'new_password', 'current_password'])

/**
 * One schema node, in place:
 * - drops Elysia's `error` (a custom validation message, not a JSON Schema keyword: Redocly's `struct`);
 * - `number` with `multipleOf: 1` is an `integer`;
 * - a union of string constants (`t.Union([t.Literal(..)])`) is an `enum`;
 * - a string property named like a password gets `format: password`.
 */
export function cleanSchemaNode(s: Json, name?: string): void {
  delete s.error
  if (s.type === 'number' && s.multipleOf === 1) {
    s.type = 'integer'
    delete s.multipleOf
  }
  const branches = s.anyOf
  if (
    Array.isArray(branches) &&
    branches.length > 0 &&
    branches.every((b) => isObject(b) && 'const' in b && typeof b.const === 'string')
  ) {
    delete s.anyOf
    s.type = 'string'
    s.enum = branches.map((b) => (b as Json).const)
  }
  if (name && PASSWORD_FIELDS.has(name) && s.type === 'string') s.format = 'password'
}

type Operation = { parameters?: { schema?: unknown }[]; requestBody?: Json; responses?: Json }

/** Every schema root of the document: components, parameters, request and response bodies. */
export function schemaRoots(doc: Json): Json[] {
  const roots: Json[] = []
  const components = isObject(doc.components) ? doc.components : {}
  if (isObject(components.schemas)) for (const s of Object.values(components.schemas)) roots.push(s as Json)
  const media = (content: unknown) => {
    if (isObject(content))
      for (const m of Object.values(content)) if (isObject(m)) roots.push(m.schema as Json)
  }
  for (const item of Object.values((doc.paths as Json | undefined) ?? {}))
    for (const op of Object.values(item as Json)) {
      if (!isObject(op)) continue
      const o = op as Operation
      for (const p of o.parameters ?? []) roots.push(p.schema as Json)
      media(o.requestBody?.content)
      for (const r of Object.values(o.responses ?? {})) if (isObject(r)) media(r.content)
    }
  return roots
}

/** Applies cleanSchemaNode to every schema of the document. */
export function cleanSchemas(doc: Json): void {
  for (const root of schemaRoots(doc)) eachSchema(root, cleanSchemaNode)
}
