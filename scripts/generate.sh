#!/usr/bin/env bash
# Writes everything in generated/ from spec/ (or into the folder given as $1, for check-generated).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-generated}"
mkdir -p "$out"
for ext in json yaml; do
  npx --no-install redocly bundle spec/openapi.yaml --config spec/redocly.yaml --ext "$ext" -o "$out/openapi.$ext" >/dev/null 2>"$out/.bundle.log" \
    || { cat "$out/.bundle.log" >&2; exit 1; }
done
rm -f "$out/.bundle.log"
npx --no-install openapi-typescript "$out/openapi.json" --output "$out/openapi.d.ts" >/dev/null
node --import tsx scripts/postman-collection.ts "$out"
