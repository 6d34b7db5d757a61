import { Elysia, t } from 'elysia'
import type { ModuleDeps } from '../../deps'
import { conflict } from '../../lib/errors'
import { backupStream } from './archive'

export { backupFormat, backupStream, unpackBackup } from './archive'

/**
 * GET /admin/backup (superadmin): a consistent snapshot of the embedded database and the
 * attachment files while the server keeps serving — the same gzipped tar as `taskbase backup FILE`, restored by `taskbase restore`.
 * With DATABASE_URL it is a 409: PostgreSQL is backed up with pg_dump.
 */
export const backupRoutes = ({ auth, database, logger, storage }: ModuleDeps) =>
  new Elysia({ name: 'backup' }).use(auth).get(
    '/admin/backup',
    async () => {
      if (!database.dump)
        throw conflict('This server runs on PostgreSQL: back it up with pg_dump -Fc "$DATABASE_URL"')
      logger.info('backup started', { attachments: storage.kind })
      const name = `taskbase-${new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-')}.tar.gz`
      // Elysia adds the request id and security headers of `set` to a returned Response
      return new Response(backupStream(database, storage), {
        headers: {
          'content-type': 'application/gzip',
          'content-disposition': `attachment; filename="${name}"`,
          'cache-control': 'no-store',
        },
      })
    },
    {
      auth: true,
      role: 'superadmin',
      response: {
        200: t.String({
          format: 'binary',
          description: 'gzipped tar: the embedded database and the attachment files (when kept on disk)',
        }),
      },
      detail: {
        tags: ['Operations'],
        summary: 'Back up the embedded database',
        description:
          'Superadmin. A consistent snapshot of the database and the attachment files on disk, streamed while the server keeps serving; restore it with `taskbase restore FILE` into an empty DATA_DIR. 409 on PostgreSQL (use pg_dump).',
      },
    },
  )
