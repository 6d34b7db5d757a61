import { Elysia, t } from 'elysia'
import type { ModuleDeps } from '../../deps'
import { toPage } from '../../lib/pagination'
import { created, noContent, withEtag } from '../../lib/responses'
import type { CleanSpec } from '../../lib/text'
import { cleanPlugin } from '../../plugins/clean'
import { addMember, getMember, listMembers, removeMember, updateMember } from './members'
import { ProjectModel } from './model'
import {
  createProject,
  deleteProject,
  getProject,
  listProjects,
  listTrash,
  restoreProject,
  transferProject,
  updateProject,
} from './service'

const tags = ['Projects']
const cleanName: CleanSpec = { fields: { name: 200 } }

/** Projects, their trash and their members (API.md, Projects). */
export const projectsModule = (deps: ModuleDeps) => {
  const db = deps.database.db
  return new Elysia({ name: 'projects' })
    .use(deps.auth)
    .use(cleanPlugin)
    .post(
      '/projects',
      async ({ principal, body, set }) =>
        created(set, 'projects', await createProject(db, principal.user.id, body)),
      {
        auth: true,
        clean: cleanName,
        body: ProjectModel.create,
        response: { 201: ProjectModel.project },
        detail: { tags, summary: 'Create a project', description: 'The caller becomes its owner.' },
      },
    )
    .get('/projects', ({ principal, query }) => listProjects(db, principal.user.id, query, toPage(query)), {
      auth: true,
      query: ProjectModel.listQuery,
      response: ProjectModel.projectList,
      detail: {
        tags,
        summary: 'List my projects',
        description:
          'Projects I am a member of. Filters: `status`, `role`, `search` (name and description). Sort: `name` (default), `created_at`, `updated_at`.',
      },
    })
    .get('/projects/trash', ({ principal, query }) => listTrash(db, principal.user.id, toPage(query)), {
      auth: true,
      query: ProjectModel.pageQuery,
      response: ProjectModel.trashList,
      detail: {
        tags,
        summary: 'My deleted projects',
        description: 'Projects I own that were deleted less than 30 days ago and can still be restored.',
      },
    })
    .get(
      '/projects/:id',
      async ({ principal, params, set }) => withEtag(set, await getProject(db, principal.user.id, params.id)),
      {
        auth: true,
        params: ProjectModel.params,
        response: ProjectModel.project,
        detail: { tags, summary: 'Get a project' },
      },
    )
    .patch(
      '/projects/:id',
      async ({ principal, params, body, headers, set }) =>
        withEtag(set, await updateProject(db, principal.user.id, params.id, body, headers['if-match'])),
      {
        auth: true,
        clean: cleanName,
        params: ProjectModel.params,
        body: ProjectModel.update,
        response: ProjectModel.project,
        detail: { tags, summary: 'Update a project', description: 'Owner only. `If-Match` is honoured.' },
      },
    )
    .delete(
      '/projects/:id',
      async ({ principal, params, headers, set }) => {
        await deleteProject(db, principal.user.id, params.id, headers['if-match'])
        return noContent(set)
      },
      {
        auth: true,
        params: ProjectModel.params,
        response: { 204: t.Void() },
        detail: {
          tags,
          summary: 'Delete a project',
          description: 'Owner only. Soft delete: restorable for 30 days through POST /projects/{id}/restore.',
        },
      },
    )
    .post(
      '/projects/:id/restore',
      async ({ principal, params, set }) =>
        withEtag(set, await restoreProject(db, principal.user.id, params.id)),
      {
        auth: true,
        params: ProjectModel.params,
        response: ProjectModel.project,
        detail: {
          tags,
          summary: 'Restore a deleted project',
          description: 'Owner only, within 30 days of the deletion; after that the project is gone (404).',
        },
      },
    )
    .post(
      '/projects/:id/transfer',
      async ({ principal, params, body, headers, set }) =>
        withEtag(
          set,
          await transferProject(db, principal.user.id, params.id, body.user_id, headers['if-match']),
        ),
      {
        auth: true,
        params: ProjectModel.params,
        body: ProjectModel.transfer,
        response: ProjectModel.project,
        detail: {
          tags,
          summary: 'Transfer ownership',
          description: 'Owner only. The new owner must be a member; the old owner becomes an editor.',
        },
      },
    )
    .get(
      '/projects/:id/members',
      ({ principal, params, query }) => listMembers(db, principal.user.id, params.id, toPage(query)),
      {
        auth: true,
        params: ProjectModel.params,
        query: ProjectModel.pageQuery,
        response: ProjectModel.memberList,
        detail: { tags, summary: 'List members', description: 'Oldest member first.' },
      },
    )
    .post(
      '/projects/:id/members',
      async ({ principal, params, body, set }) => {
        const m = await addMember(db, principal.user.id, params.id, body)
        set.status = 201
        set.headers.location = `/api/v1/projects/${params.id}/members/${m.user.id}`
        return m
      },
      {
        auth: true,
        params: ProjectModel.params,
        body: ProjectModel.addMember,
        response: { 201: ProjectModel.member },
        detail: {
          tags,
          summary: 'Add a member',
          description:
            'Owner only. By `user_id` only (adding by email would reveal which addresses are registered); an unknown user is a 422, an existing member a 409.',
        },
      },
    )
    .get(
      '/projects/:id/members/:user_id',
      ({ principal, params }) => getMember(db, principal.user.id, params.id, params.user_id),
      {
        auth: true,
        params: ProjectModel.memberParams,
        response: ProjectModel.member,
        detail: { tags, summary: 'Get a member' },
      },
    )
    .patch(
      '/projects/:id/members/:user_id',
      ({ principal, params, body }) =>
        updateMember(db, principal.user.id, params.id, params.user_id, body.role),
      {
        auth: true,
        params: ProjectModel.memberParams,
        body: ProjectModel.updateMember,
        response: ProjectModel.member,
        detail: {
          tags,
          summary: "Change a member's role",
          description:
            "Owner only. `owner` cannot be set here (use transfer); the owner's own role is a 409.",
        },
      },
    )
    .delete(
      '/projects/:id/members/:user_id',
      async ({ principal, params, set }) => {
        await removeMember(db, principal.user.id, params.id, params.user_id)
        return noContent(set)
      },
      {
        auth: true,
        params: ProjectModel.memberParams,
        response: { 204: t.Void() },
        detail: {
          tags,
          summary: 'Remove a member or leave',
          description:
            'The owner removes anyone else; any member may remove themselves. The owner cannot leave (409). Their open tasks are unassigned.',
        },
      },
    )
}

export { purgeTrash } from './purge'
