import fs from 'node:fs';
import path from 'node:path';
import type { OpenAPIV3_1 } from 'openapi-types';

const generatedDir = path.join(__dirname, '..', '..', 'generated');

export interface OpenApiDocument {
  document: OpenAPIV3_1.Document;
  /** The files' bytes, outside the JavaScript heap (3.7 MB the garbage collector need not trace), sent as they are. */
  json: Buffer;
  yaml: Buffer;
}

let cached: OpenApiDocument | undefined;

/** The bundled, published spec from generated/ (read once per process). */
export function loadOpenApiDocument(): OpenApiDocument {
  if (!cached) {
    const json = fs.readFileSync(path.join(generatedDir, 'openapi.json'));
    const yaml = fs.readFileSync(path.join(generatedDir, 'openapi.yaml'));
    cached = { document: JSON.parse(json.toString('utf8')) as OpenAPIV3_1.Document, json, yaml };
  }
  return cached;
}
