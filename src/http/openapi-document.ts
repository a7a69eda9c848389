import fs from 'node:fs';
import path from 'node:path';
import type { OpenAPIV3_1 } from 'openapi-types';

const generatedDir = path.join(__dirname, '..', '..', 'generated');

export interface OpenApiDocument {
  document: OpenAPIV3_1.Document;
  json: string;
  yaml: string;
}

let cached: OpenApiDocument | undefined;

/** The bundled, published spec from generated/ (read once per process). */
export function loadOpenApiDocument(): OpenApiDocument {
  if (!cached) {
    const json = fs.readFileSync(path.join(generatedDir, 'openapi.json'), 'utf8');
    const yaml = fs.readFileSync(path.join(generatedDir, 'openapi.yaml'), 'utf8');
    cached = { document: JSON.parse(json) as OpenAPIV3_1.Document, json, yaml };
  }
  return cached;
}
