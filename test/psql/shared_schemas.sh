#!/usr/bin/env bash
# tenancy.shared_schemas: the schemas that follow the tenant on the
# search_path of migrations and set_tenant(), quoted, pg_temp last; a missing
# one is skipped with a WARNING; an extension installed in a schema of its own
# (pg_trgm in "extensions", as hosted PostgreSQL does it) works in migrations
# and after set_tenant().
source "$(dirname "$0")/lib.sh"
fresh_database
sqlstate_of() {
    psql -X -q -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -d "$TEST_DB" -c "$1" 2>&1 |
        sed -n 's/^ERROR:  \([0-9A-Z]\{5\}\):.*/\1/p' | head -1
}

run_sql "CREATE SCHEMA extensions; CREATE EXTENSION pg_trgm SCHEMA extensions;
         SELECT tenancy.create_tenant('before')"
check "by default a tenant's search_path is the tenant, \"public\" and pg_temp last" \
    '"before", "public", pg_temp' "SELECT tenancy.set_tenant('before')"

run_sql "ALTER DATABASE \"$TEST_DB\" SET tenancy.shared_schemas = 'public, extensions'"
run_sql "SELECT tenancy.register_migration(1, 'trigram_search',
    'CREATE TABLE documents (id int PRIMARY KEY, title text);
     CREATE INDEX documents_title ON documents USING gin (title gin_trgm_ops);')"
run_sql "SELECT tenancy.create_tenant('acme')"
check "a migration finds an operator class of an extension in a shared schema" "documents_title" \
    "SELECT indexname FROM pg_indexes WHERE schemaname = 'acme' AND indexname = 'documents_title'"
check "set_tenant puts every shared schema after the tenant, quoted, pg_temp last" \
    '"acme", "public", "extensions", pg_temp' "SELECT tenancy.set_tenant('acme')"
found=$(psql -X -q -A -t -d "$TEST_DB" -c "SELECT tenancy.set_tenant('acme')" \
    -c "SELECT similarity('tenant', 'tenants') > 0.5" 2>&1 | tail -1)
check "and the extension's functions are found after set_tenant" "t" "SELECT '$found'"
psql -X -q -d "$TEST_DB" -c "CALL tenancy.migrate_all()" >/dev/null 2>&1
check "migrate_all brings the older tenant up with the same search_path" "1 0" \
    "SELECT version || ' ' || pending FROM tenancy.tenants WHERE tenant = 'before'"

run_sql "ALTER DATABASE \"$TEST_DB\" SET tenancy.shared_schemas = 'public, missing, extensions'"
output=$(psql -X -q -d "$TEST_DB" -c "SELECT tenancy.set_tenant('acme')" 2>&1)
check_output "a shared schema that does not exist is skipped with a WARNING" \
    'WARNING:  schema "missing" of tenancy.shared_schemas does not exist, skipped' "$output"
check_output "and the search_path goes on without it" '"acme", "public", "extensions", pg_temp' "$output"
output=$(psql -X -q -d "$TEST_DB" -c "SELECT tenancy.create_tenant('warned_' || i) FROM generate_series(1, 3) AS i" 2>&1)
check "one statement warns once, however many tenants it migrates" "1" \
    "SELECT $(grep -c 'WARNING:  schema "missing"' <<<"$output")"

run_sql "ALTER DATABASE \"$TEST_DB\" SET tenancy.shared_schemas = 'public, extensions'"
run_sql "GRANT CREATE ON SCHEMA extensions TO PUBLIC"
run_sql "SELECT tenancy.register_migration(2, 'more', 'CREATE TABLE more (id int)')"
check "a shared schema others may CREATE in stops a migration (42501)" "42501" \
    "SELECT '$(sqlstate_of "SELECT tenancy.migrate('acme')")'"
run_sql "REVOKE CREATE ON SCHEMA extensions FROM PUBLIC"

check "pg_temp cannot be a shared schema (it is always last)" "22023" \
    "SELECT '$(sqlstate_of "LOAD 'pg_tenancy'; SET tenancy.shared_schemas = 'public, pg_temp'")'"
check "nor \$user" "22023" "SELECT '$(sqlstate_of "LOAD 'pg_tenancy'; SET tenancy.shared_schemas = '\$user, public'")'"
check "a list that does not parse is refused" "22023" \
    "SELECT '$(sqlstate_of "LOAD 'pg_tenancy'; SET tenancy.shared_schemas = 'public,,x'")'"
run_sql "DROP ROLE IF EXISTS tenancy_shared_nobody; CREATE ROLE tenancy_shared_nobody"
check "only a superuser may set it: an application role could otherwise steer migrations run as the owner" \
    "42501" "SELECT '$(sqlstate_of "LOAD 'pg_tenancy'; SET ROLE tenancy_shared_nobody; SET tenancy.shared_schemas = 'mine'")'"
run_sql "DROP ROLE tenancy_shared_nobody"
finish_checks
