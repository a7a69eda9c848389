import type { Db } from '../db/database';
import { principalOf } from '../http/authenticate';
import type { HandlerTable, OperationHandler } from '../http/contract';
import { paginate } from '../http/pagination';
import { toWebhookEndpoint } from './webhooks.mapper';
import { listEndpoints } from './webhooks.repository';
import { changeEndpoint, createEndpoint, removeEndpoint, requireEndpoint, rotateEndpointSecret, type WebhookSettings } from './webhooks.service';

export function webhookHandlers(
  db: Db,
  settings: WebhookSettings,
): HandlerTable<'listWebhookEndpoints' | 'createWebhookEndpoint' | 'getWebhookEndpoint' | 'updateWebhookEndpoint' | 'deleteWebhookEndpoint' | 'rotateWebhookEndpointSecret'> {
  const listWebhookEndpoints: OperationHandler<'listWebhookEndpoints'> = async (req, res) => {
    res.json(
      await paginate({
        query: req.query,
        binding: { list: 'webhook_endpoints' },
        keyKinds: ['id'],
        fetch: (before, limitPlusOne) => listEndpoints(db, principalOf(res).organizationId, limitPlusOne, before?.[0]),
        keysOf: (row) => [row.id],
        toItem: toWebhookEndpoint,
      }),
    );
  };

  const createWebhookEndpoint: OperationHandler<'createWebhookEndpoint'> = async (req, res) => {
    const { row, secret } = await createEndpoint(db, principalOf(res), settings, req.body);
    res.status(201).location(`/v1/webhook-endpoints/${row.id}`).set('Cache-Control', 'no-store').json({ ...toWebhookEndpoint(row), secret });
  };

  const getWebhookEndpoint: OperationHandler<'getWebhookEndpoint'> = async (req, res) => {
    res.json(toWebhookEndpoint(await requireEndpoint(db, principalOf(res).organizationId, req.params.id)));
  };

  const updateWebhookEndpoint: OperationHandler<'updateWebhookEndpoint'> = async (req, res) => {
    res.json(toWebhookEndpoint(await changeEndpoint(db, principalOf(res), settings, req.params.id, req.body)));
  };

  const deleteWebhookEndpoint: OperationHandler<'deleteWebhookEndpoint'> = async (req, res) => {
    await removeEndpoint(db, principalOf(res), req.params.id);
    res.status(204).end();
  };

  const rotateWebhookEndpointSecret: OperationHandler<'rotateWebhookEndpointSecret'> = async (req, res) => {
    const { row, secret } = await rotateEndpointSecret(db, principalOf(res), settings, req.params.id, req.body?.overlap_hours);
    res.set('Cache-Control', 'no-store').json({ ...toWebhookEndpoint(row), secret });
  };

  return { listWebhookEndpoints, createWebhookEndpoint, getWebhookEndpoint, updateWebhookEndpoint, deleteWebhookEndpoint, rotateWebhookEndpointSecret };
}
