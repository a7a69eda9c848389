import type { HandlerTable, OperationHandler } from '../http/contract';
import { loadOpenApiDocument } from '../http/openapi-document';

const REDOC_SCRIPT = require.resolve('redoc/bundles/redoc.standalone.js');

// Redoc renders from /v1/openapi.json; everything the page needs comes from this server.
const DOCS_PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>fourfold API reference</title>
    <link rel="icon" href="data:,">
    <style>body { margin: 0; padding: 0; }</style>
  </head>
  <body>
    <redoc spec-url="/v1/openapi.json"></redoc>
    <script src="/docs/redoc.standalone.js"></script>
  </body>
</html>
`;

// Redoc injects styles and runs its search index in a blob: worker; nothing else is allowed.
const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
].join('; ');

export function docsHandlers(): HandlerTable<'getOpenApiJson' | 'getOpenApiYaml' | 'getDocsPage' | 'getDocsScript'> {
  // Sent as they were bundled, byte for byte, rather than re-serialized per request.
  const { json, yaml } = loadOpenApiDocument();

  const getOpenApiJson: OperationHandler<'getOpenApiJson'> = (_req, res) => {
    res.type('application/json').end(json);
  };
  const getOpenApiYaml: OperationHandler<'getOpenApiYaml'> = (_req, res) => {
    res.type('application/yaml; charset=utf-8').end(yaml);
  };
  const getDocsPage: OperationHandler<'getDocsPage'> = (_req, res) => {
    res.setHeader('Content-Security-Policy', DOCS_CSP);
    res.type('text/html').end(DOCS_PAGE);
  };
  const getDocsScript: OperationHandler<'getDocsScript'> = (_req, res) => {
    res.type('text/javascript').sendFile(REDOC_SCRIPT, { maxAge: '1h' });
  };

  return {
    getOpenApiJson,
    getOpenApiYaml,
    getDocsPage,
    getDocsScript,
  };
}
