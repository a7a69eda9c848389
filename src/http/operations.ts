import type { OpenAPIV3_1 } from 'openapi-types';

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
type Method = (typeof METHODS)[number];
const RATE_LIMIT_BUDGETS = ['default', 'heavy', 'login', 'signup', 'none'] as const;
export type RateLimitBudget = (typeof RATE_LIMIT_BUDGETS)[number];

export interface Operation {
  operationId: string;
  method: Method;
  path: string;
  /** The effective security requirement: the operation's own, or else the document's. */
  security: OpenAPIV3_1.SecurityRequirementObject[];
  /** The scopes a caller must hold: those its security requirement lists (all schemes list the same). */
  requiredScopes: string[];
  /** `import` for operations whose `x-body-limit` allows inventory-sized bodies. */
  bodyLimit: 'default' | 'import';
  /** Which per-credential budget the operation spends: its `x-rate-limit-budget`, else `default`. */
  rateLimitBudget: RateLimitBudget;
  /** The credential kinds the operation accepts (its `x-credential-kinds`); undefined: any. */
  credentialKinds: string[] | undefined;
  /** Whether a retry with the same `Idempotency-Key` replays the first answer (`x-idempotent`). */
  idempotent: boolean;
  /** Whether its answers carry a secret, so no cache may keep them (`x-no-store`). */
  noStore: boolean;
  /** The feature an operation marked `x-required-plan` belongs to (its `x-plan-feature`), which the organization's plan must include. */
  planFeature: string | undefined;
  /** For an operation marked `deprecated: true`: when it was deprecated (`x-deprecated-at`) and when it goes (`x-sunset`). */
  deprecation: Deprecation | undefined;
}

export interface Deprecation {
  deprecatedAt: Date;
  sunset: Date;
}

interface PathEntry {
  pattern: RegExp;
  /** The names of the template's parameters, in the order of the pattern's groups. */
  parameterNames: string[];
  operations: Map<Method, Operation>;
}

/** A request's operation and the values of its path parameters, by the names the template gives them. */
export interface OperationMatch {
  operation: Operation;
  params: Record<string, string>;
}

/** Finds the spec operation behind a request, so middleware can act on what the spec declares. */
export class OperationIndex {
  private readonly paths: PathEntry[] = [];

  constructor(document: OpenAPIV3_1.Document) {
    for (const [template, item] of Object.entries(document.paths ?? {})) {
      const operations = new Map<Method, Operation>();
      for (const method of METHODS) {
        const op = item?.[method];
        if (!op?.operationId) continue;
        const security = op.security ?? document.security ?? [];
        operations.set(method, {
          operationId: op.operationId,
          method,
          path: template,
          security,
          requiredScopes: [...new Set(security.flatMap((requirement) => Object.values(requirement).flat()))],
          bodyLimit: (op as { 'x-body-limit'?: string })['x-body-limit'] === 'import' ? 'import' : 'default',
          credentialKinds: (op as { 'x-credential-kinds'?: string[] })['x-credential-kinds'],
          idempotent: (op as { 'x-idempotent'?: boolean })['x-idempotent'] === true,
          noStore: (op as { 'x-no-store'?: boolean })['x-no-store'] === true,
          rateLimitBudget: rateLimitBudgetOf(op as { 'x-rate-limit-budget'?: unknown }, `${method.toUpperCase()} ${template}`),
          planFeature: (op as { 'x-required-plan'?: string })['x-required-plan'] ? (op as { 'x-plan-feature'?: string })['x-plan-feature'] : undefined,
          deprecation: deprecationOf(op, `${method.toUpperCase()} ${template}`),
        });
      }
      this.paths.push({ pattern: templateToRegExp(template), parameterNames: parameterNamesOf(template), operations });
    }
    // Literal segments win over templated ones (`/v1/audits/latest` before `/v1/audits/{id}`).
    this.paths.sort((a, b) => templatedSegments(a.pattern) - templatedSegments(b.pattern));
  }

  /** Every operation of the document. */
  operations(): Operation[] {
    return this.paths.flatMap((entry) => [...entry.operations.values()]);
  }

  /**
   * The operation for `method` on `path` with its path parameters (URL-decoded, as Express
   * decodes route parameters); else the methods the path allows; else nothing.
   */
  find(method: string, path: string): OperationMatch | { allowed: string[] } | undefined {
    for (const entry of this.paths) {
      const values = entry.pattern.exec(path);
      if (values) return this.match(entry, values.slice(1), method);
    }
    return undefined;
  }

  private match(entry: PathEntry, values: string[], method: string): OperationMatch | { allowed: string[] } {
    const wanted = method.toLowerCase() as Method;
    const operation = entry.operations.get(wanted) ?? (wanted === 'head' ? entry.operations.get('get') : undefined);
    if (operation) {
      return { operation, params: Object.fromEntries(entry.parameterNames.map((name, i) => [name, decodeSegment(values[i]!)])) };
    }
    const allowed = [...entry.operations.keys()].map((m) => m.toUpperCase());
    if (allowed.includes('GET') && !allowed.includes('HEAD')) allowed.push('HEAD');
    return { allowed };
  }
}

/** Whether the operation can be called without credentials (`security: []` or an empty alternative). */
export function isPublic(operation: Operation): boolean {
  return operation.security.length === 0 || operation.security.some((r) => Object.keys(r).length === 0);
}

function rateLimitBudgetOf(op: { 'x-rate-limit-budget'?: unknown }, where: string): RateLimitBudget {
  const mark = op['x-rate-limit-budget'] ?? 'default';
  if (!(RATE_LIMIT_BUDGETS as readonly unknown[]).includes(mark)) {
    throw new Error(`${where}: x-rate-limit-budget must be one of ${RATE_LIMIT_BUDGETS.join(', ')}, got ${JSON.stringify(mark)}`);
  }
  return mark as RateLimitBudget;
}

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;

/** A deprecated operation must say when it was deprecated and when it goes, so its answers can say so too. */
function deprecationOf(op: OpenAPIV3_1.OperationObject & { 'x-deprecated-at'?: unknown; 'x-sunset'?: unknown }, where: string): Deprecation | undefined {
  if (op.deprecated !== true) return undefined;
  const [deprecatedAt, sunset] = (['x-deprecated-at', 'x-sunset'] as const).map((key) => {
    const value = op[key];
    if (typeof value !== 'string' || !RFC3339.test(value) || Number.isNaN(Date.parse(value))) {
      throw new Error(`${where}: a deprecated operation needs ${key} as an RFC 3339 date-time, got ${JSON.stringify(value)}`);
    }
    return new Date(value);
  }) as [Date, Date];
  if (sunset <= deprecatedAt) throw new Error(`${where}: x-sunset must come after x-deprecated-at`);
  return { deprecatedAt, sunset };
}

function templateToRegExp(template: string): RegExp {
  const source = template
    .split('/')
    .map((segment) => (/^\{[^}]+\}$/.test(segment) ? '([^/]+)' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${source}/?$`);
}

function parameterNamesOf(template: string): string[] {
  return template.split('/').flatMap((segment) => /^\{([^}]+)\}$/.exec(segment)?.slice(1) ?? []);
}

/**
 * A path parameter's value, percent-decoded. A malformed encoding is left as it came: the request
 * validator answers such a path 400 before any handler sees it.
 */
function decodeSegment(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

function templatedSegments(pattern: RegExp): number {
  return pattern.source.split('([^/]+)').length - 1;
}
