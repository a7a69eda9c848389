// Writes sdk/src/generated/operations.ts from the bundled spec: the operations that take an
// Idempotency-Key header (the SDK sets one itself on them, and only then retries a POST), and
// every error code, so that the SDK can tell a code of the spec from anything else.
import { readFileSync, writeFileSync } from 'node:fs';

const [specFile, outFile] = process.argv.slice(2);
const spec = JSON.parse(readFileSync(specFile, 'utf8'));

const resolve = (node) => (node && node.$ref ? node.$ref.split('/').slice(1).reduce((at, key) => at[key], spec) : node);
const idempotent = [];
for (const [path, item] of Object.entries(spec.paths)) {
  for (const method of ['post', 'put', 'patch', 'delete']) {
    const operation = item[method];
    if (!operation) continue;
    const takesKey = (operation.parameters ?? []).map(resolve).some((p) => p.in === 'header' && p.name.toLowerCase() === 'idempotency-key');
    if (takesKey) idempotent.push(`  { method: '${method.toUpperCase()}', path: '${path}', operationId: '${operation.operationId}' },`);
  }
}
const errorCodes = spec.components.schemas.ErrorCode.enum.map((code) => `  '${code}',`);
const oauthCodes = spec.components.schemas.OAuthError.properties.error.enum.map((code) => `  '${code}',`);

writeFileSync(
  outFile,
  `// Generated from generated/openapi.json by scripts/generate.sh; do not edit.

/** The operations that take an \`Idempotency-Key\` header. */
export const idempotencyKeyOperations = [
${idempotent.join('\n')}
] as const;

/** Every \`error.code\` of the API's error shape. */
export const errorCodes = [
${errorCodes.join('\n')}
] as const;

/** Every \`error\` of the OAuth endpoints' error shape (RFC 6749 §5.2). */
export const oauthErrorCodes = [
${oauthCodes.join('\n')}
] as const;
`,
);
