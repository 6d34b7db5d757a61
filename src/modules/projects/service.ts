import {
  and,
  asc,
  count,
  desc,
  eq,
  gt,
  ilike,
  inArray,
  isNotNull,
  isNull,
  or,
  type SQL,
  sql,
} from 'drizzle-orm'
import type { Db } from '../../db/client'
import { type ProjectRole, projectMembers, projects, users } from '../../db/schema'
import { type Changes, diff, recordEvent, recordEvents } from '../../events/record'
import { conflict, fieldError, notFound, validationFailed } from '../../lib/errors'
import { checkIfMatch } from '../../lib/etag'
import { type Page, pageOf, parseSort } from '../../lib/pagination'
import { isUniqueViolation } from '../../lib/pg-errors'
import { likePattern } from '../../lib/sql'
import { type ProjectRow, projectAccess, requireRole } from '../../shared/access'
import { type MemberRow, memberEventData } from './members'
import { PROJECT_SORTS, type ProjectCreate, type ProjectListQuery, type ProjectUpdate } from './model'

/** A soft-deleted project can be restored for this long; then the purge job removes it. */
export const RESTORE_WINDOW_DAYS = 30
const RESTORE_WINDOW = sql`interval '${sql.raw(String(RESTORE_WINDOW_DAYS))} days'`

export function toPublicProject(p: ProjectRow, role: ProjectRole) {
  return {
    id: p.id,
    name: p.name,
    slug: p.slug,
    description: p.description,
    status: p.status,
    owner_id: p.ownerId,
    my_role: role,
    task_count: p.taskCount,
    created_at: p.createdAt.toISOString(),
    updated_at: p.updatedAt.toISOString(),
    version: p.version,
  }
}
export type PublicProject = ReturnType<typeof toPublicProject>

const EVENT_FIELDS = ['name', 'description', 'status', 'owner_id'] as const

/** ASCII, lower-case, dash-separated; never empty. */
export function slugify(name: string): string {
  const s = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60)
    .replace(/-+$/, '')
  return s || 'project'
}

const SLUG_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789'

/**
 * `my-project-k3x9q2`: the name's slug and 6 random characters (36^6 ≈ 2·10^9 per name). Slugs are
 * globally unique, but a new slug never depends on other people's projects, so it reveals nothing
 * about them (a `-2` suffix told a stranger that someone had a project of that name).
 */
export function newSlug(name: string): string {
  const bytes = crypto.getRandomValues(new Uint8Array(6))
  let suffix = ''
  for (const b of bytes) suffix += SLUG_ALPHABET[b % SLUG_ALPHABET.length]
  return `${slugify(name)}-${suffix}`
}

const nameTaken = () =>
  conflict('You already have a project with this name', [
    fieldError('name', 'is already used by another of your projects'),
  ])

/** Maps the per-owner name index to a 409; rethrows anything else. */
function mapNameConflict(e: unknown): never {
  if (isUniqueViolation(e, 'projects_owner_name_key')) throw nameTaken()
  throw e
}

export async function createProject(db: Db, userId: string, input: ProjectCreate): Promise<PublicProject> {
  // A random slug collides about never; the unique index has the last word and we draw again.
  for (let attempt = 0; ; attempt++) {
    const slug = newSlug(input.name)
    try {
      return await db.transaction(async (tx) => {
        const [p] = await tx
          .insert(projects)
          .values({
            name: input.name,
            slug,
            description: input.description ?? '',
            status: input.status ?? 'active',
            ownerId: userId,
          })
          .returning()
        await tx.insert(projectMembers).values({ projectId: p!.id, userId, role: 'owner' })
        return toPublicProject(p!, 'owner')
      })
    } catch (e) {
      if (isUniqueViolation(e, 'projects_slug_key') && attempt < 5) continue
      mapNameConflict(e)
    }
  }
}

const SORT_COLUMNS = {
  name: sql`lower(${projects.name})`,
  created_at: projects.createdAt,
  updated_at: projects.updatedAt,
} as const

export async function listProjects(db: Db, userId: string, q: ProjectListQuery, page: Page) {
  const sort = parseSort(q.sort, PROJECT_SORTS)
  const filters: SQL[] = [eq(projectMembers.userId, userId), isNull(projects.deletedAt)]
  if (q.status) filters.push(eq(projects.status, q.status))
  if (q.role) filters.push(eq(projectMembers.role, q.role))
  if (q.search?.trim()) {
    const pattern = likePattern(q.search.trim())
    filters.push(or(ilike(projects.name, pattern), ilike(projects.description, pattern))!)
  }
  const where = and(...filters)
  const order = (sort.length ? sort : [{ field: 'name' as const, desc: false }]).map((k) =>
    k.desc ? desc(SORT_COLUMNS[k.field]) : asc(SORT_COLUMNS[k.field]),
  )
  const from = () =>
    db
      .select({ project: projects, role: projectMembers.role })
      .from(projectMembers)
      .innerJoin(projects, eq(projects.id, projectMembers.projectId))
  const [rows, [total]] = await Promise.all([
    from()
      .where(where)
      .orderBy(...order, asc(projects.id))
      .limit(page.pageSize)
      .offset(page.offset),
    db
      .select({ n: count() })
      .from(projectMembers)
      .innerJoin(projects, eq(projects.id, projectMembers.projectId))
      .where(where),
  ])
  return pageOf(
    rows.map((r) => toPublicProject(r.project, r.role)),
    total?.n ?? 0,
    page,
  )
}

export async function getProject(db: Db, userId: string, id: string): Promise<PublicProject> {
  const { project, role } = await projectAccess(db, id, userId)
  return toPublicProject(project, role)
}

/**
 * Applies `patch` to a locked project row when its version still is the one read, bumps version
 * and updated_at, and writes project.updated with the changes — all in the caller's transaction.
 */
async function applyProjectChange(
  tx: Db,
  userId: string,
  before: ProjectRow,
  role: ProjectRole,
  patch: Partial<typeof projects.$inferInsert>,
  type: 'project.updated' | 'project.deleted' | 'project.restored' = 'project.updated',
  extraChanges?: Changes,
) {
  const [after] = await tx
    .update(projects)
    .set({ ...patch, version: sql`${projects.version} + 1`, updatedAt: sql`now()` })
    .where(and(eq(projects.id, before.id), eq(projects.version, before.version)))
    .returning()
  if (!after) throw notFound('Project')
  const pub = toPublicProject(after, role)
  const changes = diff(toPublicProject(before, role), pub, EVENT_FIELDS)
  const { my_role: _role, ...data } = pub
  await recordEvent(tx, {
    type,
    projectId: after.id,
    actorId: userId,
    data,
    ...(type === 'project.updated' ? { changes: { ...changes, ...extraChanges } } : {}),
  })
  return pub
}

export async function updateProject(
  db: Db,
  userId: string,
  id: string,
  input: ProjectUpdate,
  ifMatch?: string | null,
): Promise<PublicProject> {
  try {
    return await db.transaction(async (tx) => {
      const { project, role } = await projectAccess(tx, id, userId, { lock: true })
      requireRole(role, 'owner', 'change project settings')
      checkIfMatch(ifMatch, project.version)
      const patch: Partial<typeof projects.$inferInsert> = {}
      if (input.name !== undefined && input.name !== project.name) patch.name = input.name
      if (input.description !== undefined && input.description !== project.description)
        patch.description = input.description
      if (input.status !== undefined && input.status !== project.status) patch.status = input.status
      if (!Object.keys(patch).length) return toPublicProject(project, role)
      return applyProjectChange(tx, userId, project, role, patch)
    })
  } catch (e) {
    mapNameConflict(e)
  }
}

export async function deleteProject(db: Db, userId: string, id: string, ifMatch?: string | null) {
  await db.transaction(async (tx) => {
    const { project, role } = await projectAccess(tx, id, userId, { lock: true })
    requireRole(role, 'owner', 'delete the project')
    checkIfMatch(ifMatch, project.version)
    await applyProjectChange(tx, userId, project, role, { deletedAt: new Date() }, 'project.deleted')
  })
}

const restorable = and(isNotNull(projects.deletedAt), gt(projects.deletedAt, sql`now() - ${RESTORE_WINDOW}`))!

/** Restores a soft-deleted project within the window; after it the project is gone (404). */
export async function restoreProject(db: Db, userId: string, id: string): Promise<PublicProject> {
  try {
    return await db.transaction(async (tx) => {
      const { project, role } = await projectAccess(tx, id, userId, { lock: true, where: restorable })
      requireRole(role, 'owner', 'restore the project')
      return applyProjectChange(tx, userId, project, role, { deletedAt: null }, 'project.restored')
    })
  } catch (e) {
    if (isUniqueViolation(e, 'projects_owner_name_key'))
      throw conflict('You have another project with this name now; rename it first', [
        fieldError('name', 'is already used by another of your projects'),
      ])
    throw e
  }
}

/** My soft-deleted projects that can still be restored, most recently deleted first. */
export async function listTrash(db: Db, userId: string, page: Page) {
  const where = and(eq(projects.ownerId, userId), restorable)
  const [rows, [total]] = await Promise.all([
    db
      .select()
      .from(projects)
      .where(where)
      .orderBy(desc(projects.deletedAt), asc(projects.id))
      .limit(page.pageSize)
      .offset(page.offset),
    db.select({ n: count() }).from(projects).where(where),
  ])
  const day = 86_400_000
  return pageOf(
    rows.map((p) => ({
      ...toPublicProject(p, 'owner'),
      deleted_at: p.deletedAt!.toISOString(),
      purge_at: new Date(p.deletedAt!.getTime() + RESTORE_WINDOW_DAYS * day).toISOString(),
    })),
    total?.n ?? 0,
    page,
  )
}

/** Makes a member the owner; the old owner stays on as an editor. */
export async function transferProject(
  db: Db,
  userId: string,
  id: string,
  newOwnerId: string,
  ifMatch?: string | null,
): Promise<PublicProject> {
  try {
    return await db.transaction(async (tx) => {
      const { project, role } = await projectAccess(tx, id, userId, { lock: true })
      requireRole(role, 'owner', 'transfer the project')
      checkIfMatch(ifMatch, project.version)
      if (newOwnerId === userId)
        throw validationFailed([fieldError('user_id', 'you already own this project')])
      const rows = await tx
        .select({
          member: projectMembers,
          user: { id: users.id, username: users.username, fullName: users.fullName },
        })
        .from(projectMembers)
        .innerJoin(users, eq(users.id, projectMembers.userId))
        .where(and(eq(projectMembers.projectId, id), inArray(projectMembers.userId, [userId, newOwnerId])))
      const target = rows.find((r) => r.member.userId === newOwnerId)
      const me = rows.find((r) => r.member.userId === userId)
      if (!target || !me) throw validationFailed([fieldError('user_id', 'must be a member of the project')])
      await tx
        .update(projectMembers)
        .set({ role: sql`case when ${projectMembers.userId} = ${newOwnerId} then 'owner' else 'editor' end` })
        .where(and(eq(projectMembers.projectId, id), inArray(projectMembers.userId, [userId, newOwnerId])))
      const pub = await applyProjectChange(tx, userId, project, 'editor', { ownerId: newOwnerId })
      const changed: [MemberRow, ProjectRole][] = [
        [target, 'owner'],
        [me, 'editor'],
      ]
      await recordEvents(
        tx,
        changed.map(([m, to]) => ({
          type: 'member.updated' as const,
          projectId: id,
          actorId: userId,
          data: memberEventData({ ...m, member: { ...m.member, role: to } }),
          changes: { role: [m.member.role, to] },
        })),
      )
      return pub
    })
  } catch (e) {
    if (isUniqueViolation(e, 'projects_owner_name_key'))
      throw conflict('The new owner already has a project with this name; rename it first')
    throw e
  }
}
