import { Elysia, t } from 'elysia'
import type { ModuleDeps } from '../../deps'
import { toPage } from '../../lib/pagination'
import { created, noContent, withEtag } from '../../lib/responses'
import { DeliveryList, WebhookList, WebhookModel } from './model'
import {
  createWebhook,
  deleteWebhook,
  getWebhook,
  listDeliveries,
  listWebhooks,
  pingWebhook,
  redeliver,
  rotateSecret,
  updateWebhook,
  type WebhookCtx,
} from './service'

const tags = ['Webhooks']
const OWNER = 'Project owner only (other members get 403, strangers 404).'

/** Webhooks of a project and their delivery log (deliveries themselves run as `webhook` jobs). */
export const webhookRoutes = (deps: ModuleDeps & { webhookResolve?: WebhookCtx['resolve'] }) => {
  const ctx: WebhookCtx = { db: deps.database.db, settings: deps.settings, resolve: deps.webhookResolve }
  return new Elysia({ name: 'webhooks' })
    .use(deps.auth)
    .post(
      '/projects/:id/webhooks',
      async ({ principal, params, body, set }) =>
        created(set, 'webhooks', await createWebhook(ctx, principal.user.id, params.id, body)),
      {
        auth: true,
        params: WebhookModel.params,
        body: WebhookModel.create,
        response: { 201: WebhookModel.withSecret },
        detail: {
          tags,
          summary: 'Create a webhook',
          description: `${OWNER} The response carries the signing secret; it is never shown again. The URL must not resolve to a loopback, private, link-local or metadata address (422).`,
        },
      },
    )
    .get(
      '/projects/:id/webhooks',
      ({ principal, params, query }) => listWebhooks(ctx, principal.user.id, params.id, toPage(query)),
      {
        auth: true,
        params: WebhookModel.params,
        query: WebhookModel.pageQuery,
        response: WebhookList,
        detail: {
          tags,
          summary: 'List the webhooks of a project',
          description: `${OWNER} Oldest first; no secrets.`,
        },
      },
    )
    .get(
      '/webhooks/:id',
      async ({ principal, params, set }) =>
        withEtag(set, await getWebhook(ctx, principal.user.id, params.id)),
      {
        auth: true,
        params: WebhookModel.params,
        response: WebhookModel.webhook,
        detail: { tags, summary: 'Get a webhook', description: OWNER },
      },
    )
    .patch(
      '/webhooks/:id',
      async ({ principal, params, body, headers, set }) =>
        withEtag(set, await updateWebhook(ctx, principal.user.id, params.id, body, headers['if-match'])),
      {
        auth: true,
        params: WebhookModel.params,
        body: WebhookModel.update,
        response: WebhookModel.webhook,
        detail: {
          tags,
          summary: 'Change a webhook',
          description: `${OWNER} \`enabled: true\` re-enables a disabled webhook and starts its failure streak over. \`If-Match\` is honoured.`,
        },
      },
    )
    .delete(
      '/webhooks/:id',
      async ({ principal, params, headers, set }) => {
        await deleteWebhook(ctx, principal.user.id, params.id, headers['if-match'])
        return noContent(set)
      },
      {
        auth: true,
        params: WebhookModel.params,
        response: { 204: t.Void() },
        detail: { tags, summary: 'Delete a webhook', description: `${OWNER} Its delivery log goes with it.` },
      },
    )
    .post(
      '/webhooks/:id/rotate-secret',
      async ({ principal, params, set }) =>
        withEtag(set, await rotateSecret(ctx, principal.user.id, params.id)),
      {
        auth: true,
        params: WebhookModel.params,
        response: WebhookModel.withSecret,
        detail: {
          tags,
          summary: 'Rotate the signing secret',
          description: `${OWNER} Returns the new secret once. For 24 h deliveries carry two signatures (new and old), so the receiver can switch keys without dropping any.`,
        },
      },
    )
    .post(
      '/webhooks/:id/ping',
      async ({ principal, params, set }) => {
        set.status = 202
        return pingWebhook(ctx, principal.user.id, params.id)
      },
      {
        auth: true,
        params: WebhookModel.params,
        response: { 202: WebhookModel.delivery },
        detail: {
          tags,
          summary: 'Ping a webhook',
          description: `${OWNER} Queues a \`webhook.ping\` event for this webhook alone (also while it is disabled); the answer is its delivery.`,
        },
      },
    )
    .get(
      '/webhooks/:id/deliveries',
      ({ principal, params, query }) => listDeliveries(ctx, principal.user.id, params.id, toPage(query)),
      {
        auth: true,
        params: WebhookModel.params,
        query: WebhookModel.pageQuery,
        response: DeliveryList,
        detail: { tags, summary: 'The delivery log of a webhook', description: `${OWNER} Newest first.` },
      },
    )
    .post(
      '/deliveries/:id/redeliver',
      async ({ principal, params, set }) => {
        set.status = 202
        return redeliver(ctx, principal.user.id, params.id)
      },
      {
        auth: true,
        params: WebhookModel.params,
        response: { 202: WebhookModel.delivery },
        detail: {
          tags,
          summary: 'Deliver again',
          description: `${OWNER} Queues the same event again, with the same \`webhook-id\` (receivers deduplicate on it). A pending delivery is a 409.`,
        },
      },
    )
}

export { type DeliveryOutcome, webhookJob } from './deliver'
export { purgeDeliveries } from './service'
