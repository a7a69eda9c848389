#!/usr/bin/env bash
# Writes everything in generated/ from spec/ (or into the folder given as $1, for check-generated),
# and the SDK's generated types in sdk/src/generated/ (or the folder given as $2).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-generated}"
sdk_out="${2:-sdk/src/generated}"
mkdir -p "$out" "$sdk_out"
for ext in json yaml; do
  npx --no-install redocly bundle spec/openapi.yaml --config spec/redocly.yaml --ext "$ext" -o "$out/openapi.$ext" >/dev/null 2>"$out/.bundle.log" \
    || { cat "$out/.bundle.log" >&2; exit 1; }
done
rm -f "$out/.bundle.log"
npx --no-install openapi-typescript "$out/openapi.json" --output "$out/openapi.d.ts" >/dev/null
# The SDK ships its types as a module of its own (a .ts file, so that tsc emits its .d.ts; a
# property with a default is optional in it, as a request may leave it out), and
# the few facts it needs at run time: which operations take an Idempotency-Key, every error code.
npx --no-install openapi-typescript "$out/openapi.json" --default-non-nullable false --output "$sdk_out/schema.ts" >/dev/null
node scripts/generate-sdk-operations.mjs "$out/openapi.json" "$sdk_out/operations.ts"
node --import tsx scripts/postman-collection.ts "$out"
