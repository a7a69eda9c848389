# Every target installs the dependencies first when package-lock.json is newer than node_modules.
.PHONY: install generate check-generated check-breaking lint typecheck test run migrate check clean conformance bench

install: node_modules

node_modules: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch node_modules

generate: node_modules
	npm run --silent generate

check-generated: node_modules
	npm run --silent check-generated

lint: node_modules
	npm run --silent lint

typecheck: node_modules
	npm run --silent typecheck

# Installs chromium, poppler-utils and redis-server first when missing (as root or with sudo),
# else says what to install; the tests that need them then fail, the others still run.
test: node_modules
	@scripts/setup-test-env.sh
	npm test

run: node_modules
	npm start

migrate: node_modules
	npm run --silent migrate

# Optic's breaking-change rules against the latest release in spec/releases/ (see README, Compatibility).
check-breaking: node_modules
	npm run --silent check-breaking

check: typecheck lint check-generated check-breaking

# A benchmark of the rule catalogue against the rulebench corpus (../shared/rulebench); not part of test or check.
# It uses the installed dependencies as they are: no node_modules prerequisite, so that it never runs npm ci
# (in a worktree whose node_modules is a symlink, npm ci would empty the linked directory).
conformance:
	node --import tsx scripts/conformance.ts $(ARGS)

# fourfold side by side with a bare node:http + pg server running the same statements (issue 20):
# interleaved autocannon rounds, ratios printed. Needs a PostgreSQL server (DATABASE_URL, default the
# local one); it creates and drops a database of its own. Like conformance, no node_modules prerequisite.
bench:
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres} node --import tsx scripts/bench-vs-bare.ts $(ARGS)

clean:
	rm -rf node_modules data coverage test-artifacts
