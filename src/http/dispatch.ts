import type { Request, RequestHandler, Response } from 'express';
import type { AllHandlers } from './contract';
import type { OperationIndex } from './operations';

type AnyHandler = (req: Request, res: Response) => Promise<void> | void;

/**
 * Calls the handler of the operation the request resolved to (`res.locals.operation`), with
 * `req.params` holding the operation's path parameters. Express 5 sends a rejected promise (and
 * a synchronous throw) to the error handler, as it does for routes.
 *
 * Refuses to start unless the table and the served document name the same operations: an
 * operation without a handler would answer nothing, and a handler without an operation is dead.
 */
export function dispatchOperations(handlers: AllHandlers, index: OperationIndex): RequestHandler {
  const table = handlers as unknown as Record<string, AnyHandler>;
  checkHandlers(table, index);
  return (req, res, next) => {
    const operation = res.locals.operation;
    if (!operation) return next();
    req.params = { ...res.locals.pathParams };
    return table[operation.operationId]!(req, res);
  };
}

function checkHandlers(table: Record<string, unknown>, index: OperationIndex): void {
  const operations = index.operations();
  const unhandled = operations.filter((operation) => typeof table[operation.operationId] !== 'function');
  const known = new Set(operations.map((operation) => operation.operationId));
  const orphans = Object.keys(table).filter((id) => !known.has(id));
  const problems = [
    ...(unhandled.length > 0
      ? [`no handler for the operation(s) ${unhandled.map((o) => `${o.operationId} (${o.method.toUpperCase()} ${o.path})`).join(', ')}`]
      : []),
    ...(orphans.length > 0 ? [`handler(s) for no operation of the served document: ${orphans.join(', ')}`] : []),
  ];
  if (problems.length > 0) throw new Error(`The handlers do not match the OpenAPI document: ${problems.join('; ')}.`);
}
