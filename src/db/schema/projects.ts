import { sql } from 'drizzle-orm'
import {
  bigserial,
  check,
  date,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  smallint,
  text,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core'
import { id, oneOf, timestamps, tstz, version } from './columns'
import { users } from './identity'

export const PROJECT_STATUSES = ['active', 'archived'] as const
export type ProjectStatus = (typeof PROJECT_STATUSES)[number]
export const PROJECT_ROLES = ['owner', 'editor', 'viewer'] as const
export type ProjectRole = (typeof PROJECT_ROLES)[number]
/** The roles a member other than the owner can have (ownership moves by transfer). */
export const MEMBER_ROLES = ['editor', 'viewer'] as const satisfies readonly ProjectRole[]
export const TASK_STATUSES = ['todo', 'in_progress', 'done', 'canceled'] as const
export type TaskStatus = (typeof TASK_STATUSES)[number]
export const TASK_PRIORITIES = ['low', 'medium', 'high', 'urgent'] as const
export type TaskPriority = (typeof TASK_PRIORITIES)[number]

export const projects = pgTable(
  'projects',
  {
    id: id(),
    name: text().notNull(),
    slug: text().notNull(),
    description: text().notNull().default(''),
    status: text().$type<ProjectStatus>().notNull().default('active'),
    ownerId: uuid()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    /** Last task number handed out; bumped under the row lock so numbers never repeat. */
    taskSeq: integer().notNull().default(0),
    taskCount: integer().notNull().default(0),
    /**
     * Tasks per status, kept in the statements that create, re-status and delete tasks (the
     * project row is locked by them anyway): list totals without counting rows.
     */
    todoCount: integer().notNull().default(0),
    inProgressCount: integer().notNull().default(0),
    doneCount: integer().notNull().default(0),
    canceledCount: integer().notNull().default(0),
    ...timestamps,
    version: version(),
    deletedAt: tstz(),
  },
  (t) => [
    uniqueIndex('projects_slug_key').on(t.slug),
    uniqueIndex('projects_owner_name_key')
      .on(t.ownerId, sql`lower(${t.name})`)
      .where(sql`${t.deletedAt} is null`),
    index('projects_deleted_at_idx').on(t.deletedAt).where(sql`${t.deletedAt} is not null`),
    check('projects_status_check', oneOf(t.status, PROJECT_STATUSES)),
  ],
)

export const projectMembers = pgTable(
  'project_members',
  {
    projectId: uuid()
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    userId: uuid()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    role: text().$type<ProjectRole>().notNull(),
    addedAt: tstz().notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.projectId, t.userId] }),
    index('project_members_user_id_idx').on(t.userId),
    check('project_members_role_check', oneOf(t.role, PROJECT_ROLES)),
  ],
)

export const tasks = pgTable(
  'tasks',
  {
    id: id(),
    projectId: uuid()
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    number: integer().notNull(),
    title: text().notNull(),
    description: text().notNull().default(''),
    status: text().$type<TaskStatus>().notNull().default('todo'),
    priority: text().$type<TaskPriority>().notNull().default('medium'),
    /** low=1 .. urgent=4, so `sort=priority` orders by meaning and can use an index. */
    priorityRank: smallint()
      .notNull()
      .generatedAlwaysAs(
        sql`case priority when 'low' then 1 when 'medium' then 2 when 'high' then 3 when 'urgent' then 4 end`,
      ),
    assigneeId: uuid().references(() => users.id, { onDelete: 'set null' }),
    labels: text().array().notNull().default(sql`'{}'::text[]`),
    dueDate: date({ mode: 'string' }),
    completedAt: tstz(),
    createdBy: uuid().references(() => users.id, { onDelete: 'set null' }),
    ...timestamps,
    version: version(),
  },
  (t) => [
    uniqueIndex('tasks_project_number_key').on(t.projectId, t.number),
    index('tasks_project_status_idx').on(t.projectId, t.status),
    // Each sort index ends with the id tiebreaker, so a page is read straight off the index
    // (forwards or backwards) with no sort step, whatever the project size (bench/explain.ts).
    index('tasks_project_created_idx').on(t.projectId, t.createdAt, t.id),
    index('tasks_project_updated_idx').on(t.projectId, t.updatedAt, t.id),
    index('tasks_project_due_idx').on(t.projectId, t.dueDate, t.id),
    // `sort=-due_date` keeps undated tasks last: descending with nulls last needs its own order
    index('tasks_project_due_desc_idx').on(
      t.projectId,
      t.dueDate.desc().nullsLast(),
      t.id.desc().nullsFirst(),
    ),
    index('tasks_project_priority_idx').on(t.projectId, t.priorityRank, t.id),
    index('tasks_project_title_idx').on(t.projectId, sql`lower(${t.title})`, t.id),
    index('tasks_assignee_status_idx').on(t.assigneeId, t.status),
    index('tasks_labels_idx').using('gin', t.labels),
    check('tasks_status_check', oneOf(t.status, TASK_STATUSES)),
    check('tasks_priority_check', oneOf(t.priority, TASK_PRIORITIES)),
  ],
)

export const comments = pgTable(
  'comments',
  {
    id: id(),
    taskId: uuid()
      .notNull()
      .references(() => tasks.id, { onDelete: 'cascade' }),
    projectId: uuid()
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    authorId: uuid().references(() => users.id, { onDelete: 'set null' }),
    body: text().notNull(),
    ...timestamps,
    version: version(),
  },
  (t) => [index('comments_task_created_idx').on(t.taskId, t.createdAt)],
)

/**
 * The outbox: every change inside a project, written in the change's transaction together with
 * its webhook deliveries (src/events/record.ts). `seq` gives a total order.
 */
export const events = pgTable(
  'events',
  {
    seq: bigserial({ mode: 'number' }).primaryKey(),
    id: uuid()
      .notNull()
      .$defaultFn(() => Bun.randomUUIDv7()),
    type: text().notNull(),
    projectId: uuid()
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    actorId: uuid().references(() => users.id, { onDelete: 'set null' }),
    occurredAt: tstz().notNull().defaultNow(),
    data: jsonb().notNull(),
  },
  (t) => [uniqueIndex('events_id_key').on(t.id), index('events_project_seq_idx').on(t.projectId, t.seq)],
)
