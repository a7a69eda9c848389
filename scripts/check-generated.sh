#!/usr/bin/env bash
# Fails when generated/ (or the SDK's sdk/src/generated/) is not what scripts/generate.sh makes of spec/ now.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
scripts/generate.sh "$tmp/generated" "$tmp/sdk"
stale=0
diff -ru generated "$tmp/generated" || stale=1
diff -ru sdk/src/generated "$tmp/sdk" || stale=1
if [ "$stale" -ne 0 ]; then
  echo "generated/ is stale: run 'make generate' and commit the result." >&2
  exit 1
fi
