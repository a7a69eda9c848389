import type { RequestHandler } from 'express';
import { AppError, type ErrorDetail } from '../errors';
import { dottedPath, findUnstorable, unstorableIn } from '../storable-text';

/**
 * Refuses a request with a string PostgreSQL cannot store (a NUL, a lone surrogate) anywhere in
 * its path, query or JSON body, keys included: `422 validation_failed` naming each part, before
 * any handler runs, so nothing is half-written. Import bodies are checked by the import itself,
 * resource by resource, so that its answer names the item (`invalid_import`).
 */
export const rejectUnstorableInput: RequestHandler = (req, res, next) => {
  const details: ErrorDetail[] = [];
  const path = decodedPath(req.path);
  const pathIssue = path === undefined ? undefined : unstorableIn(path);
  if (pathIssue) details.push({ field: 'path', issue: pathIssue });
  const query = findUnstorable(req.query);
  if (query) details.push({ field: `query.${dottedPath(query.path)}`, issue: query.issue });
  if (res.locals.operation?.bodyLimit !== 'import') {
    const body = findUnstorable(req.body);
    if (body) details.push({ field: body.path.length > 0 ? `body.${dottedPath(body.path)}` : 'body', issue: body.issue });
  }
  if (details.length > 0) return next(new AppError('validation_failed', 'The request holds text that cannot be stored; see details.', details));
  next();
};

function decodedPath(path: string): string | undefined {
  try {
    return decodeURIComponent(path);
  } catch {
    return undefined; // not percent-encoded properly: the router answers it
  }
}
