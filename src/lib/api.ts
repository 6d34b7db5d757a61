/** Where the API is mounted; Location headers and path checks build on it. */
export const API_PREFIX = '/api/v1'

/** The one route that also takes a form body (the OAuth2 password grant). */
export const LOGIN_PATH = `${API_PREFIX}/auth/login`

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
export const isUuid = (id: string) => UUID.test(id)
