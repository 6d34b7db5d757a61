import { openapi } from '@elysiajs/openapi'
import { Elysia } from 'elysia'
import uiCss from 'swagger-ui-dist/swagger-ui.css' with { type: 'file' }
import uiJs from 'swagger-ui-dist/swagger-ui-bundle.js' with { type: 'file' }
import { LOGIN_PATH } from '../lib/api'
import { ERROR_CODES } from '../lib/errors'
import { VERSION } from '../lib/version'
import { restoreFastFormats } from './formats'
import { type CompilableRoute, compileAll } from './openapi-compile'

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
    code: { type: 'string', enum: Object.keys(ERROR_CODES), example: 'validation_failed' },
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

const problem = (description: string, headers?: Record<string, unknown>) => ({
  description,
  ...(headers ? { headers } : {}),
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
})

const CHALLENGE = {
  'WWW-Authenticate': { description: 'Always `Bearer`', schema: { type: 'string', examples: ['Bearer'] } },
}
const RETRY_AFTER = {
  'Retry-After': { description: 'Seconds to wait before retrying', schema: { type: 'integer', minimum: 1 } },
  RateLimit: {
    description:
      'Per-caller limits (IETF RateLimit header fields): `"<class>";r=<remaining>;t=<seconds to reset>`; also on successful answers to authenticated requests',
    schema: { type: 'string', examples: ['"reads";r=0;t=42'] },
  },
  'RateLimit-Policy': {
    description: 'The quota of the class: `"<class>";q=<requests>;w=<window seconds>`',
    schema: { type: 'string', examples: ['"reads";q=600;w=60'] },
  },
}

/**
 * OpenAPI 3.1 at /openapi.json and Swagger UI at /docs. The UI's script and stylesheet are
 * embedded in the binary and served from /docs/assets, so the page works with no internet.
 */
export const docsPlugin = (opts: { uiEnabled: boolean }) => {
  const plugin = new Elysia({ name: 'docs', seed: opts })
  return plugin
    .get(`${DOCS_PATH}/assets/swagger-ui.js`, () => Bun.file(uiJs), { detail: { hide: true } })
    .get(`${DOCS_PATH}/assets/swagger-ui.css`, () => Bun.file(uiCss), { detail: { hide: true } })
    .onRequest(({ request }) => {
      // Before the document is generated: compiling a route changes its schemas (Elysia adds
      // `additionalProperties: false`), so compile every route of the app first, whichever ran
      // already. A string test, no URL parse: this runs on every request.
      const url = request.url
      const end = url.indexOf('?')
      if (!(end === -1 ? url : url.slice(0, end)).endsWith(SPEC_PATH)) return
      // the whole app's routes (Elysia points a used plugin's getGlobalRoutes at its parent's)
      compileAll((plugin as unknown as { getGlobalRoutes(): CompilableRoute[] }).getGlobalRoutes())
    })
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
          // relative: the document describes whichever host serves it
          servers: [{ url: '/', description: 'This server' }],
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
            { name: 'Attachments', description: 'Files on tasks: checked uploads, streamed downloads' },
            { name: 'Jobs', description: 'Background jobs: reports and their status' },
            {
              name: 'Webhooks',
              description: 'Signed event deliveries to your endpoints (Standard Webhooks) and their log',
            },
            {
              name: 'Realtime',
              description:
                'A WebSocket of project events that resumes without a gap (messages: README, Realtime)',
            },
          ],
          components: {
            securitySchemes: {
              bearerAuth: {
                type: 'http',
                scheme: 'bearer',
                bearerFormat: 'JWT',
                description: 'An access token from /api/v1/auth/login, or a personal API token (tb_...)',
              },
              oauth2Password: {
                type: 'oauth2',
                description:
                  'Log in with a username (or email) and password: the Authorize button of /docs posts the form to the login route and sends the access token it returns as a Bearer token.',
                flows: { password: { tokenUrl: LOGIN_PATH, scopes: {} } },
              },
            },
            schemas: { Problem: problemSchema as never },
            responses: {
              BadRequest: problem(
                'Malformed body or header, or text PostgreSQL cannot store: U+0000 or an unpaired surrogate in the query, body or form',
              ),
              Unauthorized: problem(
                'Missing, invalid, expired or revoked token, or wrong credentials',
                CHALLENGE,
              ),
              Forbidden: problem('Authenticated, but not allowed'),
              NotFound: problem('Unknown route or resource'),
              Conflict: problem('Duplicate or state conflict'),
              PreconditionFailed: problem('If-Match does not match'),
              PayloadTooLarge: problem('Body over the limit'),
              UnsupportedMediaType: problem('Wrong content type'),
              ValidationFailed: problem('Schema or business-rule violation'),
              UpgradeRequired: problem('Not a WebSocket upgrade (`Upgrade: websocket`)'),
              RateLimited: problem('Too many requests; see Retry-After', RETRY_AFTER),
              InternalError: problem('Unexpected failure; the log has details under request_id'),
              ServiceUnavailable: problem(
                'Not ready: database unreachable, migrations pending or shutting down',
              ),
            } as never,
          },
        },
      }),
    )
}
