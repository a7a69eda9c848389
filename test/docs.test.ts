import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../src/config';
import { useTestApp } from './support/app';
import { expectStandardHeaders } from './support/expectations';

const generated = path.join(__dirname, '..', 'generated');

const t = useTestApp();

describe('the published spec', () => {
  it('GET /v1/openapi.json answers the bundled document without credentials', async () => {
    const response = await request(t.app).get('/v1/openapi.json');
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    expectStandardHeaders(response);
    expect(response.text).toBe(fs.readFileSync(path.join(generated, 'openapi.json'), 'utf8'));
    expect(response.body.openapi).toBe('3.1.0');
  });

  it('GET /v1/openapi.yaml answers the same document in YAML', async () => {
    const [yaml, json] = await Promise.all([request(t.app).get('/v1/openapi.yaml'), request(t.app).get('/v1/openapi.json')]);
    expect(yaml.status).toBe(200);
    expect(yaml.headers['content-type']).toBe('application/yaml; charset=utf-8');
    expect(parseYaml(yaml.text)).toEqual(json.body);
  });

  it('publishes no plain-http server', async () => {
    const { body } = await request(t.app).get('/v1/openapi.json');
    expect(body.servers.length).toBeGreaterThan(0);
    for (const server of body.servers) expect(server.url).toMatch(/^https:\/\//);
  });

  it('GET /docs answers the reference page, which loads its script from this server only', async () => {
    const response = await request(t.app).get('/docs');
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
    expectStandardHeaders(response);
    expect(response.text).toContain('<redoc spec-url="/v1/openapi.json">');
    const sources = [...response.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]).filter((s) => !s?.startsWith('data:'));
    expect(sources).toEqual(['/docs/redoc.standalone.js']);
    expect(response.headers['content-security-policy']).toContain("script-src 'self'");
  });

  it('GET /docs/redoc.standalone.js answers the renderer from node_modules', async () => {
    const response = await request(t.app).get('/docs/redoc.standalone.js');
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(response.text.length).toBeGreaterThan(100_000);
  });
});

describe('the conventions integrators trip over, in the reference page', () => {
  it('are written into the published spec that /docs renders', async () => {
    const { body } = await request(t.app).get('/v1/openapi.json');
    const description: string = body.info.description;
    for (const heading of ['## Conventions', '## Pagination', '## Limits', '## Rate limits', '## Retrying safely', '## Deprecation']) {
      expect(description).toContain(`\n${heading}\n`);
    }
    for (const term of ['query.<name>', 'invalid_cursor', 'payload_too_large', 'request_header_too_large', 'X-RateLimit-Remaining',
      'Retry-After', 'Idempotent-Replayed', 'idempotency_key_reused', 'idempotency_key_in_progress', 'x-sunset', 'Sunset:', 'Deprecation:']) {
      expect(description).toContain(term);
    }
  });

  it('give the body limits config has by default', () => {
    expect(loadConfig({}).bodyLimitBytes).toBe(1024 * 1024);
    expect(loadConfig({}).importBodyLimitBytes).toBe(64 * 1024 * 1024);
  });
});
