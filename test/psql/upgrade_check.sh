#!/usr/bin/env bash
# pg_upgrade --check (15 to 15, two throwaway clusters) passes on a database
# that uses the extension: tenants, migrations and a managed table.
source "$(dirname "$0")/lib.sh"
version=${PGVERSION:-15}
bindir=$(pg_config --bindir)
old=tenancy_upgrade_old
new=tenancy_upgrade_new

cleanup() {
    pg_dropcluster --stop "$version" "$old" 2>/dev/null || true
    pg_dropcluster --stop "$version" "$new" 2>/dev/null || true
}
trap cleanup EXIT
cleanup
old_port=$((PGPORT + 10))
new_port=$((PGPORT + 11))
pg_createcluster -p "$old_port" "$version" "$old" >/dev/null
pg_createcluster -p "$new_port" "$version" "$new" >/dev/null
pg_ctlcluster "$version" "$old" start

# As the postgres OS user over the Unix socket (peer authentication).
as_postgres() { su postgres -s /bin/bash -c "cd /tmp && unset PGHOST PGPASSWORD PGUSER PGDATABASE PGPORT && $*"; }
as_postgres "psql -X -q -p $old_port -d postgres -c 'CREATE DATABASE app'"
as_postgres "psql -X -q -v ON_ERROR_STOP=1 -p $old_port -d app" >/dev/null <<'SQL'
CREATE EXTENSION pg_tenancy;
SELECT tenancy.register_migration(1, 'create_projects', 'CREATE TABLE projects (id int PRIMARY KEY)');
CREATE TABLE organizations (id int PRIMARY KEY);
SELECT tenancy.manage_tenant('organizations', ARRAY['org_', ':id']);
INSERT INTO organizations VALUES (1), (2);
SELECT tenancy.create_tenant('standalone');
SQL
pg_ctlcluster "$version" "$old" stop

output=$(as_postgres "$bindir/pg_upgrade --check \
    -b $bindir -B $bindir \
    -d /var/lib/postgresql/$version/$old -D /var/lib/postgresql/$version/$new \
    -o '-c config_file=/etc/postgresql/$version/$old/postgresql.conf' \
    -O '-c config_file=/etc/postgresql/$version/$new/postgresql.conf' \
    -p $old_port -P $new_port" 2>&1) && status=0 || status=$?
echo "$output" | tail -5 | sed 's/^/       | /'
TEST_DB=postgres
check "pg_upgrade --check passes" "0" "SELECT $status"
check_output "and says the clusters are compatible" "Clusters are compatible" "$output"
finish_checks
