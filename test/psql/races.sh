#!/usr/bin/env bash
# Sessions racing on the same tenant name: one clean winner, one clear error,
# and the registry true afterwards (a schema exists exactly when registered).
source "$(dirname "$0")/lib.sh"
fresh_database

# race SQL_A SQL_B: runs A in a transaction that holds on for a moment, B
# once A's statement is done (A is seen in its pg_sleep); prints both outputs.
# B usually meets A's open transaction; when a loaded machine makes B late,
# it meets A's committed result, and every outcome checked below is the same.
race() {
    local out_a out_b
    out_a=$(mktemp) out_b=$(mktemp)
    PGAPPNAME=race_a psql -X -q -d "$TEST_DB" -c "BEGIN" -c "$1" -c "SELECT pg_sleep(1)" -c "COMMIT" >"$out_a" 2>&1 &
    local a=$!
    while kill -0 "$a" 2>/dev/null &&
        [ "$(value_of "SELECT EXISTS (SELECT FROM pg_stat_activity WHERE application_name = 'race_a'
                                      AND query LIKE 'SELECT pg_sleep%')")" != t ]; do
        sleep 0.05
    done
    psql -X -q -d "$TEST_DB" -c "$2" >"$out_b" 2>&1 || true
    wait "$a" || true
    cat "$out_a" "$out_b"
    rm -f "$out_a" "$out_b"
}

consistent() {
    check "$1: the registry lists exactly the schemas that exist" "0" \
        "SELECT count(*) FROM tenancy.tenant_registry r FULL JOIN pg_namespace n ON n.nspname = r.tenant
         WHERE (r.tenant IS NULL) <> (n.nspname IS NULL) AND coalesce(r.tenant, n.nspname) LIKE 'race%'"
}

output=$(race "SELECT tenancy.create_tenant('race1')" "SELECT tenancy.create_tenant('race1')")
check "two create_tenant of one name: the second gets 42P06" "1" \
    "SELECT $(grep -c 'schema "race1" already exists' <<<"$output" || true)"
check "and no unique violation or other error" "1" "SELECT $(grep -c 'ERROR' <<<"$output" || true)"
consistent "after two creates"

run_sql "SELECT tenancy.create_tenant('race2')"
output=$(race "SELECT tenancy.drop_tenant('race2')" "SELECT tenancy.drop_tenant('race2')")
check "two drop_tenant of one tenant: the second gets 3F000" "1" \
    "SELECT $(grep -c 'tenant "race2" does not exist' <<<"$output" || true)"
check "and nothing else fails" "1" "SELECT $(grep -c 'ERROR' <<<"$output" || true)"
consistent "after two drops"

run_sql "SELECT tenancy.create_tenant('race3')"
output=$(race "SELECT tenancy.drop_tenant('race3')" "SELECT tenancy.create_tenant('race3')")
check "drop then create: the create waits and wins once the drop commits" "0" \
    "SELECT $(grep -c 'ERROR' <<<"$output" || true)"
check "so the tenant exists again" "1" "SELECT count(*) FROM tenancy.all_tenants() t WHERE t = 'race3'"
consistent "after drop and create"

output=$(race "SELECT tenancy.create_tenant('race4')" "SELECT tenancy.drop_tenant('race4')")
check "create then drop: the drop waits and drops what the create committed" "0" \
    "SELECT $(grep -c 'ERROR' <<<"$output" || true)"
consistent "after create and drop"

run_sql "SELECT tenancy.create_tenant('race5'); SELECT tenancy.create_tenant('race6')"
output=$(race "SELECT tenancy.rename_tenant('race5', 'race7')" "SELECT tenancy.rename_tenant('race6', 'race7')")
check "two renames onto one name: the second gets 42P06" "1" \
    "SELECT $(grep -c 'schema "race7" already exists' <<<"$output" || true)"
consistent "after two renames"
finish_checks
