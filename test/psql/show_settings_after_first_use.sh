#!/usr/bin/env bash
# SHOW tenancy.… works as soon as any pg_tenancy function or view has been
# used in the session: each of them loads the library, which defines the
# settings. Every check runs in a fresh session, with no tenant registered
# (a view over an empty registry calls no function per row) and with one.
source "$(dirname "$0")/lib.sh"

# The value of SHOW setting after running sql, in one fresh session.
show_after() {
    psql -X -q -A -t -d "$TEST_DB" -c '\o /dev/null' -c "$1" -c '\o' -c "SHOW $2" 2>&1 | tail -n 1 || true
}

check_show_after() {
    local description=$1 sql=$2 actual
    actual=$(show_after "$sql" tenancy.tenant_name_pattern)
    if [ "$actual" = '^[A-Za-z0-9_-]+$' ]; then
        checks_passed=$((checks_passed + 1))
        echo "     ok - $description"
    else
        checks_failed=$((checks_failed + 1))
        echo "     not ok - $description"
        echo "       SHOW tenancy.tenant_name_pattern gave: $actual"
    fi
}

fresh_database

# Before anything of pg_tenancy is used, the setting is unknown: the checks
# below see the library being loaded, not a setting defined some other way.
check_output "a fresh session does not know tenancy.tenant_name_pattern" \
    "unrecognized configuration parameter" "$(show_after "SELECT 1" tenancy.tenant_name_pattern)"

for registered in "no tenant" "one tenant"; do
    check_show_after "$registered: after SELECT * FROM tenancy.all_tenants()" "SELECT * FROM tenancy.all_tenants()"
    check_show_after "$registered: after SELECT tenancy.all_tenants()" "SELECT tenancy.all_tenants()"
    check_show_after "$registered: after SELECT * FROM tenancy.tenants" "SELECT * FROM tenancy.tenants"
    check_show_after "$registered: after SELECT count(*) FROM tenancy.tenants" "SELECT count(*) FROM tenancy.tenants"
    check_show_after "$registered: after SELECT * FROM tenancy.migration_states" \
        "SELECT * FROM tenancy.migration_states"
    check_show_after "$registered: after SELECT * FROM tenancy.migration_status()" \
        "SELECT * FROM tenancy.migration_status()"
    check_show_after "$registered: after SELECT * FROM tenancy.tenant_usage" "SELECT * FROM tenancy.tenant_usage"
    run_sql "SELECT tenancy.create_tenant('acme', if_not_exists => true)"
done

check_show_after "after tenancy.set_tenant()" "SELECT tenancy.set_tenant('acme')"
check_show_after "after tenancy.register_migration()" \
    "SELECT tenancy.register_migration(1, 'a', 'CREATE TABLE a (id int)')"
check_show_after "after CALL tenancy.migrate_all()" "CALL tenancy.migrate_all()"

finish_checks
