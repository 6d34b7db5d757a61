import { type IntegerOptions, Type } from '@sinclair/typebox'

/**
 * A plain JSON integer. Elysia's `t.Integer` is a string-to-integer transform union: in a
 * response schema it makes Elysia run TypeBox Encode over every response and renders as
 * `anyOf[string, integer]` in OpenAPI. Bodies are JSON, so numbers arrive as numbers anyway.
 */
export const Int = (options?: IntegerOptions) => Type.Integer(options)
