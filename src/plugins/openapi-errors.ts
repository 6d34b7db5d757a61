type Operation = { security?: unknown[]; responses?: Record<string, unknown> }
type Doc = { paths?: Record<string, Record<string, Operation>> }

const ref = (name: string) => ({ $ref: `#/components/responses/${name}` })

/** Adds the contract's problem+json error responses to every operation of the generated document. */
export function addErrorResponses<T>(doc: T): T {
  const paths = (doc as Doc).paths ?? {}
  for (const [path, item] of Object.entries(paths)) {
    const hasParam = path.includes('{')
    for (const [method, op] of Object.entries(item)) {
      if (!op || typeof op !== 'object') continue
      const r: Record<string, unknown> = { ...op.responses }
      const add = (status: number, name: string) => {
        if (!(String(status) in r)) r[String(status)] = ref(name)
      }
      const writes = ['post', 'put', 'patch', 'delete'].includes(method)
      if (op.security?.length) {
        add(401, 'Unauthorized')
        add(403, 'Forbidden')
      }
      if (hasParam) add(404, 'NotFound')
      if (writes) {
        add(400, 'BadRequest')
        add(413, 'PayloadTooLarge')
        add(415, 'UnsupportedMediaType')
      }
      if (writes && hasParam && method !== 'post') add(412, 'PreconditionFailed')
      add(422, 'ValidationFailed')
      add(500, 'InternalError')
      op.responses = r
    }
  }
  return doc
}
