import request from 'supertest';
import { SecretsKeyring } from '../src/discovery/connection-secrets';
import { reEncryptSecrets } from '../src/discovery/connections.service';
import { as, useTestApp } from './support/app';

const OLD_KEY = 'old-secrets-key-0123456789abcdefghijklmnop';
const NEW_KEY = 'new-secrets-key-0123456789abcdefghijklmnop';
const t = useTestApp({ SECRETS_KEY: OLD_KEY });

describe('connection secrets', () => {
  it('decrypt only under the key they name, and re-encrypt under a new key', async () => {
    const token = await t.ownerToken();
    const account = (await request(t.app).post('/v1/accounts').set(as(token)).send({ provider: 'aws', external_id: '123412341234', name: 'x' }).expect(201)).body;
    await request(t.app)
      .put(`/v1/accounts/${account.id}/connection`)
      .set(as(token))
      .send({ kind: 'aws_access_key', access_key_id: 'AKIAROTATE0000000001', secret_access_key: 'rotate-me-secret' })
      .expect(200);
    const before = await t.db.selectFrom('account_connections').selectAll().where('account_id', '=', account.id).executeTakeFirstOrThrow();
    const newOnly = new SecretsKeyring(NEW_KEY);
    expect(newOnly.decrypt(before.secret_encrypted!, before.secret_key_id!)).toBeUndefined();
    expect(await reEncryptSecrets(t.db, newOnly)).toEqual({ reEncrypted: 0, unreadable: [account.id] });

    const rotated = new SecretsKeyring(NEW_KEY, [OLD_KEY]);
    expect(await reEncryptSecrets(t.db, rotated)).toEqual({ reEncrypted: 1, unreadable: [] });
    const after = await t.db.selectFrom('account_connections').selectAll().where('account_id', '=', account.id).executeTakeFirstOrThrow();
    expect(after.secret_key_id).toBe(rotated.currentKeyId);
    expect(after.secret_key_id).not.toBe(before.secret_key_id);
    expect(JSON.parse(new SecretsKeyring(NEW_KEY).decrypt(after.secret_encrypted!, after.secret_key_id!)!)).toEqual({ secret_access_key: 'rotate-me-secret' });
    expect(await reEncryptSecrets(t.db, rotated)).toEqual({ reEncrypted: 0, unreadable: [] });
  });
});
