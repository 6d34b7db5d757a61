import { describe, expect, test } from 'bun:test'
import { getTableConfig } from 'drizzle-orm/pg-core'
import * as schema from '../../src/db/schema'

describe('schema', () => {
  test('every table declares the indexes the lists and the outbox rely on', () => {
    const indexes = (t: Parameters<typeof getTableConfig>[0]) =>
      getTableConfig(t).indexes.map((i) => i.config.name)
    expect(indexes(schema.users)).toEqual(
      expect.arrayContaining(['users_email_lower_key', 'users_username_lower_key']),
    )
    expect(indexes(schema.events)).toEqual(
      expect.arrayContaining(['events_project_seq_idx', 'events_id_key']),
    )
    expect(indexes(schema.projects)).toEqual(
      expect.arrayContaining(['projects_slug_key', 'projects_deleted_at_idx']),
    )
    expect(indexes(schema.tasks)).toContain('tasks_project_number_key')
    // every foreign key points where the ownership model says (deleting a user or project cascades)
    const refs = (t: Parameters<typeof getTableConfig>[0]) =>
      getTableConfig(t)
        .foreignKeys.map((fk) => {
          const r = fk.reference()
          return `${r.columns[0]!.name}->${getTableConfig(r.foreignTable).name}:${fk.onDelete}`
        })
        .sort()
    expect(refs(schema.sessions)).toEqual(['userId->users:cascade'])
    expect(refs(schema.refreshTokens)).toEqual(['sessionId->sessions:cascade'])
    expect(refs(schema.apiTokens)).toEqual(['userId->users:cascade'])
    expect(refs(schema.oneTimeTokens)).toEqual(['userId->users:cascade'])
    expect(refs(schema.idempotencyKeys)).toEqual(['userId->users:cascade'])
    expect(refs(schema.projectMembers)).toEqual(['projectId->projects:cascade', 'userId->users:cascade'])
    expect(refs(schema.tasks)).toEqual([
      'assigneeId->users:set null',
      'createdBy->users:set null',
      'projectId->projects:cascade',
    ])
    expect(refs(schema.comments)).toEqual([
      'authorId->users:set null',
      'projectId->projects:cascade',
      'taskId->tasks:cascade',
    ])
    expect(refs(schema.events)).toEqual(['actorId->users:set null', 'projectId->projects:cascade'])
    // an attachment goes with its task and project; its uploader's account may go first
    expect(refs(schema.attachments)).toEqual([
      'createdBy->users:set null',
      'projectId->projects:cascade',
      'taskId->tasks:cascade',
    ])
    expect(indexes(schema.attachments)).toContain('attachments_task_created_idx')
    // a requester's report jobs go with them; the queue indexes serve claims, lease expiry and purge
    expect(refs(schema.jobs)).toEqual(['requestedBy->users:cascade'])
    expect(indexes(schema.jobs)).toEqual(
      expect.arrayContaining(['jobs_queued_idx', 'jobs_running_idx', 'jobs_finished_idx']),
    )
    // webhooks go with their project; deliveries with their webhook and their event
    expect(refs(schema.webhooks)).toEqual(['createdBy->users:set null', 'projectId->projects:cascade'])
    expect(refs(schema.webhookDeliveries)).toEqual(['eventId->events:cascade', 'webhookId->webhooks:cascade'])
    expect(indexes(schema.webhookDeliveries)).toEqual(
      expect.arrayContaining([
        'webhook_deliveries_webhook_event_key',
        'webhook_deliveries_webhook_created_idx',
      ]),
    )
  })
})
