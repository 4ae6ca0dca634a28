#!/usr/bin/env bash
# drop_tenant_in_batches keeps schema_migrations for last: a drop interrupted
# between batches leaves a tenant whose applied versions are all recorded, so
# migrate_all re-applies nothing into it; calling it again finishes the drop.
source "$(dirname "$0")/lib.sh"
fresh_database

run_sql "SELECT tenancy.register_migration(1, 'first', 'CREATE TABLE first (id int)');
         SELECT tenancy.register_migration(2, 'second', 'CREATE TABLE second (id int)');
         SELECT tenancy.create_tenant('halfway')"
# Stands for a failure (a crash, a cancel) while the second batch drops "second".
run_sql "CREATE FUNCTION public.interrupt() RETURNS event_trigger LANGUAGE plpgsql AS \$\$
         BEGIN
             IF EXISTS (SELECT FROM pg_event_trigger_dropped_objects() WHERE object_name = 'second') THEN
                 RAISE EXCEPTION 'interrupted';
             END IF;
         END \$\$;
         CREATE EVENT TRIGGER interrupt ON sql_drop EXECUTE FUNCTION public.interrupt()"

output=$(psql -X -q -d "$TEST_DB" -c "CALL tenancy.drop_tenant_in_batches('halfway', 1)" 2>&1 || true)
check_output "the drop is interrupted after its first batch" "ERROR:  interrupted" "$output"
check "the first batch is gone" "f" "SELECT to_regclass('halfway.first') IS NOT NULL"
check "schema_migrations is still there, with every applied version" "1,2" \
    "SELECT string_agg(version::text, ',' ORDER BY version) FROM halfway.schema_migrations"
run_sql "DROP EVENT TRIGGER interrupt"
output=$(psql -X -d "$TEST_DB" -c "CALL tenancy.migrate_all()" 2>&1 || true)
check_output "migrate_all re-applies nothing into the half-dropped tenant" "1 tenants, 0 migrated, 0 failed, 1 up to date" "$output"
check "and creates nothing in it" "f" "SELECT to_regclass('halfway.first') IS NOT NULL"
run_sql "CALL tenancy.drop_tenant_in_batches('halfway', 1)"
check "calling it again finishes the drop" "0|0" \
    "SELECT (SELECT count(*) FROM pg_namespace WHERE nspname = 'halfway') || '|' || (SELECT count(*) FROM tenancy.tenant_registry)"
finish_checks
