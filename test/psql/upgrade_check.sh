#!/usr/bin/env bash
# pg_upgrade --check (from this PostgreSQL to itself, two throwaway clusters
# of the run's private installation) passes on a database that uses the
# extension: tenants, migrations and a managed table.
source "$(dirname "$0")/lib.sh"
bindir=$(pg_config --bindir)
old_data=$("$TENANCY_CLUSTER" new-cluster upgrade_old)
new_data=$("$TENANCY_CLUSTER" new-cluster upgrade_new)
old_port=$((PGPORT + 1))
new_port=$((PGPORT + 2))
socket_dir=$(dirname "$old_data")/socket

as_owner() { if [ "$(id -u)" = 0 ]; then runuser -u "$TENANCY_CLUSTER_USER" -- "$@"; else "$@"; fi; }
cleanup() { as_owner "$bindir/pg_ctl" -D "$old_data" -m immediate stop >/dev/null 2>&1 || true; }
trap cleanup EXIT
as_owner "$bindir/pg_ctl" -D "$old_data" -l "$old_data/log" -w \
    -o "-p $old_port -c listen_addresses='' -c unix_socket_directories='$socket_dir'" start >/dev/null

psql -X -q -p "$old_port" -d postgres -c 'CREATE DATABASE app'
psql -X -q -v ON_ERROR_STOP=1 -p "$old_port" -d app >/dev/null <<'SQL'
CREATE EXTENSION pg_tenancy;
SELECT tenancy.register_migration(1, 'create_projects', 'CREATE TABLE projects (id int PRIMARY KEY)');
CREATE TABLE organizations (id int PRIMARY KEY);
SELECT tenancy.manage_tenant('organizations', ARRAY['org_', ':id']);
INSERT INTO organizations VALUES (1), (2);
SELECT tenancy.create_tenant('standalone');
SQL
as_owner "$bindir/pg_ctl" -D "$old_data" -m fast -w stop >/dev/null

# pg_upgrade writes its reports into the current directory.
output=$(cd "$TENANCY_RUN_DIR" && as_owner "$bindir/pg_upgrade" --check -U postgres \
    -b "$bindir" -B "$bindir" -d "$old_data" -D "$new_data" \
    -p "$old_port" -P "$new_port" -s "$socket_dir" 2>&1) && status=0 || status=$?
echo "$output" | tail -5 | sed 's/^/       | /'
TEST_DB=postgres
check "pg_upgrade --check passes" "0" "SELECT $status"
check_output "and says the clusters are compatible" "Clusters are compatible" "$output"
finish_checks
