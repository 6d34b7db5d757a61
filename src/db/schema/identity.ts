import { sql } from 'drizzle-orm'
import { boolean, check, index, pgTable, primaryKey, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core'
import { id, oneOf, timestamps, tstz, version } from './columns'

export const USER_ROLES = ['user', 'admin', 'superadmin'] as const
export type UserRole = (typeof USER_ROLES)[number]

export const users = pgTable(
  'users',
  {
    id: id(),
    email: text().notNull(),
    username: text().notNull(),
    fullName: text().notNull().default(''),
    passwordHash: text().notNull(),
    role: text().$type<UserRole>().notNull().default('user'),
    isActive: boolean().notNull().default(true),
    emailVerified: boolean().notNull().default(false),
    ...timestamps,
    version: version(),
  },
  (t) => [
    uniqueIndex('users_email_lower_key').on(sql`lower(${t.email})`),
    uniqueIndex('users_username_lower_key').on(sql`lower(${t.username})`),
    check('users_role_check', oneOf(t.role, USER_ROLES)),
  ],
)

/** A login on one device. Access tokens carry its id (`sid`); ending it refuses them at once. */
export const sessions = pgTable(
  'sessions',
  {
    id: id(),
    userId: uuid()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    userAgent: text(),
    ip: text(),
    createdAt: tstz().notNull().defaultNow(),
    lastUsedAt: tstz().notNull().defaultNow(),
    expiresAt: tstz().notNull(),
    revokedAt: tstz(),
  },
  (t) => [index('sessions_user_id_idx').on(t.userId), index('sessions_expires_at_idx').on(t.expiresAt)],
)

/** Each refresh token is usable once; only its SHA-256 is stored. */
export const refreshTokens = pgTable(
  'refresh_tokens',
  {
    id: id(),
    sessionId: uuid()
      .notNull()
      .references(() => sessions.id, { onDelete: 'cascade' }),
    tokenHash: text().notNull().unique(),
    createdAt: tstz().notNull().defaultNow(),
    usedAt: tstz(),
  },
  (t) => [index('refresh_tokens_session_id_idx').on(t.sessionId)],
)

export const API_TOKEN_SCOPES = ['read', 'write'] as const
export type ApiTokenScope = (typeof API_TOKEN_SCOPES)[number]

export const apiTokens = pgTable(
  'api_tokens',
  {
    id: id(),
    userId: uuid()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    name: text().notNull(),
    tokenHash: text().notNull().unique(),
    scope: text().$type<ApiTokenScope>().notNull(),
    createdAt: tstz().notNull().defaultNow(),
    lastUsedAt: tstz(),
    expiresAt: tstz(),
  },
  (t) => [
    index('api_tokens_user_id_idx').on(t.userId),
    check('api_tokens_scope_check', oneOf(t.scope, API_TOKEN_SCOPES)),
  ],
)

export const ONE_TIME_PURPOSES = ['password_reset', 'verify_email', 'email_change_undo'] as const
export type OneTimePurpose = (typeof ONE_TIME_PURPOSES)[number]

/** Single-use emailed tokens (password reset, email verification, undoing an email change); only the hash is stored. */
export const oneTimeTokens = pgTable(
  'one_time_tokens',
  {
    id: id(),
    userId: uuid()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    purpose: text().$type<OneTimePurpose>().notNull(),
    tokenHash: text().notNull().unique(),
    /**
     * The address the token was sent to: a reset or verification is void once the user's email
     * changed; an undo token holds the address to restore.
     */
    email: text().notNull(),
    createdAt: tstz().notNull().defaultNow(),
    expiresAt: tstz().notNull(),
    usedAt: tstz(),
  },
  (t) => [
    index('one_time_tokens_user_id_idx').on(t.userId),
    index('one_time_tokens_expires_at_idx').on(t.expiresAt),
  ],
)

/** Stored responses of POSTs sent with an Idempotency-Key (24 h, per user). */
export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    userId: uuid()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    key: text().notNull(),
    requestHash: text().notNull(),
    /** Null while the first request is still running. */
    responseStatus: text(),
    responseBody: text(),
    responseHeaders: text(),
    createdAt: tstz().notNull().defaultNow(),
    expiresAt: tstz().notNull(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.key] }), index('idempotency_keys_expires_idx').on(t.expiresAt)],
)
