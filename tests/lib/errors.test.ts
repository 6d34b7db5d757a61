import { describe, expect, test } from 'bun:test'
import { AppError, badRequest, codeForStatus, ERROR_CODES, methodNotAllowed } from '../../src/lib/errors'

describe('the closed set of error codes', () => {
  test('an AppError takes its status from its code', () => {
    expect(new AppError('conflict', 'x').status).toBe(409)
    expect(badRequest('x', 'unsupported_grant_type').status).toBe(400)
    const e = methodNotAllowed('PUT', '/a', ['GET', 'HEAD'])
    expect([e.status, e.code, e.headers]).toEqual([405, 'method_not_allowed', { allow: 'GET, HEAD' }])
  })

  test('a framework error with a bare status gets that status code if one code has it, else bad_request', () => {
    expect(codeForStatus(413)).toBe('payload_too_large')
    expect(codeForStatus(415)).toBe('unsupported_media_type')
    expect(codeForStatus(400)).toBe('bad_request') // three 400 codes: the generic one
    expect(codeForStatus(418)).toBe('bad_request')
  })

  test('codes are snake_case, statuses are 4xx/5xx', () => {
    for (const [code, { status }] of Object.entries(ERROR_CODES)) {
      expect(code).toMatch(/^[a-z]+(_[a-z]+)*$/)
      expect(status >= 400 && status < 600).toBe(true)
    }
  })
})
