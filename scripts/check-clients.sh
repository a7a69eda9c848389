#!/usr/bin/env bash
# Generates clients from generated/openapi.json with openapi-typescript (for openapi-fetch),
# @hey-api/openapi-ts and orval into test/clients/<generator>/generated/ (git-ignored), then
# type-checks the flow written against each with `tsc --strict`: list findings and read
# data[0].severity without casts, download a report's PDF as bytes.
set -euo pipefail
cd "$(dirname "$0")/.."
clients=test/clients
spec=generated/openapi.json
rm -rf "$clients"/*/generated

npx --no-install openapi-typescript "$spec" --default-non-nullable false --output "$clients/openapi-fetch/generated/schema.d.ts" >/dev/null
npx --no-install openapi-ts --input "./$spec" --output "$clients/hey-api/generated" --client @hey-api/client-fetch >/dev/null
(cd "$clients/orval" && npx --no-install orval --config orval.config.cjs >/dev/null)

failed=()
for generator in openapi-fetch hey-api orval; do
  echo "client generators: $generator"
  if ! npx --no-install tsc --strict --noEmit --skipLibCheck --target ES2022 --module nodenext --moduleResolution nodenext \
    --lib ES2022,DOM --types node "$clients/$generator/flow.ts"; then
    failed+=("$generator")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "client generators: the flow does not type-check against ${failed[*]}" >&2
  exit 1
fi
