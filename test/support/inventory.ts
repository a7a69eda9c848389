import { createHash } from 'node:crypto';
import type { Db } from '../../src/db/database';
import { newId } from '../../src/ids';
import { insertResources } from '../../src/resources/resources.repository';

/** Seeds resources straight into the store, for tests of reading them. */
export async function seedResources(
  db: Db,
  organizationId: string,
  accountId: string,
  items: { type: string; name?: string | null; region?: string; tags?: Record<string, string>; lastSeenAt?: Date; status?: 'active' | 'gone' }[],
): Promise<string[]> {
  const rows = items.map((item, i) => {
    const id = newId('res');
    const seen = item.lastSeenAt ?? new Date(Date.UTC(2026, 10, 1) + i * 60_000);
    return {
      id,
      organization_id: organizationId,
      account_id: accountId,
      provider: 'aws' as const,
      type: item.type,
      native_id: `arn:aws:test:::${id}`,
      region: item.region ?? 'eu-west-1',
      name: item.name === undefined ? `${item.type}-${i}` : item.name,
      tags: item.tags ?? {},
      attributes: { index: i },
      relationships: [],
      content_hash: createHash('sha256').update(id).digest('hex'),
      version: 1,
      first_seen_at: seen,
      last_seen_at: seen,
      status: item.status ?? ('active' as const),
    };
  });
  await insertResources(db, rows);
  return rows.map((row) => row.id);
}
