import type { Request, Response } from 'express';
import type { components, operations } from '../../generated/openapi';

export type Schemas = components['schemas'];
/** The operations the API serves: the spec's `webhooks` (sent by the API, named `receive…Event`) are not among them. */
export type OperationId = Exclude<keyof operations, `receive${string}Event`>;

type JsonContent<T> = T extends { content: { 'application/json': infer Body } } ? Body : never;
type FormContent<T> = T extends { content: { 'application/x-www-form-urlencoded': infer Body } } ? Body : never;
/** `Fallback` where the spec has nothing (openapi-typescript says `never`). */
type OrElse<T, Fallback> = [T] extends [never] ? Fallback : T;
type Responses<Id extends OperationId> = operations[Id]['responses'];
type SuccessStatus<Id extends OperationId> = Extract<keyof Responses<Id>, 200 | 201 | 202 | 204>;

/** The JSON body of the operation's success responses. */
export type SuccessBody<Id extends OperationId> = JsonContent<Responses<Id>[SuccessStatus<Id>]>;
/** The request body: JSON, or the fields of a form post (`application/x-www-form-urlencoded`). */
export type RequestBody<Id extends OperationId> =
  | JsonContent<NonNullable<operations[Id]['requestBody']>>
  | FormContent<NonNullable<operations[Id]['requestBody']>>;
type PathParams<Id extends OperationId> = OrElse<NonNullable<operations[Id]['parameters']['path']>, Record<string, string>>;
type QueryParams<Id extends OperationId> = OrElse<NonNullable<operations[Id]['parameters']['query']>, Record<string, never>>;

/**
 * An Express handler typed by the spec operation it implements: its body, params and query
 * are the spec's, and `res.json` accepts only the spec's success body.
 */
export type OperationHandler<Id extends OperationId> = (
  req: Request<PathParams<Id>, OrElse<SuccessBody<Id>, unknown>, OrElse<RequestBody<Id>, unknown>, QueryParams<Id>>,
  res: Response<OrElse<SuccessBody<Id>, unknown>>,
) => Promise<void> | void;

/** A feature's handlers, one per operation it implements, keyed by operation id. */
export type HandlerTable<Id extends OperationId> = { [K in Id]: OperationHandler<K> };

/** A handler for every operation of the spec. */
export type AllHandlers = { [Id in OperationId]: OperationHandler<Id> };

/**
 * `table` as the application's handler table. Beyond `AllHandlers` (which makes a missing
 * handler a type error), a key naming no operation is one too, though spreads escape
 * TypeScript's excess-property check.
 */
export function handlerTable<T extends AllHandlers & { [K in Exclude<keyof T, OperationId>]: never }>(table: T): AllHandlers {
  return table;
}
