import { describe, expect, test } from 'bun:test'
import { servedDocument } from '../helpers/declared-statuses'
import { operationFor, recordedStatuses, recordStatus, undeclaredStatuses } from '../helpers/status-recorder'

const doc = {
  paths: {
    '/api/v1/users/{id}': {
      get: { responses: { '200': {}, '404': {} } },
      delete: { responses: { '204': {} } },
    },
    '/api/v1/users/me': { get: { responses: { '200': {}, '401': {} } } },
    '/api/v1/ranged': { get: { responses: { '200': {}, '4XX': {} } } },
    '/api/v1/any': { get: { responses: { default: {} } } },
  },
}

describe('the declared-status checker', () => {
  test('maps a request to its operation: the most literal template with that method wins', () => {
    expect(operationFor(doc, 'GET', '/api/v1/users/me')?.template).toBe('/api/v1/users/me')
    expect(operationFor(doc, 'GET', '/api/v1/users/42')?.template).toBe('/api/v1/users/{id}')
    // no DELETE on /users/me: the router takes /users/{id} with id "me"
    expect(operationFor(doc, 'DELETE', '/api/v1/users/me')?.template).toBe('/api/v1/users/{id}')
    expect(operationFor(doc, 'PUT', '/api/v1/users/me')).toBeUndefined()
    expect(operationFor(doc, 'GET', '/nowhere')).toBeUndefined()
    expect(operationFor(doc, 'BREW', '/api/v1/users/me')).toBeUndefined()
  })

  test('reports each undeclared (method, template, status) once; ranges and default count', () => {
    const seen = [
      { method: 'GET', path: '/api/v1/users/me', status: 200 },
      { method: 'GET', path: '/api/v1/users/me', status: 409 },
      { method: 'GET', path: '/api/v1/users/1', status: 409 },
      { method: 'GET', path: '/api/v1/users/2', status: 409 },
      { method: 'GET', path: '/api/v1/users/2', status: 404 },
      { method: 'GET', path: '/api/v1/ranged', status: 429 },
      { method: 'GET', path: '/api/v1/ranged', status: 503 },
      { method: 'GET', path: '/api/v1/any', status: 503 },
      { method: 'GET', path: '/unknown', status: 404 },
    ]
    expect(undeclaredStatuses(doc, seen)).toEqual([
      'GET /api/v1/ranged 503',
      'GET /api/v1/users/me 409',
      'GET /api/v1/users/{id} 409',
    ])
  })

  test('records by path without query or host', () => {
    recordStatus('get', 'http://localhost/api/v1/recorder-probe?x=1', 200)
    expect(recordedStatuses()).toContainEqual({ method: 'GET', path: '/api/v1/recorder-probe', status: 200 })
  })

  test('the served document declares what the issue lists', async () => {
    const served = await servedDocument()
    const must: [string, string, number][] = [
      ['POST', '/api/v1/auth/login', 401],
      ['POST', '/api/v1/auth/refresh', 401],
      ['POST', '/api/v1/auth/register', 409],
      ['POST', '/api/v1/projects', 409],
      ['POST', '/api/v1/projects/x/members', 409],
      ['PATCH', '/api/v1/projects/x/members/y', 409],
      ['DELETE', '/api/v1/projects/x/members/y', 409],
      ['POST', '/api/v1/auth/login', 429],
      ['POST', '/api/v1/auth/register', 429],
      ['GET', '/ready', 503],
    ]
    const seen = must.map(([method, path, status]) => ({ method, path, status }))
    expect(undeclaredStatuses(served, seen)).toEqual([])
    // NUL or a lone surrogate is refused with a 400 by every operation (query, body or form)
    for (const [path, item] of Object.entries<Record<string, any>>(served.paths))
      for (const [method, op] of Object.entries<Record<string, any>>(item))
        expect({ at: `${method} ${path}`, has400: '400' in op.responses }).toEqual({
          at: `${method} ${path}`,
          has400: true,
        })
  })

  test('a run that sees an undeclared status fails, naming it', () => {
    const run = Bun.spawnSync(
      ['bun', 'test', '--timeout', '30000', './tests/process/fixtures/undeclared-status.fixture.ts'],
      { cwd: `${import.meta.dir}/../..`, env: { ...process.env }, stdout: 'pipe', stderr: 'pipe' },
    )
    const output = run.stdout.toString() + run.stderr.toString()
    expect(output).toContain('GET /health 418')
    expect(run.exitCode).not.toBe(0)
  }, 60_000)
})
