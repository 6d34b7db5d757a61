import { t } from 'elysia'
import { MEMBER_ROLES, PROJECT_ROLES, PROJECT_STATUSES } from '../../db/schema'
import { pageQuery, pageSchema, sortQuery } from '../../lib/pagination'
import { Int, literals } from '../../lib/schema'

const closed = { additionalProperties: false } as const
const Uuid = t.String({ format: 'uuid' })
const Time = t.String({ format: 'date-time' })
const status = literals(PROJECT_STATUSES)
const role = literals(PROJECT_ROLES)
const memberRole = literals(MEMBER_ROLES)
const name = t.String({
  minLength: 1,
  maxLength: 200,
  error: 'must be 1-200 characters (HTML tags are removed)',
})
const description = t.String({ maxLength: 10_000 })

export const PROJECT_SORTS = ['name', 'created_at', 'updated_at'] as const

export const project = t.Object({
  id: Uuid,
  name: t.String(),
  slug: t.String(),
  description: t.String(),
  status,
  owner_id: Uuid,
  my_role: role,
  task_count: Int(),
  created_at: Time,
  updated_at: Time,
  version: Int(),
})

export const trashedProject = t.Composite([project, t.Object({ deleted_at: Time, purge_at: Time })])

export const memberUser = t.Object({ id: Uuid, username: t.String(), full_name: t.String() })
export const member = t.Object({ user: memberUser, role, added_at: Time })

export const ProjectModel = {
  project,
  projectList: pageSchema(project),
  trashList: pageSchema(trashedProject),
  member,
  memberList: pageSchema(member),
  params: t.Object({ id: Uuid }),
  memberParams: t.Object({ id: Uuid, user_id: Uuid }),
  create: t.Object({ name, description: t.Optional(description), status: t.Optional(status) }, closed),
  update: t.Object(
    { name: t.Optional(name), description: t.Optional(description), status: t.Optional(status) },
    closed,
  ),
  transfer: t.Object({ user_id: Uuid }, closed),
  addMember: t.Object(
    {
      user_id: t.String({ format: 'uuid', description: "The user's id (they find it in GET /users/me)" }),
      role: memberRole,
    },
    closed,
  ),
  updateMember: t.Object({ role: memberRole }, closed),
  listQuery: t.Object({
    ...pageQuery,
    ...sortQuery(PROJECT_SORTS),
    status: t.Optional(status),
    role: t.Optional(role),
    search: t.Optional(t.String({ maxLength: 200 })),
  }),
  pageQuery: t.Object({ page: pageQuery.page, page_size: pageQuery.page_size }),
}

export type ProjectCreate = typeof ProjectModel.create.static
export type ProjectUpdate = typeof ProjectModel.update.static
export type ProjectListQuery = typeof ProjectModel.listQuery.static
export type PublicProject = typeof project.static
export type PublicMember = typeof member.static
