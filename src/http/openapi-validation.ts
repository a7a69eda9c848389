import type { Request, RequestHandler, Response } from 'express';
import * as OpenApiValidator from 'express-openapi-validator';
import type { OpenApiRequestMetadata } from 'express-openapi-validator/dist/framework/types';
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type { OpenAPIV3_1 } from 'openapi-types';
import { errorHandler } from './error-handler';
import type { Operation } from './operations';

// Requests are validated by express-openapi-validator. Responses are validated here: the library
// compiles each response schema together with the whole document, which ajv walks again for
// every status of every operation (about half a second per operation on this spec, on its first
// request, in every app). Here the document is added to ajv once, each response schema is
// compiled by reference into it, and the components it uses are compiled once for all.

const requestValidators = new WeakMap<OpenAPIV3_1.Document, RequestHandler[]>();
const responseValidators = new WeakMap<OpenAPIV3_1.Document, ResponseValidators>();

/** Request validation against `document`; one validator serves every app built from it in a process. */
export function requestValidator(document: OpenAPIV3_1.Document): RequestHandler[] {
  let validator = requestValidators.get(document);
  if (!validator) requestValidators.set(document, (validator = newRequestValidator(document)));
  return validator;
}

function newRequestValidator(document: OpenAPIV3_1.Document): RequestHandler[] {
  const middleware = OpenApiValidator.middleware({
    // The validator rewrites the document it is given; the served copy stays untouched.
    apiSpec: structuredClone(document) as never,
    validateRequests: { allowUnknownQueryParameters: false, allErrors: true },
    validateResponses: false,
    validateSecurity: false,
    validateFormats: true,
  });
  return middleware.map((handler) => (handler.name === 'metadataMiddleware' ? reusingRouteLookup(handler) : handler));
}

/**
 * The validator finds a request's route by compiling and testing the pattern of every path of the
 * spec in turn, on every request. `resolveOperation` has found the operation already, so what the
 * validator found for an operation on its first request is kept and reused, with each request's
 * own path parameters. Paths with percent-escapes still go to the validator, which refuses a
 * malformed one.
 */
function reusingRouteLookup(lookup: RequestHandler): RequestHandler {
  const byOperation = new Map<Operation, OpenApiRequestMetadata>();
  return (request, res, next) => {
    const req = request as Request & { openapi?: OpenApiRequestMetadata };
    const operation = res.locals.operation;
    const known = operation && !req.path.includes('%') ? byOperation.get(operation) : undefined;
    if (known) {
      const pathParams = { ...res.locals.pathParams };
      req.openapi = { ...known, pathParams };
      req.params = pathParams;
      return next();
    }
    void lookup(req, res, (error?: unknown) => {
      if (error === undefined && operation && req.openapi?.schema) byOperation.set(operation, { ...req.openapi });
      next(error);
    });
  };
}

/**
 * Checks every JSON body an operation answers with against the schema the spec gives for its
 * status and media type; a body outside the contract is answered as a 500 (and logged), so that a
 * handler drifting from the spec fails its tests. Install it after the operation is resolved.
 */
export function responseValidator(document: OpenAPIV3_1.Document): RequestHandler {
  let validators = responseValidators.get(document);
  if (!validators) responseValidators.set(document, (validators = new ResponseValidators(document)));
  return (req, res, next) => {
    const operation = res.locals.operation;
    if (operation) {
      const send = res.json.bind(res);
      res.json = (body: unknown) => {
        res.json = send;
        const problem = validators!.problemWith(operation, res, body);
        if (problem === undefined) return send(body);
        errorHandler(new Error(problem), req, res, () => {});
        return res;
      };
    }
    next();
  };
}

class ResponseValidators {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false });
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor(private readonly document: OpenAPIV3_1.Document) {
    addFormats(this.ajv);
    this.ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
    this.ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isSafeInteger(n) });
    // The spec's own formats (`pdf`, `terraform_state`, …) name content; they constrain nothing.
    for (const format of formatsIn(document)) if (!this.ajv.formats[format]) this.ajv.addFormat(format, true);
    this.ajv.addSchema(withoutExamples(document) as object, DOCUMENT_ID);
  }

  /** Why `body` is not what `operation` may answer with this status and media type; undefined when it is. */
  problemWith(operation: Operation, res: Response, body: unknown): string | undefined {
    const status = String(res.statusCode);
    const mediaType = String(res.getHeader('Content-Type') ?? 'application/json').split(';')[0]!.trim();
    const where = `${operation.method.toUpperCase()} ${operation.path} answered ${status}`;
    const responses = this.document.paths?.[operation.path]?.[operation.method]?.responses ?? {};
    const key = [status, `${status[0]}XX`, 'default'].find((candidate) => candidate in responses);
    if (key === undefined) return `${where}, a status its spec does not list`;
    const pointer = this.contentPointer(operation, key, mediaType);
    if (pointer === undefined) return `${where} with ${mediaType}, which its spec does not list for that status`;
    let validate = this.compiled.get(pointer);
    if (!validate) {
      validate = this.ajv.compile({ $ref: `${DOCUMENT_ID}#${pointer}` });
      this.compiled.set(pointer, validate);
    }
    if (validate(body)) return undefined;
    return `${where} with a body outside the spec: ${this.ajv.errorsText(validate.errors, { dataVar: 'response' })}`;
  }

  /** The JSON pointer of the schema of the response `key` in `mediaType`, following a `$ref` to components.responses. */
  private contentPointer(operation: Operation, key: string, mediaType: string): string | undefined {
    let pointer = `/paths/${escape(operation.path)}/${operation.method}/responses/${escape(key)}`;
    let response = this.document.paths![operation.path]![operation.method]!.responses![key] as OpenAPIV3_1.ResponseObject | OpenAPIV3_1.ReferenceObject;
    if ('$ref' in response) {
      pointer = response.$ref.slice(1);
      response = this.document.components!.responses![response.$ref.split('/').pop()!] as OpenAPIV3_1.ResponseObject;
    }
    return response.content?.[mediaType]?.schema ? `${pointer}/content/${escape(mediaType)}/schema` : undefined;
  }
}

const DOCUMENT_ID = 'openapi.json';

/** A JSON pointer's reference token for `segment` (RFC 6901). */
function escape(segment: string): string {
  return segment.replaceAll('~', '~0').replaceAll('/', '~1');
}

function formatsIn(node: unknown, found = new Set<string>()): Set<string> {
  if (node !== null && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === 'format' && typeof value === 'string') found.add(value);
      else formatsIn(value, found);
    }
  }
  return found;
}

/**
 * The document without its examples: example values are data, and ajv would read an `$id` in one
 * as a schema's. The keys of `properties` are names: a property called `example` stays.
 */
function withoutExamples(node: unknown, keysAreNames = false): unknown {
  if (Array.isArray(node)) return node.map((item) => withoutExamples(item));
  if (node === null || typeof node !== 'object') return node;
  const copy: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (!keysAreNames && (key === 'example' || key === 'examples')) continue;
    copy[key] = withoutExamples(value, !keysAreNames && key === 'properties');
  }
  return copy;
}
