import { bigint, index, pgTable, text, uuid } from 'drizzle-orm/pg-core'
import { id, tstz } from './columns'
import { users } from './identity'
import { projects, tasks } from './projects'

/**
 * Files attached to tasks. The bytes live in the storage (a directory or an S3 bucket) under
 * `storage_key`; the row is written only after the object is durably stored, so a row always
 * names a complete object (an object without a row is swept, src/modules/attachments/sweep.ts).
 */
export const attachments = pgTable(
  'attachments',
  {
    id: id(),
    taskId: uuid()
      .notNull()
      .references(() => tasks.id, { onDelete: 'cascade' }),
    projectId: uuid()
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    filename: text().notNull(),
    contentType: text().notNull(),
    size: bigint({ mode: 'number' }).notNull(),
    /** Hex SHA-256 of the bytes: the download's ETag. */
    sha256: text().notNull(),
    storageKey: text().notNull(),
    createdBy: uuid().references(() => users.id, { onDelete: 'set null' }),
    createdAt: tstz().notNull().defaultNow(),
  },
  (t) => [
    index('attachments_task_created_idx').on(t.taskId, t.createdAt, t.id),
    index('attachments_project_idx').on(t.projectId),
    index('attachments_storage_key_idx').on(t.storageKey),
  ],
)
