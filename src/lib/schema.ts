import { type IntegerOptions, type SchemaOptions, type TLiteral, type TUnion, Type } from '@sinclair/typebox'

/**
 * A plain JSON integer. Elysia's `t.Integer` is a string-to-integer transform union: in a
 * response schema it makes Elysia run TypeBox Encode over every response and renders as
 * `anyOf[string, integer]` in OpenAPI. Bodies are JSON, so numbers arrive as numbers anyway.
 */
export const Int = (options?: IntegerOptions) => Type.Integer(options)

type LiteralTuple<V extends readonly string[]> = { -readonly [K in keyof V]: TLiteral<V[K] & string> }

/**
 * A union of string literals from an enum's constant list (the same list makes the SQL CHECK), so
 * each enum is written once. Renders as an OpenAPI `enum`.
 */
export function literals<const V extends readonly string[]>(
  values: V,
  options?: SchemaOptions,
): TUnion<LiteralTuple<V>> {
  const members: TLiteral[] = values.map((v) => Type.Literal(v))
  return Type.Union(members, options) as unknown as TUnion<LiteralTuple<V>>
}

/** `{id}` in a path: a UUID (a malformed one is a 404, see the http plugin). */
export const UuidParams = Type.Object({ id: Type.String({ format: 'uuid' }) })
