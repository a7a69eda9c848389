#!/usr/bin/env bash
# Runs the committed Postman collection with newman against a fresh server: embedded PGlite in a
# temporary DATA_DIR, the admin's credentials from the environment (ADMIN_PASSWORD, else a
# generated one), the admin a platform operator, sign-up on, an SMTP server and a webhook receiver
# named that nothing answers (deliveries fail and retry; creating email and webhook alerts works).
# Fails on any failed assertion.
set -euo pipefail
cd "$(dirname "$0")/.."

data_dir=$(mktemp -d)
port=${POSTMAN_PORT:-$((20000 + RANDOM % 20000))}
username=${ADMIN_USERNAME:-admin}
password=${ADMIN_PASSWORD:-postman-$(node -e 'console.log(require("crypto").randomBytes(12).toString("hex"))')}
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$data_dir"
}
trap cleanup EXIT

env -u DATABASE_URL DATA_DIR="$data_dir" PORT="$port" HOST=127.0.0.1 LOG_LEVEL=warn \
  ADMIN_USERNAME="$username" ADMIN_PASSWORD="$password" PLATFORM_ADMINS="$username" SIGNUP_ENABLED=true \
  RATE_LIMIT_PER_MINUTE=100000 RATE_LIMIT_LOGIN_PER_USERNAME=1000 RATE_LIMIT_LOGIN_PER_IP=1000 JOB_POLLING_SECONDS=1 \
  SMTP_URL=smtp://127.0.0.1:9 WEBHOOK_ALLOWED_HOSTS=127.0.0.1:9 \
  node --import tsx src/main.ts >"$data_dir/server.log" 2>&1 &
server_pid=$!

for _ in $(seq 1 180); do
  if curl -fsS "http://127.0.0.1:$port/ready" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$server_pid" 2>/dev/null; then echo "the server did not start:"; cat "$data_dir/server.log"; exit 1; fi
  sleep 1
done
curl -fsS "http://127.0.0.1:$port/ready" >/dev/null || { echo "the server is not ready after 180 s:"; cat "$data_dir/server.log"; exit 1; }

npx --no-install newman run generated/postman/fourfold.postman_collection.json \
  --environment generated/postman/fourfold.postman_environment.json \
  --env-var "baseUrl=http://127.0.0.1:$port" --env-var "username=$username" --env-var "password=$password" \
  --env-var "webhook_url=http://127.0.0.1:9/fourfold" \
  --reporters cli --color off "$@"
