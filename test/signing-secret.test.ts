import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolveSigningSecret } from '../src/auth/signing-secret';
import { loadConfig } from '../src/config';

describe('resolveSigningSecret', () => {
  it('uses JWT_SECRET when it is set', () => {
    const config = loadConfig({ JWT_SECRET: 's'.repeat(40), DATA_DIR: '/nonexistent' });
    expect(resolveSigningSecret(config)).toBe('s'.repeat(40));
  });

  it('otherwise generates one in the data folder, readable only by its owner, and keeps it across restarts', () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fourfold-secret-'));
    try {
      const config = loadConfig({ DATA_DIR: dataDir });
      const first = resolveSigningSecret(config);
      expect(first.length).toBeGreaterThanOrEqual(64);
      expect(fs.statSync(path.join(dataDir, 'jwt-secret')).mode & 0o777).toBe(0o600);
      expect(resolveSigningSecret(loadConfig({ DATA_DIR: dataDir }))).toBe(first);
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
