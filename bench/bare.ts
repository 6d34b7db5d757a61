/**
 * The ceiling: bare Bun.serve, no framework, running the same SQL as Taskbase through postgres.js
 * (statements copied from what Drizzle sends, captured with tests' query log), with the same JWT
 * check. Only the benchmarked endpoints exist. Started by bench/run.ts.
 */
import postgres from 'postgres'
import { createJwt } from '../src/modules/auth/jwt'

const sql = postgres(process.env.DATABASE_URL!, {
  max: Number(process.env.DB_POOL_MAX ?? 16),
  onnotice: () => {},
})
const jwt = createJwt(process.env.SECRET_KEY!, 'HS256')

const AUTH = `select "users"."id", "users"."email", "users"."username", "users"."full_name", "users"."role", "users"."is_active", "users"."email_verified", "users"."created_at", "users"."updated_at", "users"."version", "sessions"."last_used_at" from "sessions" inner join "users" on "users"."id" = "sessions"."user_id" where ("sessions"."id" = $1 and "sessions"."user_id" = $2 and "sessions"."revoked_at" is null and "sessions"."expires_at" > now()) limit $3`

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } })

async function authenticate(req: Request) {
  const token = req.headers.get('authorization')?.slice(7)
  const claims = token ? jwt.verifyAccess(token) : null
  if (!claims) return null
  const [user] = await sql.unsafe(AUTH, [claims.sid, claims.sub, 1], { prepare: true })
  return user ?? null
}

const iso = (d: unknown) => (d instanceof Date ? d.toISOString() : d)

const server = Bun.serve({
  port: Number(process.env.PORT ?? 3001),
  hostname: '127.0.0.1',
  async fetch(req) {
    const url = new URL(req.url)
    if (url.pathname === '/health') return json({ status: 'ok' })
    const user = await authenticate(req)
    if (!user) return json({ status: 401 }, 401)
    if (url.pathname === '/api/v1/users/me') {
      return json({
        id: user.id,
        email: user.email,
        username: user.username,
        full_name: user.full_name,
        role: user.role,
        is_active: user.is_active,
        email_verified: user.email_verified,
        created_at: iso(user.created_at),
        updated_at: iso(user.updated_at),
        version: user.version,
      })
    }
    return json({ status: 404 }, 404)
  },
})
console.log(`bare ceiling on ${server.url}`)
