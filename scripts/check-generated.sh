#!/usr/bin/env bash
# Fails when generated/ is not what scripts/generate.sh makes of spec/ now.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
scripts/generate.sh "$tmp"
if ! diff -ru generated "$tmp"; then
  echo "generated/ is stale: run 'make generate' and commit the result." >&2
  exit 1
fi
