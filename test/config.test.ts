import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../src/config';

describe('loadConfig', () => {
  it('defaults to the embedded database on port 8080', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 8080,
      databaseUrl: undefined,
      dataDir: expect.stringMatching(/\/data$/),
      jwt: { secret: undefined, algorithm: 'HS256', ttlSeconds: 28800 },
      admin: { username: 'admin', password: undefined },
      validateResponses: false,
    });
  });

  it('bounds every wait by default, and takes other bounds from the environment', () => {
    expect(loadConfig({}).timeouts).toEqual({ httpRequestMs: 60000, httpHeadersMs: 20000, httpKeepAliveMs: 5000, dbStatementMs: 30000, dbConnectMs: 5000, redisCommandMs: 1000 });
    expect(loadConfig({}).jobTimeoutSeconds).toBe(900);
    const config = loadConfig({ DB_STATEMENT_TIMEOUT_MS: '0', HTTP_REQUEST_TIMEOUT_MS: '5000', HTTP_HEADERS_TIMEOUT_MS: '2000', JOB_TIMEOUT_SECONDS: '30' });
    expect(config.timeouts).toMatchObject({ dbStatementMs: 0, httpRequestMs: 5000, httpHeadersMs: 2000 });
    expect(config.jobTimeoutSeconds).toBe(30);
  });

  it('refuses a header timeout above the request timeout, and a statement timeout that is not a number', () => {
    expect(() => loadConfig({ HTTP_REQUEST_TIMEOUT_MS: '5000', HTTP_HEADERS_TIMEOUT_MS: '6000' })).toThrow(/HTTP_HEADERS_TIMEOUT_MS must not be above HTTP_REQUEST_TIMEOUT_MS/);
    expect(() => loadConfig({ DB_STATEMENT_TIMEOUT_MS: 'soon' })).toThrow(/DB_STATEMENT_TIMEOUT_MS must be an integer/);
  });

  it('returns a frozen config, nested objects included', () => {
    const config = loadConfig({});
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.jwt)).toBe(true);
  });

  it('names every invalid variable at once', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: 'eighty', JWT_ALGORITHM: 'none', JWT_SECRET: 'short', LOG_LEVEL: 'loud', VALIDATE_RESPONSES: 'maybe' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const name of ['PORT', 'JWT_ALGORITHM', 'JWT_SECRET', 'LOG_LEVEL', 'VALIDATE_RESPONSES']) {
      expect(problems).toContain(name);
    }
  });

  it('takes TRUST_PROXY as a hop count or addresses, and refuses true', () => {
    expect(loadConfig({ TRUST_PROXY: '2' }).trustProxy).toBe(2);
    expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8, loopback' }).trustProxy).toEqual(['10.0.0.0/8', 'loopback']);
    expect(() => loadConfig({ TRUST_PROXY: 'true' })).toThrow(/TRUST_PROXY=true would trust/);
    expect(() => loadConfig({ TRUST_PROXY: 'proxy.internal' })).toThrow(/TRUST_PROXY has entries/);
  });

  it('reads DISCOVERY_AZURE_CA_FILE at start-up and refuses a path that is missing or holds no certificate', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fourfold-config-'));
    const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    writeFileSync(join(dir, 'ca.pem'), pem);
    writeFileSync(join(dir, 'key.pem'), '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n');
    expect(loadConfig({ DISCOVERY_AZURE_CA_FILE: join(dir, 'ca.pem') }).discovery.endpoints.azureCaPem).toBe(pem);
    expect(loadConfig({}).discovery.endpoints).not.toHaveProperty('azureCaPem');
    expect(() => loadConfig({ DISCOVERY_AZURE_CA_FILE: join(dir, 'missing.pem') })).toThrow(/DISCOVERY_AZURE_CA_FILE must name a readable PEM file, could not read .*ENOENT/);
    expect(() => loadConfig({ DISCOVERY_AZURE_CA_FILE: join(dir, 'key.pem') })).toThrow(/DISCOVERY_AZURE_CA_FILE must name a PEM file holding one or more certificates/);
  });

  it('requires JWT_SECRET with DATABASE_URL, since processes must share one key', () => {
    expect(() => loadConfig({ DATABASE_URL: 'postgres://localhost/x' })).toThrow(/JWT_SECRET is required/);
    expect(() => loadConfig({ DATABASE_URL: 'mysql://localhost/x', JWT_SECRET: 'x'.repeat(32) })).toThrow(/DATABASE_URL/);
  });

  it('reads the rate-limit budgets and the Redis store, with production defaults', () => {
    expect(loadConfig({})).toMatchObject({
      rateLimits: { perMinute: 1000, heavyPerMinute: 60, windowSeconds: 60, loginPerUsername: 10, loginPerIp: 100, loginWindowSeconds: 900 },
      redisUrl: undefined,
      redisKeyPrefix: 'fourfold:',
    });
    expect(
      loadConfig({ RATE_LIMIT_HEAVY_PER_MINUTE: '5', RATE_LIMIT_WINDOW_SECONDS: '2', RATE_LIMIT_LOGIN_PER_USERNAME: '3', REDIS_URL: 'redis://cache:6379/2' }),
    ).toMatchObject({ rateLimits: { heavyPerMinute: 5, windowSeconds: 2, loginPerUsername: 3 }, redisUrl: 'redis://cache:6379/2' });
  });

  it('names every invalid rate-limit variable', () => {
    let error: unknown;
    try {
      loadConfig({
        RATE_LIMIT_PER_MINUTE: '0',
        RATE_LIMIT_HEAVY_PER_MINUTE: 'many',
        RATE_LIMIT_WINDOW_SECONDS: '3601',
        RATE_LIMIT_LOGIN_PER_USERNAME: '-1',
        RATE_LIMIT_LOGIN_PER_IP: '1.5',
        RATE_LIMIT_LOGIN_WINDOW_SECONDS: '86401',
        REDIS_URL: 'http://cache:6379',
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const name of [
      'RATE_LIMIT_PER_MINUTE',
      'RATE_LIMIT_HEAVY_PER_MINUTE',
      'RATE_LIMIT_WINDOW_SECONDS',
      'RATE_LIMIT_LOGIN_PER_USERNAME',
      'RATE_LIMIT_LOGIN_PER_IP',
      'RATE_LIMIT_LOGIN_WINDOW_SECONDS',
      'REDIS_URL',
    ]) {
      expect(problems).toContain(name);
    }
  });
});
