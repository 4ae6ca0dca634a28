#!/usr/bin/env bash
# Ways out of the migration sandbox that were found and closed (README
# "Migrations run in a sandbox"): a chain of deferred triggers, and a read of
# the caller's WITH HOLD cursor put back in place.
source "$(dirname "$0")/lib.sh"
fresh_database
logs=$(mktemp -d /tmp/pg_tenancy_escapes.XXXXXX)
trap 'rm -rf "$logs"' EXIT

cleanup_roles_here() {
    psql -X -q -d "$TEST_DB" -c "SET client_min_messages = warning" -c "
        DO \$\$ DECLARE r text; BEGIN
          FOREACH r IN ARRAY ARRAY['atk_owner', 'atk_app'] LOOP
            IF EXISTS (SELECT FROM pg_roles WHERE rolname = r) THEN
              EXECUTE format('DROP OWNED BY %I CASCADE', r);
              EXECUTE format('DROP ROLE %I', r);
            END IF;
          END LOOP;
        END \$\$" >/dev/null 2>&1 || true
}
cleanup_roles_here
trap cleanup_roles_here EXIT
run_sql "CREATE ROLE atk_owner LOGIN; CREATE ROLE atk_app LOGIN"

# --- A deferred trigger queued by a deferred trigger the sandbox fired ------
# The sandbox fires the deferrable constraints pending on the relations written
# inside, once; a second deferred event queued while those fire escapes it and
# fires at the caller's COMMIT, with the caller's rights.
run_sql "CREATE SCHEMA t_chain AUTHORIZATION atk_owner;
         SELECT tenancy.create_tenant('t_chain', if_not_exists => true)"
psql -X -q -v ON_ERROR_STOP=1 -d "$TEST_DB" -U atk_owner -c "
    CREATE TABLE t_chain.relay (x int);
    CREATE FUNCTION t_chain.first() RETURNS trigger LANGUAGE plpgsql AS
        \$\$BEGIN INSERT INTO t_chain.relay VALUES (1); RETURN NULL; END\$\$;
    CREATE FUNCTION t_chain.second() RETURNS trigger LANGUAGE plpgsql AS
        \$\$BEGIN ALTER ROLE atk_owner SUPERUSER; RETURN NULL; END\$\$;
    CREATE CONSTRAINT TRIGGER first AFTER INSERT ON t_chain.schema_migrations
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION t_chain.first();
    CREATE CONSTRAINT TRIGGER second AFTER INSERT ON t_chain.relay
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION t_chain.second();" >/dev/null
run_sql "SELECT tenancy.register_migration(1, 'one', 'CREATE TABLE one ()')"
psql -X -q -d "$TEST_DB" -c "BEGIN" -c "SELECT tenancy.migrate('t_chain')" -c "COMMIT" >"$logs"/chain.log 2>&1 || true
check "a deferred trigger queued by a deferred trigger does not fire as the caller of migrate" "f" \
    "SELECT rolsuper FROM pg_roles WHERE rolname = 'atk_owner'"
run_sql "ALTER ROLE atk_owner NOSUPERUSER"
run_sql "SELECT tenancy.register_migration(2, 'two', 'CREATE TABLE two ()')"
psql -X -q -d "$TEST_DB" -c "CALL tenancy.migrate_all()" >"$logs"/chain_all.log 2>&1 || true
check "nor as the caller of migrate_all (at its per-tenant COMMIT)" "f" \
    "SELECT rolsuper FROM pg_roles WHERE rolname = 'atk_owner'"
run_sql "ALTER ROLE atk_owner NOSUPERUSER"
# Where the second trigger runs as its queuer (PostgreSQL 18), it still runs
# after the sandbox, at COMMIT: what it sets stays in the caller's session.
psql -X -q -v ON_ERROR_STOP=1 -d "$TEST_DB" -U atk_owner -c "
    CREATE OR REPLACE FUNCTION t_chain.second() RETURNS trigger LANGUAGE plpgsql AS
        \$\$BEGIN PERFORM set_config('search_path', 't_chain, public', false);
                 PERFORM pg_advisory_lock(777); RETURN NULL; END\$\$;" >/dev/null
run_sql "SELECT tenancy.register_migration(4, 'four', 'CREATE TABLE four ()')"
output=$(psql -X -q -A -t -d "$TEST_DB" -c "SET search_path = public" -c "BEGIN" -c "SELECT tenancy.migrate('t_chain')" \
    -c "COMMIT" -c "SHOW search_path" \
    -c "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()" 2>&1 || true)
check "the chained deferred trigger leaves no setting in the caller's session" "public" \
    "SELECT '$(tail -n 2 <<<"$output" | head -n 1)'"
check "nor a session-level advisory lock" "0" "SELECT '$(tail -n 1 <<<"$output")'"
run_sql "DROP TRIGGER first ON t_chain.schema_migrations"

# --- Reading the caller's WITH HOLD cursor and moving it back ----------------
# A PL/pgSQL FETCH from a WITH HOLD cursor of an earlier transaction reads its
# stored rows without the executor; the sandbox notices only that the cursor
# moved. Moving it back to where it stood leaves nothing to notice.
run_sql "CREATE TABLE public.secret (s text); INSERT INTO public.secret VALUES ('topsecret');
         REVOKE ALL ON public.secret FROM PUBLIC;
         CREATE SCHEMA t_peek AUTHORIZATION atk_owner;
         SELECT tenancy.create_tenant('t_peek', if_not_exists => true)"
psql -X -q -v ON_ERROR_STOP=1 -d "$TEST_DB" -U atk_owner -c "
    CREATE TABLE t_peek.loot (v text);
    CREATE FUNCTION t_peek.peek() RETURNS trigger LANGUAGE plpgsql AS
        \$\$DECLARE r refcursor; v text; BEGIN
          SELECT name INTO r FROM pg_catalog.pg_cursors WHERE is_holdable LIMIT 1;
          FETCH r INTO v;
          MOVE BACKWARD FROM r;
          INSERT INTO t_peek.loot VALUES (v);
          RETURN NULL; END\$\$;
    CREATE TRIGGER peek AFTER INSERT ON t_peek.schema_migrations
        FOR EACH ROW EXECUTE FUNCTION t_peek.peek();" >/dev/null
run_sql "SELECT tenancy.register_migration(3, 'three', 'CREATE TABLE three ()')"
psql -X -q -d "$TEST_DB" -c "DECLARE dba_cursor CURSOR WITH HOLD FOR SELECT s FROM public.secret" \
    -c "SELECT tenancy.migrate('t_peek')" -c "FETCH dba_cursor" >"$logs"/peek.log 2>&1 || true
check "owner code does not read the caller's WITH HOLD cursor (read, then moved back)" "0" \
    "SELECT count(*) FROM t_peek.loot WHERE v = 'topsecret'"

finish_checks
