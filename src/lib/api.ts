/** Where the API is mounted; Location headers and path checks build on it. */
export const API_PREFIX = '/api/v1'

/** The one route that also takes a form body (the OAuth2 password grant). */
export const LOGIN_PATH = `${API_PREFIX}/auth/login`

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
export const isUuid = (id: string) => UUID.test(id)

/** The one route that takes a multipart body (an attachment upload), streamed by its handler. */
export const UPLOAD_PATH = /^\/api\/v1\/tasks\/[^/]+\/attachments\/?$/

/** Multipart framing allowed around an uploaded file (boundaries, part headers, small fields). */
export const MULTIPART_ROOM = 64 * 1024
