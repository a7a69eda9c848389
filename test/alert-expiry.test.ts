import { EXPIRY_SOURCES, stageAt, stagesOf } from '../src/alerts/expiry';

const NOW = new Date('2026-11-26T00:00:00Z');
const days = (n: number) => new Date(NOW.getTime() + n * 86_400_000);

describe('expiry of each resource type', () => {
  it.each([
    ['secret_expiring', 'aws_secretsmanager_secret', { next_rotation_date: '2026-12-01T00:00:00Z' }, '2026-12-01T00:00:00.000Z'],
    ['secret_expiring', 'aws_secretsmanager_secret', { rotation_enabled: true, last_rotated_date: '2026-11-01T00:00:00Z', rotation_rules: [{ automatically_after_days: 30 }] }, '2026-12-01T00:00:00.000Z'],
    ['secret_expiring', 'aws_secretsmanager_secret', { rotation_enabled: false, last_rotated_date: '2026-11-01T00:00:00Z', rotation_rules: [{ automatically_after_days: 30 }] }, null],
    ['secret_expiring', 'azurerm_key_vault_secret', { expiration_date: '2027-01-01T00:00:00Z' }, '2027-01-01T00:00:00.000Z'],
    ['secret_expiring', 'azurerm_key_vault_secret', { expiration_date: '' }, null],
    ['secret_expiring', 'google_secret_manager_secret', { rotation: [{ next_rotation_time: '2026-12-24T00:00:00Z' }] }, '2026-12-24T00:00:00.000Z'],
    ['certificate_expiring', 'aws_acm_certificate', { not_after: '2026-12-06T00:00:00Z' }, '2026-12-06T00:00:00.000Z'],
    ['certificate_expiring', 'azurerm_key_vault_certificate', { certificate_attribute: [{ expires: '2027-02-01T00:00:00Z' }] }, '2027-02-01T00:00:00.000Z'],
    ['certificate_expiring', 'aws_iam_server_certificate', { expiration: 'not a date' }, null],
    ['key_expiring', 'azurerm_key_vault_key', { expiration_date: '2027-03-01T00:00:00Z' }, '2027-03-01T00:00:00.000Z'],
    ['key_expiring', 'aws_iam_access_key', { create_date: '2026-09-01T00:00:00Z', status: 'Active' }, '2026-11-30T00:00:00.000Z'],
    ['key_expiring', 'aws_iam_access_key', { create_date: '2026-09-01T00:00:00Z', status: 'Inactive' }, null],
    ['secret_expiring', 'azuread_application_password', { end_date: '2026-12-20T00:00:00Z' }, '2026-12-20T00:00:00.000Z'],
    ['certificate_expiring', 'azuread_application_certificate', { end_date: '2027-06-01T00:00:00Z' }, '2027-06-01T00:00:00.000Z'],
    ['key_expiring', 'google_service_account_key', { key_type: 'USER_MANAGED', valid_before: '2026-12-15T00:00:00Z' }, '2026-12-15T00:00:00.000Z'],
    ['key_expiring', 'google_service_account_key', { key_type: 'SYSTEM_MANAGED', valid_before: '2026-12-15T00:00:00Z' }, null],
  ] as const)('%s: %s %j expires %s', (type, resourceType, attributes, expected) => {
    const source = (EXPIRY_SOURCES[type] as Record<string, (a: Record<string, unknown>) => Date | null>)[resourceType]!;
    expect(source(attributes as Record<string, unknown>)?.toISOString() ?? null).toBe(expected);
  });
});

describe('stages', () => {
  const stages = stagesOf(30, [7, 1]);
  it('orders the threshold and the stages, most days first', () => {
    expect(stages).toEqual([30, 7, 1]);
    expect(stagesOf(10, [1, 7, 7])).toEqual([10, 7, 1]);
  });
  it.each([
    [45, null],
    [30, '30d'],
    [10, '30d'],
    [7, '7d'],
    [6.5, '7d'],
    [0.5, '1d'],
    [0, 'expired'],
    [-3, 'expired'],
  ])('%d days left: %s', (left, stage) => {
    expect(stageAt(days(left), NOW, stages)).toBe(stage);
  });
});
