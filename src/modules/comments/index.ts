import { Elysia, t } from 'elysia'
import type { ModuleDeps } from '../../deps'
import { pageQuery, pageSchema, toPage } from '../../lib/pagination'
import { created, noContent, withEtag } from '../../lib/responses'
import { Int } from '../../lib/schema'
import { createComment, deleteComment, getComment, listComments, updateComment } from './service'

const tags = ['Comments']
const Uuid = t.String({ format: 'uuid' })
const Time = t.String({ format: 'date-time' })
const commentBody = t.String({ minLength: 1, maxLength: 10_000, error: 'must be 1-10000 characters' })

export const CommentModel = {
  comment: t.Object({
    id: Uuid,
    task_id: Uuid,
    author_id: t.Union([Uuid, t.Null()]),
    body: t.String(),
    created_at: Time,
    updated_at: Time,
    version: Int(),
  }),
  params: t.Object({ id: Uuid }),
  body: t.Object({ body: commentBody }, { additionalProperties: false }),
  pageQuery: t.Object({ page: pageQuery.page, page_size: pageQuery.page_size }),
}

/** Comments on tasks. Bodies are Markdown stored verbatim and only ever served as JSON. */
export const commentRoutes = (deps: ModuleDeps) => {
  const db = deps.database.db
  return new Elysia({ name: 'comments' })
    .use(deps.auth)
    .get(
      '/tasks/:id/comments',
      ({ principal, params, query }) => listComments(db, principal.user.id, params.id, toPage(query)),
      {
        auth: true,
        params: CommentModel.params,
        query: CommentModel.pageQuery,
        response: pageSchema(CommentModel.comment),
        detail: { tags, summary: 'List comments of a task', description: 'Oldest first.' },
      },
    )
    .post(
      '/tasks/:id/comments',
      async ({ principal, params, body, set }) =>
        created(set, 'comments', await createComment(db, principal.user.id, params.id, body.body)),
      {
        auth: true,
        params: CommentModel.params,
        body: CommentModel.body,
        response: { 201: CommentModel.comment },
        detail: { tags, summary: 'Comment on a task', description: 'Editor or owner.' },
      },
    )
    .get(
      '/comments/:id',
      async ({ principal, params, set }) => withEtag(set, await getComment(db, principal.user.id, params.id)),
      {
        auth: true,
        params: CommentModel.params,
        response: CommentModel.comment,
        detail: { tags, summary: 'Get a comment' },
      },
    )
    .patch(
      '/comments/:id',
      async ({ principal, params, body, headers, set }) =>
        withEtag(set, await updateComment(db, principal.user.id, params.id, body.body, headers['if-match'])),
      {
        auth: true,
        params: CommentModel.params,
        body: CommentModel.body,
        response: CommentModel.comment,
        detail: { tags, summary: 'Edit a comment', description: 'Author only. `If-Match` is honoured.' },
      },
    )
    .delete(
      '/comments/:id',
      async ({ principal, params, headers, set }) => {
        await deleteComment(db, principal.user.id, params.id, headers['if-match'])
        return noContent(set)
      },
      {
        auth: true,
        params: CommentModel.params,
        response: { 204: t.Void() },
        detail: { tags, summary: 'Delete a comment', description: 'The author or the project owner.' },
      },
    )
}
