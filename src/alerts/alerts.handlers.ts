import type { Db } from '../db/database';
import { principalOf } from '../http/authenticate';
import type { HandlerTable, OperationHandler } from '../http/contract';
import { paginate } from '../http/pagination';
import type { JobQueue } from '../jobs/job-queue';
import { toDelivery } from '../deliveries/deliveries.mapper';
import { sendSample } from './alert-runner';
import { toAlertRule } from './alerts.mapper';
import { listAlertRules } from './alerts.repository';
import { changeAlertRule, createAlertRule, removeAlertRule, requireAlertRule, type AlertRuleChecks } from './alerts.service';

export function alertHandlers(
  db: Db,
  jobs: JobQueue,
  checks: AlertRuleChecks,
): HandlerTable<'listAlertRules' | 'createAlertRule' | 'getAlertRule' | 'updateAlertRule' | 'deleteAlertRule' | 'testAlertRule'> {
  const listAlertRulesHandler: OperationHandler<'listAlertRules'> = async (req, res) => {
    res.json(
      await paginate({
        query: req.query,
        binding: { list: 'alert_rules' },
        keyKinds: ['id'],
        fetch: (before, limitPlusOne) => listAlertRules(db, principalOf(res).organizationId, limitPlusOne, before?.[0]),
        keysOf: (row) => [row.id],
        toItem: toAlertRule,
      }),
    );
  };

  const createAlertRuleHandler: OperationHandler<'createAlertRule'> = async (req, res) => {
    const rule = await createAlertRule(db, principalOf(res), checks, req.body);
    res.status(201).location(`/v1/alert-rules/${rule.id}`).json(toAlertRule(rule));
  };

  const getAlertRule: OperationHandler<'getAlertRule'> = async (req, res) => {
    res.json(toAlertRule(await requireAlertRule(db, principalOf(res), req.params.id)));
  };

  const updateAlertRuleHandler: OperationHandler<'updateAlertRule'> = async (req, res) => {
    res.json(toAlertRule(await changeAlertRule(db, principalOf(res), checks, req.params.id, req.body)));
  };

  const deleteAlertRuleHandler: OperationHandler<'deleteAlertRule'> = async (req, res) => {
    await removeAlertRule(db, principalOf(res), req.params.id);
    res.status(204).end();
  };

  const testAlertRule: OperationHandler<'testAlertRule'> = async (req, res) => {
    const rule = await requireAlertRule(db, principalOf(res), req.params.id);
    const [delivery] = await sendSample(db, jobs, rule, new Date());
    res.status(202).location(`/v1/deliveries/${delivery!.id}`).json(toDelivery(delivery!));
  };

  return {
    testAlertRule,
    listAlertRules: listAlertRulesHandler,
    createAlertRule: createAlertRuleHandler,
    getAlertRule,
    updateAlertRule: updateAlertRuleHandler,
    deleteAlertRule: deleteAlertRuleHandler,
  };
}
