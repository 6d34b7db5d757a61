/**
 * The ceiling: bare Bun.serve, no framework, running the same SQL as Taskbase through postgres.js
 * (statements copied from what Drizzle sends, captured with tests' query log), with the same JWT
 * check. Only the benchmarked endpoints exist. Started by bench/run.ts.
 */
import postgres from 'postgres'
import { createJwt } from '../src/modules/identity/access-tokens'

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
  const claims = token ? await jwt.verifyAccess(token) : null
  if (!claims) return null
  const [user] = await sql.unsafe(AUTH, [claims.sid, claims.sub, 1], { prepare: true })
  return user ?? null
}

const iso = (d: unknown) => (d instanceof Date ? d.toISOString() : d)

const PROJECT_ACCESS = `select "projects"."id", "projects"."name", "projects"."slug", "projects"."description", "projects"."status", "projects"."owner_id", "projects"."task_seq", "projects"."task_count", "projects"."created_at", "projects"."updated_at", "projects"."version", "projects"."deleted_at", "project_members"."role" from "projects" inner join "project_members" on ("project_members"."project_id" = "projects"."id" and "project_members"."user_id" = $1) where ("projects"."id" = $2 and "projects"."deleted_at" is null) limit $3`
const TASK_COLS = `"id", "project_id", "number", "title", "description", "status", "priority", "priority_rank", "assignee_id", "labels", "due_date", "completed_at", "created_by", "created_at", "updated_at", "version"`
const LIST = `select ${TASK_COLS} from "tasks" where "tasks"."project_id" = $1 order by "tasks"."number" asc, "tasks"."id" asc limit $2`
const COUNT = `select count(*) from "tasks" where "tasks"."project_id" = $1`
const TASK_ACCESS = `select "tasks"."id", "tasks"."project_id", "tasks"."number", "tasks"."title", "tasks"."description", "tasks"."status", "tasks"."priority", "tasks"."priority_rank", "tasks"."assignee_id", "tasks"."labels", "tasks"."due_date", "tasks"."completed_at", "tasks"."created_by", "tasks"."created_at", "tasks"."updated_at", "tasks"."version", "project_members"."role" from "tasks" inner join "projects" on ("projects"."id" = "tasks"."project_id" and "projects"."deleted_at" is null) inner join "project_members" on ("project_members"."project_id" = "tasks"."project_id" and "project_members"."user_id" = $1) where "tasks"."id" = $2 limit $3`
/** The same single statement as createTask in src/modules/tasks/service.ts. */
const CREATE = `with seq as (
  update "projects" set task_seq = task_seq + 1, task_count = task_count + 1 where id = $1::uuid and deleted_at is null returning task_seq
), inserted as (
  insert into "tasks" (id, project_id, number, title, description, status, priority, assignee_id, labels, due_date, completed_at, created_by, created_at, updated_at, version)
  select $2::uuid, $1::uuid, seq.task_seq, $3, $4, $5, $6, $7::uuid, array[]::text[], $8::date, $9::timestamptz, $10::uuid, $11::timestamptz, $11::timestamptz, 1 from seq
  returning number
), event as (
  insert into "events" (id, type, project_id, actor_id, occurred_at, data)
  select $12::uuid, 'task.created', $1::uuid, $10::uuid, $11::timestamptz, jsonb_set($13::text::jsonb, '{number}', to_jsonb(inserted.number)) from inserted
)
select number, pg_notify('taskbase_events', $1::text) from inserted`
/**
 * recordEvents in src/events/record.ts: the project's row lock before the event's seq is drawn,
 * and the NOTIFY that wakes realtime. BARE_NO_PROJECT_LOCK=1 leaves the lock out (to measure it).
 */
const INSERT_EVENT = process.env.BARE_NO_PROJECT_LOCK
  ? `with e as (insert into "events" ("id", "type", "project_id", "actor_id", "data") values ($1, $2, $3, $4, $5) returning 1) select pg_notify('taskbase_events', $3::text) from e`
  : `with locked as (select id from "projects" where id = $3 for no key update), e as (insert into "events" ("id", "type", "project_id", "actor_id", "data") select $1, $2, $3, $4, $5 from locked returning 1) select pg_notify('taskbase_events', $3::text) from e`
const PATCH = `update "tasks" set "description" = $1, "updated_at" = now(), "version" = "tasks"."version" + 1 where ("tasks"."id" = $2 and "tasks"."version" = $3) returning ${TASK_COLS}`

const q = (tx: postgres.Sql | postgres.TransactionSql, text: string, params: unknown[]) =>
  tx.unsafe(text, params as never[], { prepare: true })

function publicTask(t: Record<string, unknown>) {
  return {
    id: t.id,
    project_id: t.project_id,
    number: t.number,
    title: t.title,
    description: t.description,
    status: t.status,
    priority: t.priority,
    assignee_id: t.assignee_id,
    labels: t.labels,
    due_date: t.due_date,
    completed_at: iso(t.completed_at),
    created_by: t.created_by,
    created_at: iso(t.created_at),
    updated_at: iso(t.updated_at),
    version: t.version,
  }
}

const server = Bun.serve({
  port: Number(process.env.PORT ?? 3001),
  hostname: '127.0.0.1',
  async fetch(req) {
    const url = new URL(req.url)
    if (url.pathname === '/health') return json({ status: 'ok' })
    const user = await authenticate(req)
    if (!user) return json({ status: 401 }, 401)
    const parts = url.pathname.split('/')
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
    if (parts[3] === 'projects' && parts[5] === 'tasks') {
      const projectId = parts[4]!
      if (req.method === 'GET') {
        const size = Number(url.searchParams.get('page_size') ?? 20)
        const [access] = await q(sql, PROJECT_ACCESS, [user.id, projectId, 1])
        if (!access) return json({ status: 404 }, 404)
        const [rows, [c]] = await Promise.all([q(sql, LIST, [projectId, size]), q(sql, COUNT, [projectId])])
        const total = Number(c!.count)
        return json({
          items: rows.map(publicTask),
          total,
          page: 1,
          page_size: size,
          pages: Math.ceil(total / size),
        })
      }
      const body = (await req.json()) as { title: string; priority?: string }
      const [access] = await q(sql, PROJECT_ACCESS, [user.id, projectId, 1])
      if (!access || access.role === 'viewer') return json({ status: 404 }, 404)
      const now = new Date().toISOString()
      const id = Bun.randomUUIDv7()
      const draft = {
        id,
        project_id: projectId,
        number: 0,
        title: body.title,
        description: '',
        status: 'todo',
        priority: body.priority ?? 'medium',
        assignee_id: null,
        labels: [] as string[],
        due_date: null,
        completed_at: null,
        created_by: user.id,
        created_at: now,
        updated_at: now,
        version: 1,
      }
      const [row] = await q(sql, CREATE, [
        projectId,
        id,
        draft.title,
        draft.description,
        draft.status,
        draft.priority,
        null,
        null,
        null,
        user.id,
        now,
        Bun.randomUUIDv7(),
        JSON.stringify(draft),
      ])
      if (!row) return json({ status: 404 }, 404)
      const task = { ...draft, number: Number(row.number) }
      return new Response(JSON.stringify(task), {
        status: 201,
        headers: {
          'content-type': 'application/json',
          location: `/api/v1/tasks/${task.id}`,
          etag: `"${task.version}"`,
        },
      })
    }
    if (parts[3] === 'tasks' && parts[4]) {
      const taskId = parts[4]
      if (req.method === 'GET') {
        const [t] = await q(sql, TASK_ACCESS, [user.id, taskId, 1])
        if (!t) return json({ status: 404 }, 404)
        const pub = publicTask(t)
        return new Response(JSON.stringify(pub), {
          headers: { 'content-type': 'application/json', etag: `"${pub.version}"` },
        })
      }
      const body = (await req.json()) as { description: string }
      const task = await sql.begin(async (tx) => {
        const [t] = await q(tx, `${TASK_ACCESS} for update of "tasks"`, [user.id, taskId, 1])
        if (!t) return null
        const [u] = await q(tx, PATCH, [body.description, taskId, t.version])
        const pub = publicTask(u!)
        await q(tx, INSERT_EVENT, [
          Bun.randomUUIDv7(),
          'task.updated',
          u!.project_id,
          user.id,
          { ...pub, changes: { description: [t.description, pub.description] } },
        ])
        return pub
      })
      if (!task) return json({ status: 404 }, 404)
      return new Response(JSON.stringify(task), {
        headers: { 'content-type': 'application/json', etag: `"${task.version}"` },
      })
    }
    return json({ status: 404 }, 404)
  },
})
console.log(`bare ceiling on ${server.url}`)
