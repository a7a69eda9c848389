#!/usr/bin/env bash
# Makes this machine ready for the test suite; `make test` and .ci/run run it before the tests.
# Installs what some tests need from Debian when it is missing: chromium (the browser tests),
# poppler-utils (the report tests read the PDFs) and redis-server (the rate-limit tests), and
# starts a Redis on 127.0.0.1:6379 when none answers there. Idempotent, and quick when all is
# present. When it cannot install (neither root nor passwordless sudo, or apt fails), it prints
# one line saying what is missing and how to get it, and exits 0 so the other tests still run
# (with --strict it exits 1 instead, for CI).
set -uo pipefail

strict=false
[ "${1:-}" = "--strict" ] && strict=true

say() { echo "setup-test-env: $*" >&2; }

# A Redis answers PING on 127.0.0.1:6379 (bash's /dev/tcp: no redis-cli needed).
redis_answers() {
  local reply=''
  exec 3<>/dev/tcp/127.0.0.1/6379 2>/dev/null || return 1
  printf 'PING\r\n' >&3
  read -r -t 1 reply <&3 || true
  exec 3<&- 3>&-
  [[ $reply == +PONG* || $reply == -NOAUTH* ]]
}

missing_packages() {
  local packages=()
  [ -x /usr/bin/chromium ] || packages+=(chromium)
  local tool
  for tool in pdftoppm pdftotext pdfinfo pdffonts; do
    if ! command -v "$tool" >/dev/null; then
      packages+=(poppler-utils)
      break
    fi
  done
  # TEST_REDIS_URL names another Redis: then none is needed here.
  if [ -z "${TEST_REDIS_URL:-}" ] && ! command -v redis-server >/dev/null && ! redis_answers; then
    packages+=(redis-server)
  fi
  echo "${packages[*]}"
}

missing=$(missing_packages)
if [ -n "$missing" ]; then
  as_root=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then as_root=(sudo -n); else as_root=(none); fi
  fi
  log=$(mktemp)
  if [ "${as_root[*]}" != none ] && command -v apt-get >/dev/null; then
    say "installing $missing (apt-get)…"
    # shellcheck disable=SC2086 # one word per package
    if "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >"$log" 2>&1 &&
      "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >>"$log" 2>&1; then
      missing=$(missing_packages)
    else
      say "apt-get failed: $(tail -n 1 "$log")"
    fi
  fi
  rm -f "$log"
  if [ -n "$missing" ]; then
    say "missing Debian packages: $missing; the tests that need them will fail. Install them with: sudo apt-get install -y $missing"
  fi
fi

# Start Redis when none answers and redis-server is there (it needs no root).
if [ -z "${TEST_REDIS_URL:-}" ] && ! redis_answers && command -v redis-server >/dev/null; then
  if redis-server --bind 127.0.0.1 --port 6379 --daemonize yes --save '' --appendonly no >/dev/null; then
    for _ in $(seq 1 20); do redis_answers && break; sleep 0.1; done
  fi
  redis_answers || say "no Redis answers at 127.0.0.1:6379, so the Redis rate-limit tests will fail; start one with: redis-server --bind 127.0.0.1 --port 6379 --daemonize yes --save '' --appendonly no"
fi

if $strict && { [ -n "$(missing_packages)" ] || { [ -z "${TEST_REDIS_URL:-}" ] && ! redis_answers; }; }; then
  exit 1
fi
exit 0
