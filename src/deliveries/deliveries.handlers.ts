import type { Db } from '../db/database';
import { principalOf } from '../http/authenticate';
import type { HandlerTable, OperationHandler } from '../http/contract';
import { paginate } from '../http/pagination';
import type { JobQueue } from '../jobs/job-queue';
import { toDelivery } from './deliveries.mapper';
import { listDeliveries, type DeliveryFilter } from './deliveries.repository';
import { redeliver, requireDelivery } from './deliveries.service';

export function deliveryHandlers(db: Db, jobs: JobQueue): HandlerTable<'listDeliveries' | 'getDelivery' | 'redeliverDelivery'> {
  const listDeliveriesHandler: OperationHandler<'listDeliveries'> = async (req, res) => {
    const { query } = req;
    const filter: DeliveryFilter = { alertRuleId: query.alert_rule_id, webhookEndpointId: query.webhook_endpoint_id, status: query.status };
    res.json(
      await paginate({
        query,
        binding: { list: 'deliveries', filter },
        keyKinds: ['id'],
        fetch: (before, limitPlusOne) => listDeliveries(db, principalOf(res).organizationId, filter, limitPlusOne, before?.[0]),
        keysOf: (row) => [row.id],
        toItem: (row) => toDelivery(row),
      }),
    );
  };

  const getDelivery: OperationHandler<'getDelivery'> = async (req, res) => {
    const { delivery, attempts } = await requireDelivery(db, principalOf(res), req.params.id);
    res.json(toDelivery(delivery, attempts));
  };

  const redeliverDelivery: OperationHandler<'redeliverDelivery'> = async (req, res) => {
    const delivery = await redeliver(db, jobs, principalOf(res), req.params.id);
    res.status(202).location(`/v1/deliveries/${delivery.id}`).json(toDelivery(delivery));
  };

  return { listDeliveries: listDeliveriesHandler, getDelivery, redeliverDelivery };
}
