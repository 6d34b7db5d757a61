import { Elysia } from 'elysia'
import { type CleanSpec, cleanFields } from '../lib/text'

/**
 * `clean: { fields, arrays }` on a route strips HTML from its free-text fields before validation.
 * A macro rather than a route `transform`, because Elysia runs a route's own transform before the
 * macros' ones: written after `auth: true` in the route options, cleaning runs after the token
 * check, so an anonymous caller gets its 401 without the body being touched. cleanFields skips
 * values over their maxLength, so even before validation the work is bounded by the schema.
 */
export const cleanPlugin = new Elysia({ name: 'clean' }).macro({
  clean: (spec: CleanSpec) => ({ transform: cleanFields(spec) }),
})
