import { openapi } from '@elysiajs/openapi'
import { Elysia } from 'elysia'
import uiCss from 'swagger-ui-dist/swagger-ui.css' with { type: 'file' }
import uiJs from 'swagger-ui-dist/swagger-ui-bundle.js' with { type: 'file' }
import { VERSION } from '../lib/version'
import { restoreFastFormats } from './formats'

// Must run after @elysiajs/openapi is loaded (imports above are evaluated first)
restoreFastFormats()

export const DOCS_PATH = '/docs'
export const SPEC_PATH = '/openapi.json'

const problemSchema = {
  type: 'object',
  required: ['type', 'title', 'status', 'code', 'detail', 'instance', 'request_id'],
  properties: {
    type: { type: 'string', example: 'about:blank' },
    title: { type: 'string', example: 'Unprocessable Content' },
    status: { type: 'integer', example: 422 },
    code: { type: 'string', example: 'validation_failed' },
    detail: { type: 'string', example: 'Request body is invalid' },
    instance: { type: 'string', example: '/api/v1/projects' },
    request_id: { type: 'string' },
    errors: {
      type: 'array',
      items: {
        type: 'object',
        properties: { field: { type: 'string' }, pointer: { type: 'string' }, message: { type: 'string' } },
      },
    },
  },
} as const

const problem = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
})

/**
 * OpenAPI 3.1 at /openapi.json and Swagger UI at /docs. The UI's script and stylesheet are
 * embedded in the binary and served from /docs/assets, so the page works with no internet.
 */
export const docsPlugin = (opts: { uiEnabled: boolean }) =>
  new Elysia({ name: 'docs', seed: opts })
    .get(`${DOCS_PATH}/assets/swagger-ui.js`, () => Bun.file(uiJs), { detail: { hide: true } })
    .get(`${DOCS_PATH}/assets/swagger-ui.css`, () => Bun.file(uiCss), { detail: { hide: true } })
    .use(
      openapi({
        path: DOCS_PATH,
        specPath: SPEC_PATH,
        provider: opts.uiEnabled ? 'swagger-ui' : null,
        swagger: {
          cdn: `${DOCS_PATH}/assets/swagger-ui.js`,
          theme: `${DOCS_PATH}/assets/swagger-ui.css`,
          autoDarkMode: false,
          validatorUrl: 'none',
          persistAuthorization: true,
        },
        exclude: {
          paths: [
            DOCS_PATH,
            SPEC_PATH,
            `${DOCS_PATH}/assets/swagger-ui.js`,
            `${DOCS_PATH}/assets/swagger-ui.css`,
          ],
        },
        documentation: {
          info: {
            title: 'Taskbase API',
            version: VERSION,
            description:
              'Project and task management backend in one executable. Errors are RFC 9457 problem details (application/problem+json).',
          },
          tags: [
            { name: 'Operations', description: 'Health, readiness and this document' },
            { name: 'Auth', description: 'Registration, login, sessions and tokens' },
            { name: 'Users', description: 'Profiles and user administration' },
            { name: 'Projects', description: 'Projects, members and activity' },
            { name: 'Tasks', description: 'Tasks and export' },
            { name: 'Comments', description: 'Comments on tasks' },
          ],
          components: {
            securitySchemes: {
              bearerAuth: {
                type: 'http',
                scheme: 'bearer',
                bearerFormat: 'JWT',
                description: 'An access token from /api/v1/auth/login, or a personal API token (tb_...)',
              },
            },
            schemas: { Problem: problemSchema as never },
            responses: {
              BadRequest: problem('Malformed body or header'),
              Unauthorized: problem('Missing, invalid, expired or revoked token'),
              Forbidden: problem('Authenticated, but not allowed'),
              NotFound: problem('Unknown route or resource'),
              Conflict: problem('Duplicate or state conflict'),
              PreconditionFailed: problem('If-Match does not match'),
              PayloadTooLarge: problem('Body over the limit'),
              UnsupportedMediaType: problem('Wrong content type'),
              ValidationFailed: problem('Schema or business-rule violation'),
              RateLimited: problem('Too many requests; see Retry-After'),
              InternalError: problem('Unexpected failure; the log has details under request_id'),
            } as never,
          },
        },
      }),
    )
