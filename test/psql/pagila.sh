#!/usr/bin/env bash
# Real DDL nobody here wrote: pagila's 70-table schema (test/workloads/), as
# one migration applied to three tenants.
source "$(dirname "$0")/lib.sh"
fresh_database
workload="$(dirname "$0")/../workloads/pagila-tenant.sql"

psql -X -q -v ON_ERROR_STOP=1 -d "$TEST_DB" -v pagila="$(cat "$workload")" >/dev/null <<'SQL'
SELECT tenancy.register_migration(20240101000000, 'pagila', :'pagila');
SQL

output=$(psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$TEST_DB" 2>&1 <<'SQL'
SET check_function_bodies = on;
SELECT tenancy.create_tenant('pagila_a');
SELECT tenancy.create_tenant('pagila_b');
SELECT tenancy.create_tenant('Pagila-C');
SELECT 'check_function_bodies=' || current_setting('check_function_bodies');
SELECT 'search_path=' || current_setting('search_path');
SQL
)
check_output "the session's check_function_bodies is unchanged" "^check_function_bodies=on$" "$output"
check_output "and so is its search_path" '^search_path="\$user", public$' "$output"

for tenant in pagila_a pagila_b Pagila-C; do
    check "$tenant has all 195 relations of pagila" "195" \
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = '$tenant' AND c.relname NOT IN ('schema_migrations', 'schema_migrations_pkey')"
done
check "every foreign key points inside its own tenant" "0" \
    "SELECT count(*) FROM pg_constraint f
     JOIN pg_class child ON child.oid = f.conrelid JOIN pg_class parent ON parent.oid = f.confrelid
     WHERE f.contype = 'f' AND child.relnamespace <> parent.relnamespace"
check "and there are pagila's foreign keys in each tenant" "t" \
    "SELECT bool_and(n > 20) FROM (SELECT count(*) AS n FROM pg_constraint f JOIN pg_class c ON c.oid = f.conrelid
     JOIN pg_namespace s ON s.oid = c.relnamespace WHERE f.contype = 'f' GROUP BY s.nspname) AS per_tenant"
check "every view reads only its own tenant's relations" "0" \
    "SELECT count(*) FROM pg_rewrite r
     JOIN pg_class v ON v.oid = r.ev_class
     JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid AND d.refclassid = 'pg_class'::regclass
     JOIN pg_class used ON used.oid = d.refobjid
     WHERE v.relnamespace IN (SELECT oid FROM pg_namespace WHERE nspname IN ('pagila_a', 'pagila_b', 'Pagila-C'))
       AND used.relnamespace <> v.relnamespace"

# Data in one tenant is seen by its own views, functions and triggers only.
run_sql "
INSERT INTO pagila_a.actor (first_name, last_name) VALUES ('PENELOPE', 'GUINESS'), ('NICK', 'WAHLBERG');
INSERT INTO pagila_b.actor (first_name, last_name) VALUES ('ED', 'CHASE');
UPDATE pagila_a.actor SET last_update = '2000-01-01' WHERE first_name = 'NICK';"
check "views see their own tenant's rows (a)" "2" "SELECT count(*) FROM pagila_a.actor_info"
check "views see their own tenant's rows (b)" "1" "SELECT count(*) FROM pagila_b.actor_info"
check "views see their own tenant's rows (C)" "0" 'SELECT count(*) FROM "Pagila-C".actor_info'
check "the tenant's trigger function ran on UPDATE (last_updated)" "t" \
    "SELECT last_update > '2000-01-01' FROM pagila_a.actor WHERE first_name = 'NICK'"
check "the tenant's functions run against its own tables" "true|false" \
    "DO \$\$ BEGIN PERFORM tenancy.set_tenant('pagila_a'); END \$\$;
     SELECT bool_or(inventory_in_stock(1)) || '|' || (SELECT count(*) > 0 FROM film_in_stock(1, 1))::text"
check "the tenant's aggregate works" "PENELOPE, NICK" \
    "SELECT pagila_a.group_concat(first_name ORDER BY actor_id) FROM pagila_a.actor"
check "the materialized view refreshes inside its tenant" "0" \
    "REFRESH MATERIALIZED VIEW pagila_b.rental_by_category; SELECT count(*) FROM pagila_b.rental_by_category"
finish_checks
