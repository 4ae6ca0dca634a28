#!/usr/bin/env bash
# Lock budgets at the default max_locks_per_transaction (64): a tenant of
# 10,000 relations is dropped by drop_tenant_in_batches, and a migration that
# needs more locks than the server can give fails with a clear hint.
source "$(dirname "$0")/lib.sh"
fresh_database
relations=${TENANCY_LOCK_BUDGET_RELATIONS:-10000}

check "the cluster runs at the default max_locks_per_transaction" "64" "SHOW max_locks_per_transaction"
run_sql "SELECT tenancy.create_tenant('big');
         CREATE TABLE big.with_identity (id int GENERATED ALWAYS AS IDENTITY, n serial);
         CREATE VIEW big.a_view AS SELECT * FROM big.with_identity;"
psql -X -q -v ON_ERROR_STOP=1 -d "$TEST_DB" >/dev/null <<SQL
DO \$\$
BEGIN
    FOR i IN 1..$relations LOOP
        EXECUTE format('CREATE TABLE big.t%s (id int)', i);
        IF i % 500 = 0 THEN COMMIT; END IF;
    END LOOP;
END \$\$;
SQL
check "the tenant holds $relations relations and more" "$((relations + 6))" \
    "SELECT count(*) FROM pg_class WHERE relnamespace = 'big'::regnamespace"
output=$(psql -X -q -v VERBOSITY=verbose -d "$TEST_DB" -c "SELECT tenancy.drop_tenant('big')" 2>&1 || true)
check_output "drop_tenant in one transaction runs out of locks" "ERROR:  53200: out of shared memory" "$output"
output=$(psql -X -q -d "$TEST_DB" -c "CALL tenancy.drop_tenant_in_batches('big')" 2>&1)
check "drop_tenant_in_batches drops it, committing between batches" "0" \
    "SELECT count(*) FROM pg_namespace WHERE nspname = 'big'"
check "and unregisters it" "0" "SELECT count(*) FROM tenancy.all_tenants() t WHERE t = 'big'"
output=$(psql -X -q -v VERBOSITY=verbose -d "$TEST_DB" -c "CALL tenancy.drop_tenant_in_batches('big')" 2>&1 || true)
check_output "an unknown tenant is 3F000 there too" 'ERROR:  3F000: tenant "big" does not exist' "$output"
output=$(psql -X -q -v VERBOSITY=verbose -d "$TEST_DB" -c "CALL tenancy.drop_tenant_in_batches('x', 0)" 2>&1 || true)
check_output "batch_size must be positive" "ERROR:  22023: batch_size must be at least 1" "$output"

# A migration that locks more relations than one transaction can hold.
run_sql "SELECT tenancy.create_tenant('greedy')"
run_sql "SELECT tenancy.register_migration(1, 'too_many_tables',
    \$m\$DO \$b\$ BEGIN FOR i IN 1..$relations LOOP EXECUTE format('CREATE TABLE t%s (id int)', i); END LOOP; END \$b\$ \$m\$)"
output=$(psql -X -q -v VERBOSITY=verbose -d "$TEST_DB" -c "SELECT tenancy.migrate('greedy')" 2>&1 || true)
check_output "the error still says what PostgreSQL said" "ERROR:  53200: out of shared memory" "$output"
check_output "and explains it in terms of the migration" 'DETAIL:  Migration 1 "too_many_tables" takes more locks than one transaction can hold' "$output"
check_output "with a hint that says what to do" "HINT:  Split the migration into several versions, or raise max_locks_per_transaction" "$output"
check "nothing of it was applied" "0" "SELECT count(*) FROM greedy.schema_migrations"
finish_checks
