import { describe, expect, test } from 'bun:test'
import { sql } from 'drizzle-orm'
import { rowsOf } from '../../src/db/client'
import {
  API_TOKEN_SCOPES,
  JOB_STATUSES,
  MEMBER_ROLES,
  PROJECT_ROLES,
  PROJECT_STATUSES,
  TASK_PRIORITIES,
  TASK_STATUSES,
  USER_ROLES,
} from '../../src/db/schema'
import { JobModel } from '../../src/jobs/model'
import { ProjectModel } from '../../src/modules/projects/model'
import { TaskModel } from '../../src/modules/tasks/model'
import { testDatabase } from '../helpers/db'

/** Issue 8 #6: each enum is one constant list; the SQL CHECK and the API schema come from it. */
const constants: Record<string, readonly string[]> = {
  users_role_check: USER_ROLES,
  api_tokens_scope_check: API_TOKEN_SCOPES,
  jobs_status_check: JOB_STATUSES,
  projects_status_check: PROJECT_STATUSES,
  project_members_role_check: PROJECT_ROLES,
  tasks_status_check: TASK_STATUSES,
  tasks_priority_check: TASK_PRIORITIES,
}
const valuesOf = (schema: unknown): string[] =>
  ((schema as { anyOf: { const: string }[] }).anyOf ?? []).map((m) => m.const)

describe('enums have one source', () => {
  test('every CHECK constraint in the migrated database lists exactly its constant', async () => {
    const db = (await testDatabase()).db
    const rows = rowsOf<{ name: string; def: string }>(
      await db.execute(
        sql`select conname as name, pg_get_constraintdef(oid) as def from pg_constraint where contype = 'c' and conname in (${sql.join(
          Object.keys(constants).map((n) => sql`${n}`),
          sql`, `,
        )})`,
      ),
    )
    expect(rows.map((r) => r.name).sort()).toEqual(Object.keys(constants).sort())
    for (const { name, def } of rows) {
      const listed = [...def.matchAll(/'([a-z_]+)'/g)].map((m) => m[1])
      expect({ name, listed }).toEqual({ name, listed: [...constants[name]!] })
    }
  })

  test('the API schemas are built from the same constants', () => {
    expect(valuesOf(TaskModel.task.properties.status)).toEqual([...TASK_STATUSES])
    expect(valuesOf(TaskModel.task.properties.priority)).toEqual([...TASK_PRIORITIES])
    expect(valuesOf(ProjectModel.project.properties.status)).toEqual([...PROJECT_STATUSES])
    expect(valuesOf(ProjectModel.project.properties.my_role)).toEqual([...PROJECT_ROLES])
    expect(valuesOf(ProjectModel.updateMember.properties.role)).toEqual([...MEMBER_ROLES])
    expect(valuesOf(JobModel.job.properties.status)).toEqual([...JOB_STATUSES])
  })
})
