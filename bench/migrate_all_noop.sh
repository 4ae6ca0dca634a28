#!/usr/bin/env bash
# CALL tenancy.migrate_all() with nothing pending, over TENANTS tenants each
# holding 20 applied versions, against the plain way: a loop with one SELECT
# of schema_migrations per tenant; and with workers => 2. Usage: migrate_all_noop.sh [TENANTS] [RUNS]
source "$(dirname "$0")/lib.sh"
tenants=${1:-10000}
runs=${2:-5}
db=bench_migrate_all_noop
fresh_bench_database "$db"

# Tenants first, then their 20 rows each, then the 20 registrations: the same
# state as 20 migrations applied, reached in a fraction of the time.
for ((start = 1; start <= tenants; start += 250)); do
    psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c "SET client_min_messages = warning" -c "
        SELECT tenancy.create_tenant(format('tenant_%s', lpad(i::text, 6, '0')))
        FROM generate_series($start, least($start + 249, $tenants)) AS i" >/dev/null
done
psql -X -q -v ON_ERROR_STOP=1 -d "$db" >/dev/null <<SQL
DO \$\$
DECLARE t text;
BEGIN
    FOR t IN SELECT * FROM tenancy.all_tenants() LOOP
        EXECUTE format('INSERT INTO %I.schema_migrations SELECT v, now() FROM generate_series(1, 20) v', t);
    END LOOP;
END \$\$;
SELECT tenancy.register_migration(v, format('step_%s', v), format('CREATE TABLE step_%s (id int)', v))
FROM generate_series(1, 20) AS v;
VACUUM ANALYZE;
SQL

psql -X -q -d "$db" -c "CREATE TABLE bench (arm text, run int, seconds float8)"
for run in $(seq 1 "$runs"); do
    # Each arm in a new session, as a deploy step would be.
    psql -X -q -v ON_ERROR_STOP=1 -d "$db" >/dev/null <<SQL
SET client_min_messages = warning;
SELECT extract(epoch FROM clock_timestamp()) AS t0 \gset
CALL tenancy.migrate_all();
SELECT extract(epoch FROM clock_timestamp()) AS t1 \gset
INSERT INTO bench VALUES ('migrate_all', $run, :t1 - :t0);
SQL
    psql -X -q -v ON_ERROR_STOP=1 -d "$db" >/dev/null <<SQL
SET client_min_messages = warning;
SELECT extract(epoch FROM clock_timestamp()) AS t0 \gset
CALL tenancy.migrate_all(workers => 2);
SELECT extract(epoch FROM clock_timestamp()) AS t1 \gset
INSERT INTO bench VALUES ('migrate_all workers', $run, :t1 - :t0);
SQL
    psql -X -q -v ON_ERROR_STOP=1 -d "$db" >/dev/null <<SQL
SELECT extract(epoch FROM clock_timestamp()) AS t0 \gset
DO \$\$
DECLARE t text; n bigint; i int := 0;
BEGIN
    FOR t IN SELECT * FROM tenancy.all_tenants() LOOP
        EXECUTE format('SELECT count(*) FROM %I.schema_migrations WHERE version > 20', t) INTO n;
        i := i + 1;
        -- Commits now and then: 10,000 table locks do not fit in one transaction.
        IF i % 500 = 0 THEN COMMIT; END IF;
    END LOOP;
END \$\$;
SELECT extract(epoch FROM clock_timestamp()) AS t1 \gset
INSERT INTO bench VALUES ('select loop', $run, :t1 - :t0);
SQL
done

ours=$(psql -X -A -t -d "$db" -c "$(median_sql bench migrate_all)")
plain=$(psql -X -A -t -d "$db" -c "$(median_sql bench 'select loop')")
workers=$(psql -X -A -t -d "$db" -c "$(median_sql bench 'migrate_all workers')")
echo "migrate_all with nothing pending ($tenants tenants x 20 versions, median of $runs runs): ${ours}s (target < 1 s); one SELECT per tenant: ${plain}s"
echo "the same with workers => 2: ${workers}s (target < 0.3 s)"
