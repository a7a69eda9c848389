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

  it('requires JWT_SECRET with DATABASE_URL, since processes must share one key', () => {
    expect(() => loadConfig({ DATABASE_URL: 'postgres://localhost/x' })).toThrow(/JWT_SECRET is required/);
    expect(() => loadConfig({ DATABASE_URL: 'mysql://localhost/x', JWT_SECRET: 'x'.repeat(32) })).toThrow(/DATABASE_URL/);
  });
});
