#!/usr/bin/env bash
# Runs every test: unit tests (GoogleTest), then pg_regress, pgTAP and the
# procedure/psql suites against a throwaway cluster. Installs what it needs.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
make -s
make -s install
make -s -C test/boundary
make -s -C test/boundary install

echo "== unit tests"
make -s unit

echo "== server tests"
scripts/with-cluster.sh scripts/server-tests.sh
