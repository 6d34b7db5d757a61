import { Elysia, t } from 'elysia'
import type { ModuleDeps } from '../../deps'
import { API_PREFIX } from '../../lib/api'
import { GcPacer } from '../../lib/gc-pacing'
import { pageQuery, pageSchema, toPage } from '../../lib/pagination'
import { noContent } from '../../lib/responses'
import { contentResponse } from './download'
import { attachmentAccess, createAttachment, deleteAttachment, listAttachments } from './service'

export { sanitizeFilename } from './content'
export { holdDeletes } from './hold'
export { attachmentJobs, DELETE_JOB, SWEEP_EVERY_MS, SWEEP_JOB, sweepAttachments } from './jobs'
export {
  type AttachmentStorage,
  attachmentsDir,
  createStorage,
  LocalStorage,
  S3Storage,
  type StoredObject,
} from './storage'

const tags = ['Attachments']
const Uuid = t.String({ format: 'uuid' })

export const AttachmentModel = {
  attachment: t.Object({
    id: Uuid,
    task_id: Uuid,
    filename: t.String(),
    content_type: t.String(),
    size: t.Number({ minimum: 1, multipleOf: 1 }),
    sha256: t.String({ pattern: '^[0-9a-f]{64}$' }),
    created_by: t.Union([Uuid, t.Null()]),
    created_at: t.String({ format: 'date-time' }),
  }),
  params: t.Object({ id: Uuid }),
  pageQuery: t.Object({ page: pageQuery.page, page_size: pageQuery.page_size }),
}

const UPLOAD_BODY = {
  required: true,
  content: {
    'multipart/form-data': {
      schema: {
        type: 'object' as const,
        required: ['file'],
        properties: { file: { type: 'string' as const, format: 'binary', description: 'The file (one)' } },
      },
    },
  },
}

const BINARY = {
  content: { 'application/octet-stream': { schema: { type: 'string' as const, format: 'binary' } } },
}

/** Files on tasks: uploads checked by their bytes, downloads streamed with ETag and Range. */
export const attachmentRoutes = (deps: ModuleDeps) => {
  const { storage } = deps
  const db = deps.database.db
  const upload = {
    db,
    storage,
    maxBytes: deps.settings.MAX_UPLOAD_BYTES,
    allowed: new Set(deps.settings.ATTACHMENT_TYPES.split(',').map((x) => x.trim().toLowerCase())),
    quota: deps.settings.PROJECT_STORAGE_BYTES,
  }
  // embedded: upload buffers would otherwise wait long for a collection (src/lib/gc-pacing.ts)
  const pacer = deps.database.kind === 'pglite' ? new GcPacer(128 * 1024 * 1024) : null
  return new Elysia({ name: 'attachments' })
    .use(deps.auth)
    .get(
      '/tasks/:id/attachments',
      ({ principal, params, query }) => listAttachments(db, principal.user.id, params.id, toPage(query)),
      {
        auth: true,
        params: AttachmentModel.params,
        query: AttachmentModel.pageQuery,
        response: pageSchema(AttachmentModel.attachment),
        detail: { tags, summary: 'List attachments of a task', description: 'Oldest first. Members.' },
      },
    )
    .post(
      '/tasks/:id/attachments',
      async ({ principal, params, request, set }) => {
        const a = await createAttachment(upload, principal.user.id, params.id, request)
        pacer?.add(a.size)
        set.status = 201
        set.headers.location = `${API_PREFIX}/attachments/${a.id}/content`
        return a
      },
      {
        auth: true,
        params: AttachmentModel.params,
        response: { 201: AttachmentModel.attachment },
        detail: {
          tags,
          summary: 'Upload an attachment',
          description:
            'Editor or owner. `multipart/form-data` with one field `file`, at most `MAX_UPLOAD_BYTES` (413). The type is decided from the bytes, never from the claimed type or name; types outside `ATTACHMENT_TYPES` are a 415. The filename is sanitized.',
          requestBody: UPLOAD_BODY,
          responses: {
            413: {
              description: 'Over `MAX_UPLOAD_BYTES`, or over the project quota (`storage_quota_exceeded`)',
            },
          },
        },
      },
    )
    .get(
      '/attachments/:id/content',
      async ({ principal, params, request }) => {
        const { attachment } = await attachmentAccess(db, params.id, principal.user.id)
        return contentResponse(storage, deps.logger, attachment, request)
      },
      {
        auth: true,
        params: AttachmentModel.params,
        detail: {
          tags,
          summary: 'Download an attachment',
          description:
            'Members. Streams the bytes with `Content-Disposition: attachment`, `ETag` (the SHA-256; `If-None-Match` → 304) and one `Range` (206; unsatisfiable → 416).',
          responses: {
            200: { description: 'The bytes', ...BINARY },
            206: { description: 'The requested range', ...BINARY },
            304: { description: 'Not modified (If-None-Match)' },
            416: { description: 'Range not satisfiable' },
          },
        },
      },
    )
    .delete(
      '/attachments/:id',
      async ({ principal, params, set }) => {
        await deleteAttachment(db, principal.user.id, params.id)
        return noContent(set)
      },
      {
        auth: true,
        params: AttachmentModel.params,
        response: { 204: t.Void() },
        detail: { tags, summary: 'Delete an attachment', description: 'The uploader or the project owner.' },
      },
    )
}
