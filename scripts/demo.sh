#!/usr/bin/env bash
# Builds pg_tenancy, installs it into a throwaway cluster's private
# installation and runs demo/demo.sql there (scripts/demo.sh --keep keeps the
# cluster running afterwards).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
# --keep leaves the demo's cluster running for the reader to explore.
scripts/with-cluster.sh "$@" psql -X -q -f demo/demo.sql
