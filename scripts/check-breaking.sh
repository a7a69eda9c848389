#!/usr/bin/env bash
# The breaking-change gate: compares the spec (generated/openapi.json, or the bundled spec given
# as $1) with the latest release kept in spec/releases/<version>.json, using Optic
# (`optic diff --check`, its breaking-changes rules). A breaking change fails unless the spec's
# info.version has a higher major part than that release's.
set -euo pipefail
cd "$(dirname "$0")/.."
current="${1:-generated/openapi.json}"
# No network here, nor any need for it: Optic's telemetry (Segment, Sentry) stays off.
export OPTIC_TELEMETRY_LEVEL=off

latest=$(find spec/releases -maxdepth 1 -name '*.json' | sed 's|.*/||; s|\.json$||' | sort -V | tail -n 1)
if [ -z "$latest" ]; then
  echo "check-breaking: no release in spec/releases/" >&2
  exit 1
fi
version=$(node -p 'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).info.version' "$current")
major() { echo "${1%%.*}"; }

if [ "$(major "$version")" -gt "$(major "$latest")" ]; then
  echo "check-breaking: info.version $version raises the major part of release $latest: breaking changes allowed."
  exit 0
fi

if ! npx --no-install optic diff "spec/releases/$latest.json" "$current" --check; then
  echo "check-breaking: $current breaks clients of release $latest (above). Make the change compatible," >&2
  echo "or raise info.version's major part in spec/openapi.yaml and record the release in CHANGELOG.md." >&2
  exit 1
fi
echo "check-breaking: no breaking change against release $latest."
