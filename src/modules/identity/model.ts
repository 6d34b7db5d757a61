import { t } from 'elysia'
import { API_TOKEN_SCOPES, USER_ROLES } from '../../db/schema'
import { pageQuery, pageSchema, sortQuery } from '../../lib/pagination'
import { literals } from '../../lib/schema'
import type { CleanSpec } from '../../lib/text'
import type { AuthUser } from './principal'

const closed = { additionalProperties: false } as const

export const USER_SORT = ['created_at', 'updated_at', 'email', 'username', 'full_name', 'role'] as const

export const Email = t.String({
  format: 'email',
  maxLength: 254,
  error: 'must be a valid email address',
  examples: ['ada@example.com'],
})
export const Username = t.String({
  pattern: '^[A-Za-z0-9_-]{3,50}$',
  error: 'must be 3-50 letters, digits, _ or -',
  examples: ['ada_l'],
})
export const FullName = t.String({ maxLength: 200, error: 'must be at most 200 characters' })
/** Length and content rules are checked by the password policy, one error per broken rule. */
export const Password = t.String({
  maxLength: 4096,
  description: '8-128 characters, one uppercase letter, one digit, one special character',
})
export const Role = literals(USER_ROLES, {
  error: 'must be user, admin or superadmin',
})
const Time = t.String({ format: 'date-time' })

export const UserPublic = t.Object({
  id: t.String({ format: 'uuid' }),
  email: t.String(),
  username: t.String(),
  full_name: t.String(),
  role: Role,
  is_active: t.Boolean(),
  email_verified: t.Boolean(),
  created_at: Time,
  updated_at: Time,
  version: t.Number({ multipleOf: 1 }),
})

export const TokenPair = t.Object({
  access_token: t.String(),
  refresh_token: t.String(),
  token_type: t.Literal('bearer'),
  expires_in: t.Number({ multipleOf: 1 }),
})

export const SessionPublic = t.Object({
  id: t.String({ format: 'uuid' }),
  current: t.Boolean(),
  user_agent: t.Union([t.String(), t.Null()]),
  ip: t.Union([t.String(), t.Null()]),
  created_at: Time,
  last_used_at: Time,
})

export const ApiTokenPublic = t.Object({
  id: t.String({ format: 'uuid' }),
  name: t.String(),
  scope: literals(API_TOKEN_SCOPES),
  created_at: Time,
  last_used_at: t.Union([Time, t.Null()]),
  expires_at: t.Union([Time, t.Null()]),
})
export const ApiTokenCreated = t.Composite([ApiTokenPublic, t.Object({ token: t.String() })])

export const IdParams = t.Object({ id: t.String() })

export const Accepted = t.Object({ status: t.Literal('accepted') })

export const IdentityModel = {
  register: t.Object(
    { email: Email, username: Username, password: Password, full_name: t.Optional(FullName) },
    closed,
  ),
  /** The OAuth2 password grant (form) or the same fields as JSON; the OAuth2 extras are ignored. */
  login: t.Object(
    {
      username: t.String({ minLength: 1, maxLength: 254, description: 'Username or email' }),
      password: t.String({ maxLength: 4096 }),
      grant_type: t.Optional(t.String({ maxLength: 50 })),
      scope: t.Optional(t.String({ maxLength: 500 })),
      client_id: t.Optional(t.String({ maxLength: 200 })),
      client_secret: t.Optional(t.String({ maxLength: 200 })),
    },
    closed,
  ),
  refresh: t.Object({ refresh_token: t.String({ minLength: 1, maxLength: 512 }) }, closed),
  resetRequest: t.Object({ email: Email }, closed),
  resetConfirm: t.Object(
    { token: t.String({ minLength: 1, maxLength: 512 }), new_password: Password },
    closed,
  ),
  verifyConfirm: t.Object({ token: t.String({ minLength: 1, maxLength: 512 }) }, closed),
  undoEmailChange: t.Object({ token: t.String({ minLength: 1, maxLength: 512 }) }, closed),
  updateMe: t.Object(
    {
      email: t.Optional(Email),
      username: t.Optional(Username),
      full_name: t.Optional(FullName),
      current_password: t.Optional(
        t.String({ maxLength: 4096, description: 'Required when `email` changes (re-authentication)' }),
      ),
    },
    closed,
  ),
  changePassword: t.Object(
    { current_password: t.String({ maxLength: 4096 }), new_password: Password },
    closed,
  ),
  createToken: t.Object(
    {
      name: t.String({ minLength: 1, maxLength: 100, error: 'must be 1-100 characters' }),
      scope: literals(API_TOKEN_SCOPES, { error: 'must be read or write' }),
      expires_at: t.Optional(
        t.Union([t.String({ format: 'date-time' }), t.Null()], { error: 'must be an ISO 8601 date-time' }),
      ),
    },
    closed,
  ),
  adminCreate: t.Object(
    {
      email: Email,
      username: Username,
      password: Password,
      full_name: t.Optional(FullName),
      role: t.Optional(Role),
      is_active: t.Optional(t.Boolean()),
    },
    closed,
  ),
  adminUpdate: t.Object(
    {
      email: t.Optional(Email),
      full_name: t.Optional(FullName),
      role: t.Optional(Role),
      is_active: t.Optional(t.Boolean()),
    },
    closed,
  ),
  listQuery: t.Object(
    {
      ...pageQuery,
      ...sortQuery(USER_SORT),
      search: t.Optional(t.String({ maxLength: 200 })),
      role: t.Optional(Role),
      is_active: t.Optional(t.BooleanString()),
    },
    closed,
  ),
  userList: pageSchema(UserPublic),
  /** Lists without sort or filters (sessions, API tokens): just the page. */
  pageOnly: t.Object({ page: pageQuery.page, page_size: pageQuery.page_size }, closed),
  sessionList: pageSchema(SessionPublic),
  tokenList: pageSchema(ApiTokenPublic),
}

/** The `clean` macro's fields of identity bodies: full_name (users) and name (API tokens). */
export const cleanNames: CleanSpec = { fields: { full_name: 200, name: 100 } }

/** Lower-cases email before the schema sees it. */
export function lowerEmail(ctx: { body: unknown }) {
  const b = ctx.body as Record<string, unknown> | null
  if (b && typeof b === 'object' && typeof b.email === 'string') b.email = b.email.trim().toLowerCase()
}

const iso = (d: Date) => d.toISOString()

export function toPublicUser(u: AuthUser) {
  return {
    id: u.id,
    email: u.email,
    username: u.username,
    full_name: u.fullName,
    role: u.role,
    is_active: u.isActive,
    email_verified: u.emailVerified,
    created_at: iso(u.createdAt),
    updated_at: iso(u.updatedAt),
    version: u.version,
  }
}

export function toPublicSession(
  s: { id: string; userAgent: string | null; ip: string | null; createdAt: Date; lastUsedAt: Date },
  currentId: string | null,
) {
  return {
    id: s.id,
    current: s.id === currentId,
    user_agent: s.userAgent,
    ip: s.ip,
    created_at: iso(s.createdAt),
    last_used_at: iso(s.lastUsedAt),
  }
}

export function toPublicToken(tk: {
  id: string
  name: string
  scope: 'read' | 'write'
  createdAt: Date
  lastUsedAt: Date | null
  expiresAt: Date | null
}) {
  return {
    id: tk.id,
    name: tk.name,
    scope: tk.scope,
    created_at: iso(tk.createdAt),
    last_used_at: tk.lastUsedAt ? iso(tk.lastUsedAt) : null,
    expires_at: tk.expiresAt ? iso(tk.expiresAt) : null,
  }
}
