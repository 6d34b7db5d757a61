import { Elysia } from 'elysia'
import type { ModuleDeps } from '../../deps'
import { EventList } from '../../events/model'
import { PageOnlyQuery, toPage } from '../../lib/pagination'
import { UuidParams } from '../../lib/schema'
import { listActivity } from './service'

export { recentActivity } from './service'

/** GET /projects/{id}/activity: the project's event feed, newest first. */
export const activityRoutes = ({ auth, database }: ModuleDeps) =>
  new Elysia({ name: 'activity' })
    .use(auth)
    .get(
      '/projects/:id/activity',
      ({ principal, params, query }) =>
        listActivity(database.db, principal.user.id, params.id, toPage(query)),
      {
        auth: true,
        params: UuidParams,
        query: PageOnlyQuery,
        response: EventList,
        detail: {
          tags: ['Projects'],
          summary: 'Project activity',
          description:
            'Events of the project, newest first. `data` is the resource after the change (before it, for deletions); updates add `data.changes: {field: [old, new]}`.',
        },
      },
    )
