import createFetchClient, { type Client } from 'openapi-fetch';
import type { components, paths } from './generated/schema.js';
import { idempotencyKeyOperations } from './generated/operations.js';
import { TokenSource, type Credentials } from './auth.js';
import { FourfoldError } from './errors.js';
import { sleep, transport, type RetryOptions } from './transport.js';

type Schemas = components['schemas'];
export type Account = Schemas['Account'];
export type Import = Schemas['Import'];
export type Audit = Schemas['Audit'];
export type Finding = Schemas['Finding'];
export type Resource = Schemas['Resource'];
export type Report = Schemas['Report'];
export type Rule = Schemas['Rule'];
export type Policy = Schemas['Policy'];
export type Severity = Schemas['Severity'];

type Get<P extends keyof paths> = paths[P] extends { get: infer O } ? O : never;
type JsonOk<O> = O extends { responses: { 200: { content: { 'application/json': infer B } } } } ? B : never;
type Query<O> = O extends { parameters: { query?: infer Q } } ? Omit<NonNullable<Q>, 'cursor'> : never;
type PathParams<O> = O extends { parameters: { path: infer X } } ? X : never;

/** Every path whose GET answers a page: `{data, next_cursor, has_more}`. */
export type ListPath = {
  [P in keyof paths]: JsonOk<Get<P>> extends { data: unknown[]; has_more: boolean } ? P : never;
}[keyof paths];
/** The items of the list at `P`. */
export type ListItem<P extends ListPath> = JsonOk<Get<P>> extends { data: (infer I)[] } ? I : never;
/** The filters of the list at `P` (all but `cursor`, which the iterator passes itself). */
export type ListQuery<P extends ListPath> = Query<Get<P>>;
export type ListParams<P extends ListPath> = { query?: ListQuery<P> } & (PathParams<Get<P>> extends never ? { path?: never } : { path: PathParams<Get<P>> });

/** Filters that the API takes comma-separated may be given as arrays. */
type Lists<Q, K extends string> = Omit<Q, K> & { [Key in K & keyof Q]?: NonNullable<Q[Key]> | string[] };
export type FindingQuery = Lists<ListQuery<'/v1/findings'>, 'severity' | 'status'>;

export interface ClientOptions {
  /** The API's address, such as `https://api.fourfold.example`. */
  baseUrl: string;
  auth?: Credentials;
  retry?: RetryOptions;
  /** Headers sent with every request. */
  headers?: Record<string, string>;
  /** A fetch to send requests with (default: the global one). */
  fetch?: (request: Request) => Promise<Response>;
}

export interface WaitOptions {
  /** Gives up after this long with a `TimeoutError` (default 600,000 ms). */
  timeoutMs?: number;
  /** Gives up when it aborts, with its reason. */
  signal?: AbortSignal;
  /** The first pause between polls (default 500 ms), growing 1.5 times a poll up to `maxIntervalMs` (default 10,000 ms). */
  intervalMs?: number;
  maxIntervalMs?: number;
}

const FINAL = {
  audit: ['succeeded', 'failed', 'canceled'],
  import: ['succeeded', 'failed'],
  report: ['ready', 'failed'],
} as const;
export type Waitable = keyof typeof FINAL;
type Waited = { audit: Audit; import: Import; report: Report };

const COMMA_LISTS = ['severity', 'status'];

/** The answer's data, or its error thrown as a `FourfoldError`. */
async function unwrap<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok) throw FourfoldError.of(response, error);
  return data as T;
}

function commaSeparated<Q extends object | undefined>(query: Q): Q {
  if (!query) return query;
  const entries = Object.entries(query).map(([key, value]) => [key, COMMA_LISTS.includes(key) && Array.isArray(value) ? value.join(',') : value]);
  return Object.fromEntries(entries) as Q;
}

/**
 * The fourfold API. `raw` is the typed openapi-fetch client for any operation; the namespaces
 * below wrap the common ones, throwing a `FourfoldError` for any answer outside 2xx.
 */
export class FourfoldClient {
  readonly raw: Client<paths>;

  constructor(options: ClientOptions) {
    const fetchImpl = options.fetch ?? ((request: Request) => fetch(request));
    const tokens = new TokenSource(options.auth, options.baseUrl, fetchImpl);
    this.raw = createFetchClient<paths>({ baseUrl: options.baseUrl.replace(/\/+$/, ''), headers: options.headers, fetch: transport(tokens, options.retry ?? {}, fetchImpl) });
    const creates = idempotencyKeyOperations.map((operation) => `${operation.method} ${operation.path}`);
    this.raw.use({
      onRequest({ request, schemaPath }) {
        // A create without its own key gets one, so that retrying it can never make a second object.
        if (creates.includes(`${request.method} ${schemaPath}`) && !request.headers.has('Idempotency-Key')) {
          request.headers.set('Idempotency-Key', crypto.randomUUID());
        }
        return request;
      },
    });
  }

  /** Every item of the list at `path`, page after page. */
  async *list<P extends ListPath>(path: P, params?: ListParams<P>): AsyncGenerator<ListItem<P>, void, undefined> {
    let cursor: string | undefined;
    do {
      const query = { ...commaSeparated(params?.query as object | undefined), ...(cursor === undefined ? {} : { cursor }) };
      // The path is one of many, so its parameters cannot be checked against a single operation here.
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const page = await unwrap<{ data: ListItem<P>[]; next_cursor: string | null; has_more: boolean }>((this.raw.GET as any)(path, { params: { path: params?.path, query } }));
      yield* page.data;
      cursor = page.has_more && page.next_cursor !== null ? page.next_cursor : undefined;
    } while (cursor !== undefined);
  }

  readonly accounts = {
    list: (query?: ListQuery<'/v1/accounts'>) => this.list('/v1/accounts', { query }),
    get: (id: string) => unwrap(this.raw.GET('/v1/accounts/{id}', { params: { path: { id } } })),
    create: (body: Schemas['AccountCreate']) => unwrap(this.raw.POST('/v1/accounts', { body })),
  };

  readonly imports = {
    list: (accountId: string, query?: ListQuery<'/v1/accounts/{id}/imports'>) => this.list('/v1/accounts/{id}/imports', { path: { id: accountId }, query }),
    get: (id: string) => unwrap(this.raw.GET('/v1/imports/{id}', { params: { path: { id } } })),
    /** Imports an inventory file (a Terraform state, `terraform show -json` output, or the native format) into the account. */
    create: (accountId: string, inventory: Record<string, unknown>, options: { format: Schemas['ImportFormat']; mode?: Schemas['ImportMode'] }) =>
      unwrap(this.raw.POST('/v1/accounts/{id}/imports', { params: { path: { id: accountId }, query: options }, body: inventory })),
  };

  readonly resources = {
    list: (query?: ListQuery<'/v1/resources'>) => this.list('/v1/resources', { query }),
    get: (id: string) => unwrap(this.raw.GET('/v1/resources/{id}', { params: { path: { id } } })),
  };

  readonly audits = {
    list: (query?: ListQuery<'/v1/audits'>) => this.list('/v1/audits', { query }),
    get: (id: string) => unwrap(this.raw.GET('/v1/audits/{id}', { params: { path: { id } } })),
    /** Starts an audit (of every account by default); it runs in the background: see `waitFor`. */
    create: (body: Schemas['AuditCreate'] = {}) => unwrap(this.raw.POST('/v1/audits', { body })),
    cancel: (id: string) => unwrap(this.raw.POST('/v1/audits/{id}/cancel', { params: { path: { id } } })),
  };

  readonly findings = {
    /** Severities and statuses may be arrays: `{severity: ['high', 'critical']}`. */
    list: (query?: FindingQuery) => this.list('/v1/findings', { query: query as ListQuery<'/v1/findings'> }),
    get: (id: string) => unwrap(this.raw.GET('/v1/findings/{id}', { params: { path: { id } } })),
    update: (id: string, body: Schemas['FindingUpdate']) => unwrap(this.raw.PATCH('/v1/findings/{id}', { params: { path: { id } }, body })),
  };

  readonly rules = {
    list: (query?: ListQuery<'/v1/rules'>) => this.list('/v1/rules', { query }),
    get: (id: string) => unwrap(this.raw.GET('/v1/rules/{id}', { params: { path: { id } } })),
  };

  readonly policies = {
    list: (query?: ListQuery<'/v1/policies'>) => this.list('/v1/policies', { query }),
    get: (id: string) => unwrap(this.raw.GET('/v1/policies/{id}', { params: { path: { id } } })),
    create: (body: Schemas['PolicyCreate']) => unwrap(this.raw.POST('/v1/policies', { body })),
  };

  readonly reports = {
    list: (query?: ListQuery<'/v1/reports'>) => this.list('/v1/reports', { query }),
    get: (id: string) => unwrap(this.raw.GET('/v1/reports/{id}', { params: { path: { id } } })),
    /** Starts generating a report; see `waitFor`. */
    create: (body: Schemas['ReportCreate']) => unwrap(this.raw.POST('/v1/reports', { body })),
    /** A ready report's file (PDF or JSON) as bytes. */
    download: async (id: string): Promise<Uint8Array> => {
      const bytes = await unwrap(this.raw.GET('/v1/reports/{id}/download', { params: { path: { id } }, parseAs: 'arrayBuffer' }));
      return new Uint8Array(bytes);
    },
    /** A ready report's file as a stream, for large files. */
    downloadStream: async (id: string): Promise<ReadableStream<Uint8Array>> => {
      const stream = await unwrap(this.raw.GET('/v1/reports/{id}/download', { params: { path: { id } }, parseAs: 'stream' }));
      if (!stream) throw new Error('the download answered no body');
      return stream as ReadableStream<Uint8Array>;
    },
  };

  /**
   * Polls the audit, import or report until it reaches a final state (an audit `succeeded`,
   * `failed` or `canceled`; an import `succeeded` or `failed`; a report `ready` or `failed`)
   * and answers it in that state: check its `status`.
   */
  async waitFor<K extends Waitable>(kind: K, job: string | { id: string }, options: WaitOptions = {}): Promise<Waited[K]> {
    const id = typeof job === 'string' ? job : job.id;
    const timeout = AbortSignal.timeout(options.timeoutMs ?? 600_000);
    // One signal for the polls too, so that a poll waiting out a 429 gives up with the wait.
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    const maxIntervalMs = options.maxIntervalMs ?? 10_000;
    let interval = options.intervalMs ?? 500;
    const path = { audit: '/v1/audits/{id}', import: '/v1/imports/{id}', report: '/v1/reports/{id}' }[kind];
    for (;;) {
      signal.throwIfAborted();
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const current = await unwrap<Waited[K]>((this.raw.GET as any)(path, { params: { path: { id } }, signal }));
      if ((FINAL[kind] as readonly string[]).includes(current.status)) return current;
      await sleep(interval, signal);
      interval = Math.min(interval * 1.5, maxIntervalMs);
    }
  }
}

export function createClient(options: ClientOptions): FourfoldClient {
  return new FourfoldClient(options);
}
