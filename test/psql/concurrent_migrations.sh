#!/usr/bin/env bash
# Sessions migrating at once never apply a version twice, never deadlock and
# never fail because of each other: two migrate_all runs, alongside
# create_tenant and migrate() of single tenants.
source "$(dirname "$0")/lib.sh"
fresh_database

run_sql "
SELECT tenancy.register_migration(1, 'create_items', 'CREATE TABLE items (id int)');
SELECT tenancy.create_tenant(format('t%s', lpad(i::text, 2, '0'))) FROM generate_series(1, 30) AS i;
-- Slow enough that the sessions overlap; applied twice it would fail (42P07).
SELECT tenancy.register_migration(2, 'slow_table',
    'SELECT pg_sleep(0.01); CREATE TABLE two (id int); INSERT INTO two VALUES (1)');"

logs=$(mktemp -d)
psql -X -d "$TEST_DB" -c "CALL tenancy.migrate_all()" >"$logs/all_1" 2>&1 & p1=$!
psql -X -d "$TEST_DB" -c "CALL tenancy.migrate_all()" >"$logs/all_2" 2>&1 & p2=$!
(for i in $(seq 31 45); do psql -X -q -d "$TEST_DB" -c "SELECT tenancy.create_tenant('t$i')" || exit 1; done) \
    >"$logs/creates" 2>&1 & p3=$!
(for i in 30 29 28 27 26 25 24 23 22 21; do
     psql -X -q -d "$TEST_DB" -c "SELECT tenancy.migrate('t$i')" || exit 1
 done) >"$logs/migrates" 2>&1 & p4=$!

status=0
for pid in $p1 $p2 $p3 $p4; do wait "$pid" || status=1; done
check "every session finished without error" "0" "SELECT $status"
grep -hE "ERROR|deadlock" "$logs"/* || true
check "no session saw an error or a deadlock" "0" "SELECT $(cat "$logs"/* | grep -cE 'ERROR|deadlock' || true)"
check "every tenant is at version 2" "45" "SELECT count(*) FROM tenancy.tenants WHERE version = 2 AND pending = 0"
check "each version was applied exactly once in every tenant" "0" \
    "SELECT count(*) FROM tenancy.all_tenants() AS t,
            LATERAL (SELECT count(*) AS n FROM tenancy._applied_migrations(t)) AS a
     WHERE a.n <> 2"
check "each tenant's migration ran once (one row in its table)" "45" \
    "SELECT sum((xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I.two', t), false, true, '')))[1]::text::int)
     FROM tenancy.all_tenants() AS t"
rm -rf "$logs"
finish_checks
