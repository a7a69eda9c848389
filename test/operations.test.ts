import type { OpenAPIV3_1 } from 'openapi-types';
import { isPublic, OperationIndex } from '../src/http/operations';

const document = {
  openapi: '3.1.0',
  info: { title: 't', version: '1' },
  security: [{ bearerAuth: [] }],
  paths: {
    '/v1/audits/{id}': { get: { operationId: 'getAudit' }, delete: { operationId: 'deleteAudit' } },
    '/v1/audits/latest': { get: { operationId: 'getLatestAudit' } },
    '/health': { get: { operationId: 'getHealth', security: [] } },
    '/v1/audits': { post: { operationId: 'createAudit', 'x-rate-limit-budget': 'heavy' } },
  },
} as unknown as OpenAPIV3_1.Document;

describe('OperationIndex', () => {
  const index = new OperationIndex(document);
  const operationId = (method: string, path: string) => {
    const match = index.find(method, path);
    return match && 'operation' in match ? match.operation.operationId : match;
  };

  it('finds the operation for a method and a concrete path', () => {
    expect(operationId('GET', '/v1/audits/aud_123')).toBe('getAudit');
    expect(operationId('DELETE', '/v1/audits/aud_123')).toBe('deleteAudit');
  });

  it('prefers a literal segment to a template', () => {
    expect(operationId('GET', '/v1/audits/latest')).toBe('getLatestAudit');
  });

  it('answers the path parameters by their template names, percent-decoded', () => {
    const match = index.find('GET', '/v1/audits/aud%5F123');
    expect(match && 'operation' in match ? match.params : match).toEqual({ id: 'aud_123' });
    const literal = index.find('GET', '/v1/audits/latest');
    expect(literal && 'operation' in literal ? literal.params : literal).toEqual({});
  });

  it('leaves a malformed percent-encoding as it came (the request validator answers it 400)', () => {
    const match = index.find('GET', '/v1/audits/aud%E0');
    expect(match && 'operation' in match ? match.params : match).toEqual({ id: 'aud%E0' });
  });

  it('lists every operation of the document', () => {
    expect(index.operations().map((o) => o.operationId).sort()).toEqual(['createAudit', 'deleteAudit', 'getAudit', 'getHealth', 'getLatestAudit']);
  });

  it('answers HEAD with the GET operation', () => {
    expect(operationId('HEAD', '/health')).toBe('getHealth');
  });

  it('answers the allowed methods when the path exists but the method does not', () => {
    expect(index.find('PUT', '/v1/audits/aud_123')).toEqual({ allowed: ['GET', 'DELETE', 'HEAD'] });
  });

  it('answers nothing for an unknown path, or one with an extra segment', () => {
    expect(index.find('GET', '/v1/nope')).toBeUndefined();
    expect(index.find('GET', '/v1/audits/aud_123/extra')).toBeUndefined();
  });

  it('inherits the document security, unless the operation sets its own', () => {
    const audit = index.find('GET', '/v1/audits/x') as { operation: Parameters<typeof isPublic>[0] };
    const health = index.find('GET', '/health') as { operation: Parameters<typeof isPublic>[0] };
    expect(isPublic(audit.operation)).toBe(false);
    expect(isPublic(health.operation)).toBe(true);
  });

  it('reads the rate-limit budget an operation declares with x-rate-limit-budget, default otherwise', () => {
    const budget = (method: string, path: string) => (index.find(method, path) as { operation: { rateLimitBudget: string } }).operation.rateLimitBudget;
    expect(budget('POST', '/v1/audits')).toBe('heavy');
    expect(budget('GET', '/v1/audits/aud_123')).toBe('default');
  });

  it('refuses a document that names an unknown budget, rather than silently using the default one', () => {
    const wrong = structuredClone(document);
    (wrong.paths!['/v1/audits']!.post as Record<string, unknown>)['x-rate-limit-budget'] = 'huge';
    expect(() => new OperationIndex(wrong)).toThrow(/POST \/v1\/audits: x-rate-limit-budget must be one of default, heavy, login, signup, none, got "huge"/);
  });
});
