import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keyVaultSecretOf } from '../src/syncs/rotated-secrets-sync';
import { gcpCertificateId, gcpSecretId, pfxToPem, splitPem, ssmParameterName } from '../src/syncs/sync-clouds';
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

  it('names SSM parameters with letters, digits, _ . - / only, a path starting with /', () => {
    expect(ssmParameterName('azure/kv-payments/db+password@1')).toBe('/azure/kv-payments/db-password-1');
    expect(ssmParameterName('/azure//kv/db')).toBe('/azure/kv/db');
    expect(ssmParameterName('azure-kv-db.password')).toBe('azure-kv-db.password');
  });

  it('makes Certificate Manager ids lowercase, starting with a letter, at most 63 characters', () => {
    expect(gcpCertificateId('/Azure/kv-payments/TLS.cert')).toBe('azure-kv-payments-tls-cert');
    expect(gcpCertificateId('42-tls')).toBe('tls');
    expect(gcpCertificateId(`a${'-b'.repeat(40)}`)).toHaveLength(63);
    expect(gcpCertificateId('///')).toBe('certificate');
  });

  it('reads the vault and name of a Key Vault secret URI', () => {
    expect(keyVaultSecretOf('https://KV-Payments.vault.azure.net/secrets/db-password')).toEqual({ vault: 'kv-payments', name: 'db-password' });
    expect(keyVaultSecretOf('https://kv-payments.vault.azure.net/keys/db-password')).toBeNull();
    expect(keyVaultSecretOf('not a uri')).toBeNull();
  });

  it('converts a PFX without a password to PEM key and certificate; anything else is not one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fourfold-pfx-unit-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=unit', '-keyout', 'k.pem', '-out', 'c.pem'], { cwd: dir, stdio: 'ignore' });
    execFileSync('openssl', ['pkcs12', '-export', '-inkey', 'k.pem', '-in', 'c.pem', '-passout', 'pass:', '-out', 'a.pfx'], { cwd: dir, stdio: 'ignore' });
    execFileSync('openssl', ['pkcs12', '-export', '-inkey', 'k.pem', '-in', 'c.pem', '-passout', 'pass:secret', '-out', 'locked.pfx'], { cwd: dir, stdio: 'ignore' });
    const parts = await pfxToPem(readFileSync(join(dir, 'a.pfx')).toString('base64'));
    expect(parts?.privateKey).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    const body = (pem: string) => pem.replace(/-----[A-Z ]+-----|\s/g, '');
    expect(body(parts!.certificate)).toBe(body(readFileSync(join(dir, 'c.pem'), 'utf8')));
    expect(parts?.chain).toBeNull();
    expect(await pfxToPem(readFileSync(join(dir, 'locked.pfx')).toString('base64'))).toBeNull();
    expect(await pfxToPem('bm90IGEgcGZ4')).toBeNull();
  });
});
