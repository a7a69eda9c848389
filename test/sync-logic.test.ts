import { gcpSecretId, splitPem } from '../src/syncs/sync-clouds';
import { nameMatches, targetName } from '../src/syncs/sync-runner';

describe('sync selection and naming', () => {
  it('matches names with * and ? over the whole name, case-insensitively', () => {
    expect(nameMatches('payments-*', 'Payments-DB')).toBe(true);
    expect(nameMatches('payments-*', 'billing-payments-db')).toBe(false);
    expect(nameMatches('db-?', 'db-1')).toBe(true);
    expect(nameMatches('db-?', 'db-12')).toBe(false);
    expect(nameMatches('a.b', 'axb')).toBe(false);
  });

  it('renders the naming template, and GCP ids keep only letters, digits, - and _', () => {
    expect(targetName('azure/{vault}/{kind}/{name}', 'kv-payments', { kind: 'secret', name: 'db' })).toBe('azure/kv-payments/secret/db');
    expect(gcpSecretId('azure/kv-payments/db.password')).toBe('azure-kv-payments-db-password');
  });

  it('splits a PEM bundle into key, leaf and chain; without a key or a certificate it is not one', () => {
    const block = (label: string, body: string) => `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----`;
    const bundle = [block('PRIVATE KEY', 'a2V5'), block('CERTIFICATE', 'bGVhZg=='), block('CERTIFICATE', 'aW50ZXI=')].join('\n');
    expect(splitPem(bundle)).toEqual({
      privateKey: `${block('PRIVATE KEY', 'a2V5')}\n`,
      certificate: `${block('CERTIFICATE', 'bGVhZg==')}\n`,
      chain: `${block('CERTIFICATE', 'aW50ZXI=')}\n`,
    });
    expect(splitPem(block('CERTIFICATE', 'bGVhZg=='))).toBeNull();
    expect(splitPem('MIIK…pkcs12 bytes as base64')).toBeNull();
  });
});
