#!/usr/bin/env bash
# Runs a command against a throwaway PostgreSQL 15 cluster (pg_virtualenv),
# with PGHOST, PGPORT, PGUSER and PGDATABASE set; the cluster is gone after.
# TENANCY_SERVER_LOG names the server's log file for the command.
set -euo pipefail

# A cluster left behind by an interrupted run would make pg_virtualenv refuse.
if [ "$(id -u)" = 0 ] && [ -d /etc/postgresql/15/regress ]; then
    pg_dropcluster --stop 15 regress 2>/dev/null || rm -rf /etc/postgresql/15/regress
fi

export TENANCY_SERVER_LOG=/var/log/postgresql/postgresql-15-regress.log
exec pg_virtualenv -v 15 -o max_locks_per_transaction=64 "$@"
