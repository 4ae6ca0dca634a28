#!/usr/bin/env bash
# Builds and installs pg_tenancy, starts a throwaway cluster and runs demo/demo.sql.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
make -s
make -s install
scripts/with-cluster.sh psql -X -q -f demo/demo.sql
