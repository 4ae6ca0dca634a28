#!/usr/bin/env bash
# The migration sandbox: the attacks of the trust review (temporary objects
# shadowing a migration's tables, deferred triggers outliving the owner
# scope, owner code changing the caller's session), deferred constraints that
# still work and are checked per tenant, the pinned environment, writable
# shared schemas, and tenant code faking a cancel. The attackers are
# non-superuser roles made here; the DBA is the superuser running the script.
source "$(dirname "$0")/lib.sh"
fresh_database

# The SQLSTATE of the error SQL raises, or nothing.
sqlstate_of() {
    psql -X -q -d "$TEST_DB" -v VERBOSITY=sqlstate -c "$1" 2>&1 | grep -oE '^ERROR:  [0-9A-Z]{5}' | cut -c9- || true
}

# DROP OWNED works per database: the roles own objects only in this one.
cleanup_roles_here() {
    psql -X -q -d "$TEST_DB" -c "SET client_min_messages = warning" -c "
        DO \$\$ DECLARE r text; BEGIN
          FOREACH r IN ARRAY ARRAY['sbx_writer', 'sbx_owner', 'sbx_admin'] LOOP
            IF EXISTS (SELECT FROM pg_roles WHERE rolname = r) THEN
              EXECUTE format('DROP OWNED BY %I CASCADE', r);
              EXECUTE format('DROP ROLE %I', r);
            END IF;
          END LOOP;
        END \$\$" >/dev/null 2>&1 || true
}
cleanup_roles_here
trap cleanup_roles_here EXIT
run_sql "CREATE ROLE sbx_writer LOGIN; CREATE ROLE sbx_owner LOGIN; CREATE ROLE sbx_admin LOGIN;
         GRANT TEMPORARY ON DATABASE \"$TEST_DB\" TO sbx_writer, sbx_owner"

# --- Finding 1: a temporary table does not shadow a migration's table -------
run_sql "
SELECT tenancy.register_migration(1, 'settings',
    'CREATE TABLE settings (k text); INSERT INTO settings VALUES (''default'')');
CREATE TABLE organizations (id int PRIMARY KEY);
SELECT tenancy.manage_tenant('organizations', ARRAY['org_', ':id']);
GRANT INSERT ON organizations TO sbx_writer;
GRANT USAGE ON SCHEMA tenancy TO sbx_writer;"
psql -X -q -d "$TEST_DB" -U sbx_writer -c "
    CREATE TEMP TABLE settings (k text);
    CREATE FUNCTION pg_temp.grab() RETURNS trigger LANGUAGE plpgsql AS
        \$\$BEGIN ALTER ROLE sbx_writer SUPERUSER; RETURN NEW; END\$\$;
    CREATE TRIGGER grab BEFORE INSERT ON pg_temp.settings FOR EACH ROW EXECUTE FUNCTION pg_temp.grab();
    INSERT INTO organizations VALUES (1);" >/dev/null 2>&1 || true
check "a session's temporary table does not shadow a migration's table (no escalation)" "f" \
    "SELECT rolsuper FROM pg_roles WHERE rolname = 'sbx_writer'"
check "the migration wrote into the tenant's own table" "default" "SELECT k FROM org_1.settings"

# --- Finding 2: deferred triggers queued as the owner fire as the owner -----
run_sql "CREATE SCHEMA t_deferred AUTHORIZATION sbx_owner;
         SELECT tenancy.create_tenant('t_deferred', if_not_exists => true)"
psql -X -q -v ON_ERROR_STOP=1 -d "$TEST_DB" -U sbx_owner -c "
    CREATE FUNCTION t_deferred.grab() RETURNS trigger LANGUAGE plpgsql AS
        \$\$BEGIN ALTER ROLE sbx_owner SUPERUSER; RETURN NULL; END\$\$;
    CREATE CONSTRAINT TRIGGER grab AFTER INSERT OR DELETE ON t_deferred.schema_migrations
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION t_deferred.grab();" >/dev/null
run_sql "SELECT tenancy.register_migration(2, 'two', 'CREATE TABLE two ()')"
state=$(sqlstate_of "BEGIN; SELECT tenancy.migrate('t_deferred'); COMMIT;")
check "a deferred constraint trigger on schema_migrations fires inside migrate, as the owner (42501)" "42501" "SELECT '$state'"
check "and the owner did not become superuser through migrate" "f" "SELECT rolsuper FROM pg_roles WHERE rolname = 'sbx_owner'"
psql -X -q -d "$TEST_DB" -c "CALL tenancy.migrate_all(on_error => 'continue')" >/dev/null 2>&1 || true
check "through migrate_all it fails that tenant" "42501" \
    "SELECT left(last_error, 5) FROM tenancy.tenants WHERE tenant = 't_deferred'"
check "and the owner did not become superuser through migrate_all" "f" "SELECT rolsuper FROM pg_roles WHERE rolname = 'sbx_owner'"
run_sql "DROP TRIGGER grab ON t_deferred.schema_migrations"

# --- Finding 3: owner code cannot change the caller's session ---------------
psql -X -q -v ON_ERROR_STOP=1 -d "$TEST_DB" -U sbx_owner -c "
    CREATE FUNCTION t_deferred.retarget() RETURNS trigger LANGUAGE plpgsql AS
        \$\$BEGIN PERFORM set_config('search_path', 't_deferred, public', false);
                 PERFORM set_config('statement_timeout', '1', false); RETURN NULL; END\$\$;
    CREATE TRIGGER retarget AFTER INSERT ON t_deferred.schema_migrations
        FOR EACH ROW EXECUTE FUNCTION t_deferred.retarget();" >/dev/null
output=$(psql -X -A -t -d "$TEST_DB" -c "SET search_path = public" -c "SELECT tenancy.migrate('t_deferred')" \
    -c "SHOW search_path" -c "SHOW statement_timeout" 2>&1 || true)
check_output "set_config(..., false) in owner code does not outlive the migration (search_path)" "^public$" "$output"
check_output "nor any other setting" "^0$" "$output"
check "the migration itself was applied" "1" "SELECT count(*) FROM t_deferred.schema_migrations WHERE version = 2"

run_sql "SELECT tenancy.register_migration(3, 'three', 'CREATE TABLE three ()')"
psql -X -q -v ON_ERROR_STOP=1 -d "$TEST_DB" -U sbx_owner -c "
    CREATE OR REPLACE FUNCTION t_deferred.retarget() RETURNS trigger LANGUAGE plpgsql AS
        \$\$BEGIN CREATE TEMP VIEW pg_class AS SELECT 1 AS oid; RETURN NULL; END\$\$;" >/dev/null
output=$(psql -X -A -t -d "$TEST_DB" -v VERBOSITY=verbose -c "SELECT tenancy.migrate('t_deferred')" \
    -c "SELECT count(*) FROM pg_catalog.pg_class AS c WHERE c.relnamespace = pg_catalog.pg_my_temp_schema()" 2>&1 || true)
check_output "a temporary view made by owner code is refused (42501)" "ERROR:  42501: cannot create temporary objects in a migration" "$output"
check_output "and leaves no temporary object in the caller's session" "^0$" "$output"
run_sql "DROP TRIGGER retarget ON t_deferred.schema_migrations"

# Statements that would outlive the sandbox are refused before they run.
for statement in "PREPARE p AS SELECT 1" "LISTEN sbx" "DECLARE c CURSOR WITH HOLD FOR SELECT 1" "DISCARD ALL"; do
    run_sql "DELETE FROM tenancy.migration_registry WHERE version = 4;
             SELECT tenancy.register_migration(4, 'outlives', \$\$DO \$b\$ BEGIN EXECUTE '$statement'; END \$b\$ \$\$)"
    check "a migration may not run $statement (42501)" "42501" \
        "SELECT '$(sqlstate_of "SELECT tenancy.migrate('t_deferred')")'"
done
run_sql "DELETE FROM tenancy.migration_registry WHERE version = 4"

# --- Deferred constraints of a migration work, checked inside its tenant ----
run_sql "SELECT tenancy.register_migration(5, 'deferred_fk',
    \$\$CREATE TABLE parents (id int PRIMARY KEY);
      CREATE TABLE kids (parent_id int REFERENCES parents DEFERRABLE INITIALLY DEFERRED);
      INSERT INTO kids VALUES (1);
      INSERT INTO parents VALUES (1);\$\$)"
run_sql "SELECT tenancy.create_tenant('t_fk')"
check "a migration's deferred constraint is deferred across its statements" "1" "SELECT count(*) FROM t_fk.kids"
run_sql "SELECT tenancy.register_migration(6, 'bad_kid', 'INSERT INTO kids VALUES (99)')"
output=$(psql -X -A -t -d "$TEST_DB" -v VERBOSITY=verbose -c "BEGIN" -c "SELECT tenancy.migrate('t_fk')" \
    -c "SELECT 'still in the call'" 2>&1 || true)
check_output "a deferred violation fails the migrate call itself, not the caller's COMMIT (23503)" "ERROR:  23503" "$output"
check_output "with the migration named" 'up of migration 6 "bad_kid" in tenant "t_fk"' "$output"
run_sql "DELETE FROM tenancy.migration_registry WHERE version = 6"

# Finding 11b: the caller's own pending deferred checks stay the caller's.
run_sql "CREATE TABLE public.p (id int PRIMARY KEY);
         CREATE TABLE public.c (p_id int REFERENCES public.p DEFERRABLE INITIALLY DEFERRED);
         SELECT tenancy.register_migration(7, 'seven', 'CREATE TABLE seven ()')"
output=$(psql -X -v ON_ERROR_STOP=1 -d "$TEST_DB" -c "BEGIN" -c "INSERT INTO public.c VALUES (7)" \
    -c "CALL tenancy.migrate_all()" -c "INSERT INTO public.c VALUES (8)" \
    -c "INSERT INTO public.p VALUES (7), (8)" -c "COMMIT" 2>&1 && echo committed || true)
check_output "migrate_all in the caller's transaction neither fires nor makes immediate the caller's deferred checks" "^committed$" "$output"
check "and the tenants were migrated" "0" "SELECT count(*) FROM tenancy.migration_states WHERE version = 7 AND state <> 'applied'"

# --- Finding 11c: one pinned environment on every path ----------------------
run_sql "SELECT tenancy.register_migration(8, 'environment',
    \$\$CREATE TABLE env AS SELECT current_setting('search_path') AS search_path,
        current_setting('DateStyle') AS datestyle, current_setting('TimeZone') AS timezone,
        current_setting('IntervalStyle') AS intervalstyle, current_setting('extra_float_digits') AS efd,
        current_setting('bytea_output') AS bytea_output, current_setting('lc_monetary') AS lc_monetary,
        current_setting('standard_conforming_strings') AS scs, current_user::text AS who\$\$)"
psql -X -q -v ON_ERROR_STOP=1 -d "$TEST_DB" -c "SET DateStyle = 'German'" -c "SET TimeZone = 'Asia/Tokyo'" \
    -c "SET extra_float_digits = 3" -c "SET bytea_output = 'escape'" -c "SET IntervalStyle = 'sql_standard'" \
    -c "SELECT tenancy.create_tenant('t_env')" >/dev/null
psql -X -q -v ON_ERROR_STOP=1 -d "$TEST_DB" -U sbx_writer -c "SET DateStyle = 'SQL, DMY'" \
    -c "INSERT INTO organizations VALUES (2)" >/dev/null
check "create_tenant runs a migration in the pinned environment" \
    '"t_env", "public", pg_temp|ISO, MDY|UTC|postgres|1|hex|C|on' \
    "SELECT concat_ws('|', search_path, datestyle, timezone, intervalstyle, efd, bytea_output, lc_monetary, scs) FROM t_env.env"
check "the managed row trigger runs it in the same environment" "t" \
    "SELECT (SELECT (e.*)::text FROM t_env.env AS e) = replace((SELECT (e.*)::text FROM org_2.env AS e), 'org_2', 't_env')"

# rollback runs down_sql in the same sandbox.
run_sql "SELECT tenancy.register_migration(13, 'down_env', 'SELECT 1',
    \$\$CREATE TABLE down_env AS SELECT current_setting('search_path') AS sp, current_setting('DateStyle') AS ds\$\$)"
psql -X -q -v ON_ERROR_STOP=1 -d "$TEST_DB" -c "SET DateStyle = 'German'" -c "SELECT tenancy.migrate('t_fk')" \
    -c "SELECT tenancy.rollback('t_fk', 12)" >/dev/null
check "rollback runs down_sql in the same pinned environment" '"t_fk", "public", pg_temp|ISO, MDY' \
    "SELECT sp || '|' || ds FROM t_fk.down_env"

# --- Finding 9: shared schemas writable by others ----------------------------
run_sql "GRANT CREATE ON SCHEMA public TO PUBLIC;
         SELECT tenancy.register_migration(9, 'nine', 'CREATE TABLE nine ()')"
output=$(psql -X -d "$TEST_DB" -v VERBOSITY=verbose -c "SELECT tenancy.migrate('t_env')" 2>&1 || true)
check_output "a migration is refused while public is writable by PUBLIC (42501)" \
    'ERROR:  42501: schema public on a migration.s search_path is writable by roles other than its owner' "$output"
check_output "with the REVOKE to run as hint" "HINT:  REVOKE CREATE ON SCHEMA public FROM PUBLIC" "$output"
check "a non-superuser cannot allow it" "42501" \
    "SELECT '$(psql -X -q -d "$TEST_DB" -U sbx_admin -v VERBOSITY=sqlstate -c "SELECT count(*) FROM tenancy.tenants" -c "SET tenancy.allow_writable_shared_schemas = on" 2>&1 | grep -oE '[0-9A-Z]{5}$')'"
check "a superuser may allow it" "1" \
    "SET tenancy.allow_writable_shared_schemas = on; SELECT tenancy.migrate('t_env', 9)"
run_sql "REVOKE CREATE ON SCHEMA public FROM PUBLIC"

# --- Finding 10: tenant code raising query_canceled does not end the run ----
run_sql "SELECT tenancy.register_migration(10, 'fake_cancel',
    \$\$DO \$b\$ BEGIN IF current_schema() = 't_env' THEN
        RAISE EXCEPTION 'not really cancelled' USING ERRCODE = 'query_canceled'; END IF; END \$b\$ \$\$)"
output=$(psql -X -d "$TEST_DB" -c "CALL tenancy.migrate_all(on_error => 'continue')" 2>&1 || true)
check "a tenant raising query_canceled is that tenant's failure" "57014" \
    "SELECT left(last_error, 5) FROM tenancy.tenants WHERE tenant = 't_env'"
check "and the run goes on to the others" "0" \
    "SELECT count(*) FROM tenancy.migration_states WHERE version = 10 AND state <> 'applied' AND tenant <> 't_env'"

# --- Finding 8: @tenant@ cannot inject SQL, whatever the tenant's name ------
run_sql "CREATE TABLE public.victim (); SELECT tenancy.create_tenant('inj')"
psql -X -q -v ON_ERROR_STOP=1 -d "$TEST_DB" >/dev/null <<'SQL'
ALTER SCHEMA inj RENAME TO "inj'; DROP TABLE public.victim; --";
SELECT tenancy.register_migration(11, 'literal', $$CREATE TABLE seen AS SELECT '@tenant@'::text AS name$$);
SQL
psql -X -q -d "$TEST_DB" -c "CALL tenancy.migrate_all(on_error => 'continue')" >/dev/null 2>&1 || true
check "a quote in a hand-renamed tenant's name does not end a literal holding @tenant@" "1" \
    "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename = 'victim'"
check "the literal holds the quoted name" "\"inj'; DROP TABLE public.victim; --\"" \
    "SELECT name FROM \"inj'; DROP TABLE public.victim; --\".seen"
psql -X -q -v ON_ERROR_STOP=1 -d "$TEST_DB" >/dev/null <<'SQL'
SELECT tenancy.register_migration(12, 'body', $m$CREATE FUNCTION f() RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM @tenant@.seen $$$m$);
SQL
output=$(psql -X -d "$TEST_DB" -v VERBOSITY=verbose -c "CALL tenancy.migrate_all(on_error => 'continue')" 2>&1 || true)
check "such a name cannot stand for @tenant@ in a dollar-quoted body (42602)" "42602" \
    "SELECT left(last_error, 5) FROM tenancy.tenants WHERE tenant LIKE 'inj%'"
check "other tenants get the function" "0" \
    "SELECT count(*) FROM tenancy.migration_states WHERE version = 12 AND state <> 'applied' AND tenant NOT LIKE 'inj%' AND tenant <> 't_env'"

# --- Session and transaction state owner code leaves behind ----------------
# The owner's trigger on its schema_migrations runs act() in the sandbox; each
# case below gives act() another body, then the DBA migrates the tenant.
run_sql "CREATE SCHEMA t_state AUTHORIZATION sbx_owner;
         SELECT tenancy.create_tenant('t_state', if_not_exists => true)"
psql -X -q -v ON_ERROR_STOP=1 -d "$TEST_DB" -U sbx_owner -c "
    CREATE FUNCTION t_state.act() RETURNS trigger LANGUAGE plpgsql AS \$\$BEGIN RETURN NULL; END\$\$;
    CREATE TRIGGER act AFTER INSERT ON t_state.schema_migrations
        FOR EACH ROW EXECUTE FUNCTION t_state.act();
    CREATE FUNCTION t_state.grab() RETURNS int LANGUAGE plpgsql AS
        \$\$BEGIN ALTER ROLE sbx_owner SUPERUSER; RETURN 1; END\$\$;" >/dev/null
state_version=20
# owner_act BODY: act() runs BODY; a new migration is registered for the next migrate.
owner_act() {
    psql -X -q -v ON_ERROR_STOP=1 -d "$TEST_DB" -U sbx_owner -c "
        CREATE OR REPLACE FUNCTION t_state.act() RETURNS trigger LANGUAGE plpgsql AS
            \$body\$DECLARE r refcursor; v text; BEGIN $1; RETURN NULL; END\$body\$;" >/dev/null
    state_version=$((state_version + 1))
    run_sql "SELECT tenancy.register_migration($state_version, 'state_$state_version', 'SELECT 1')"
}
held_advisory="SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"

# Session-level advisory locks.
for lock in "pg_advisory_lock(4242)" "pg_advisory_lock_shared(4242)" "pg_advisory_lock(42, 42)" \
            "pg_advisory_lock_shared(42, 42)" "pg_try_advisory_lock(4242)" "pg_try_advisory_lock_shared(42, 42)"; do
    owner_act "PERFORM $lock"
    output=$(psql -X -A -t -d "$TEST_DB" -v VERBOSITY=verbose -c "SELECT tenancy.migrate('t_state')" \
        -c "$held_advisory" 2>&1 || true)
    check_output "owner code keeping a session-level advisory lock ($lock) fails the migration (42501)" \
        "ERROR:  42501: cannot keep session-level advisory locks after a migration" "$output"
    check_output "and the caller's session does not hold $lock after it" "^0$" "$output"
done
owner_act "PERFORM pg_advisory_lock(4242); PERFORM pg_advisory_lock(4242); PERFORM pg_advisory_unlock(4242)"
output=$(psql -X -A -t -d "$TEST_DB" -c "SELECT pg_advisory_lock(4242)" -c "SELECT tenancy.migrate('t_state')" \
    -c "SELECT 'unlocks:' || pg_advisory_unlock(4242)::text || ',' || pg_advisory_unlock(4242)::text" 2>&1 || true)
check_output "an extra hold on a lock the caller holds is refused too (42501)" "cannot keep session-level advisory locks" "$output"
check_output "and the caller holds it as many times as before" "^unlocks:true,false$" "$output"
owner_act "PERFORM pg_advisory_unlock_all()"
output=$(psql -X -A -t -d "$TEST_DB" -v VERBOSITY=verbose -c "SELECT pg_advisory_lock(99)" -c "SELECT pg_advisory_lock(99)" \
    -c "SELECT tenancy.migrate('t_state')" \
    -c "SELECT 'unlocks:' || pg_advisory_unlock(99)::text || ',' || pg_advisory_unlock(99)::text || ',' || pg_advisory_unlock(99)::text" 2>&1 || true)
check_output "owner code releasing the caller's session-level advisory locks fails the migration (42501)" \
    "ERROR:  42501: cannot release the caller's session-level advisory locks in a migration" "$output"
check_output "and the caller holds its locks again, as many times" "^unlocks:true,true,false$" "$output"
owner_act "PERFORM pg_advisory_lock(4243); RAISE EXCEPTION 'fails after locking'"
output=$(psql -X -A -t -d "$TEST_DB" -c "DO \$\$BEGIN PERFORM tenancy.migrate('t_state'); EXCEPTION WHEN others THEN NULL; END\$\$" \
    -c "$held_advisory" 2>&1 || true)
check_output "a migration failing after owner code took a session-level advisory lock leaves it in no session" "^0$" "$output"
output=$(psql -X -A -t -d "$TEST_DB" -c "CALL tenancy.migrate_all(on_error => 'continue')" -c "$held_advisory" 2>&1 || true)
check_output "nor through migrate_all, which goes on after the tenant's failure" "^0$" "$output"
owner_act "PERFORM pg_advisory_lock(4244); PERFORM pg_advisory_unlock(4244); PERFORM pg_advisory_xact_lock(4245)"
check "a session-level advisory lock released before the migration ends, and transaction-level ones, are fine" "t" \
    "SELECT tenancy.migrate('t_state') IS NOT NULL"

# SET CONSTRAINTS would change the caller's transaction after the migration.
owner_act "SET CONSTRAINTS ALL DEFERRED"
check "owner code running SET CONSTRAINTS fails the migration (42501)" "42501" \
    "SELECT '$(sqlstate_of "BEGIN; SELECT tenancy.migrate('t_state'); COMMIT")'"
check "a migration holding SET CONSTRAINTS is refused at registration (42501)" "42501" \
    "SELECT '$(sqlstate_of "SELECT tenancy.register_migration(90, 'set_constraints', 'SET CONSTRAINTS ALL IMMEDIATE')")'"
owner_act "NULL"
output=$(psql -X -v ON_ERROR_STOP=1 -d "$TEST_DB" -c "BEGIN" -c "INSERT INTO public.c VALUES (21)" \
    -c "SELECT tenancy.migrate('t_state')" -c "INSERT INTO public.p VALUES (21)" -c "COMMIT" 2>&1 && echo committed || true)
check_output "the sandbox's own SET CONSTRAINTS still leaves the caller's deferred checks deferred" "^committed$" "$output"

# Cursors opened inside stay inside; the caller's cursors are out of reach.
owner_act "EXECUTE 'DECLARE owner_cursor CURSOR FOR SELECT t_state.grab()'"
output=$(psql -X -A -t -d "$TEST_DB" -v VERBOSITY=verbose -c "BEGIN" -c "SELECT tenancy.migrate('t_state')" \
    -c "FETCH ALL FROM owner_cursor" -c "COMMIT" 2>&1 || true)
check_output "a cursor owner code declared is closed when the migration ends (34000 for the caller)" \
    'ERROR:  34000: cursor "owner_cursor" does not exist' "$output"
check "and the caller did not run the owner's function through it" "f" "SELECT rolsuper FROM pg_roles WHERE rolname = 'sbx_owner'"
psql -X -q -v ON_ERROR_STOP=1 -d "$TEST_DB" -U sbx_owner -c "
    CREATE FUNCTION t_state.opener() RETURNS refcursor LANGUAGE plpgsql AS
        \$\$DECLARE c refcursor := 'owner_refcursor'; BEGIN OPEN c FOR SELECT t_state.grab(); RETURN c; END\$\$;" >/dev/null
owner_act "PERFORM t_state.opener()"
output=$(psql -X -A -t -d "$TEST_DB" -v VERBOSITY=verbose -c "BEGIN" -c "SELECT tenancy.migrate('t_state')" \
    -c "FETCH ALL FROM owner_refcursor" -c "COMMIT" 2>&1 || true)
check_output "a cursor a function of the owner opened and returned is closed too (34000)" \
    'ERROR:  34000: cursor "owner_refcursor" does not exist' "$output"
check "and the caller did not run the owner's function through it" "f" "SELECT rolsuper FROM pg_roles WHERE rolname = 'sbx_owner'"
for statement in "FETCH ALL FROM mine" "MOVE FORWARD ALL IN mine" "CLOSE mine" "CLOSE ALL"; do
    owner_act "EXECUTE '$statement'"
    output=$(psql -X -A -t -d "$TEST_DB" -v VERBOSITY=verbose -c "BEGIN" -c "DECLARE mine CURSOR FOR SELECT 'secret'" \
        -c "SELECT tenancy.migrate('t_state')" -c "ROLLBACK" 2>&1 || true)
    check_output "owner code may not run $statement on the caller's cursor (42501)" \
        "ERROR:  42501: cannot use the caller's cursors in a migration" "$output"
done
for body in "r := 'mine'; FETCH r INTO v; RAISE NOTICE 'read %', v" "r := 'mine'; CLOSE r"; do
    owner_act "$body"
    output=$(psql -X -A -t -d "$TEST_DB" -v VERBOSITY=verbose -c "BEGIN" -c "DECLARE mine CURSOR FOR SELECT 'secret'" \
        -c "SELECT tenancy.migrate('t_state')" -c "ROLLBACK" 2>&1 || true)
    check_output "PL/pgSQL owner code may not use the caller's cursor ($body) (42501)" \
        "ERROR:  42501: cannot use the caller's cursors in a migration" "$output"
    check "and read nothing from it" "0" "SELECT $(grep -c 'read secret' <<<"$output" || true)"
done
# A WITH HOLD cursor of an earlier transaction is read from its stored rows,
# without the executor: the sandbox marks it active while it lives, so a
# FETCH of it fails and reads nothing.
owner_act "r := 'held'; FETCH r INTO v"
output=$(psql -X -A -t -d "$TEST_DB" -v VERBOSITY=verbose -c "BEGIN" -c "DECLARE held CURSOR WITH HOLD FOR SELECT 'secret'" \
    -c "COMMIT" -c "SELECT tenancy.migrate('t_state')" -c "FETCH held" -c "CLOSE held" 2>&1 || true)
check_output "PL/pgSQL owner code reading the caller's WITH HOLD cursor fails the migration (55000)" \
    'ERROR:  55000: portal "held" cannot be run' "$output"
check_output "and the caller's cursor is whole after it: its first row comes next" "^secret$" "$output"
owner_act "EXECUTE 'DECLARE own CURSOR FOR SELECT 1'; r := 'own'; FETCH r INTO v; EXECUTE 'CLOSE own'"
check "owner code may use and close its own cursors" "t" "SELECT tenancy.migrate('t_state') IS NOT NULL"

# Transaction characteristics are settings, undone with the sandbox's others.
owner_act "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ ONLY; PERFORM set_config('transaction_read_only', 'on', false)"
output=$(psql -X -A -t -d "$TEST_DB" -c "BEGIN" -c "SELECT tenancy.migrate('t_state') IS NOT NULL" \
    -c "SELECT 'after:' || concat_ws('|', current_setting('transaction_read_only'), current_setting('default_transaction_read_only'),
                                      current_setting('default_transaction_isolation'))" -c "COMMIT" 2>&1 || true)
check_output "SET TRANSACTION READ ONLY and SET SESSION CHARACTERISTICS in owner code do not outlive the migration" \
    "^after:off\|off\|read committed$" "$output"
owner_act "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE"
check "SET TRANSACTION ISOLATION LEVEL in owner code fails (25001): the caller's transaction has run queries" "25001" \
    "SELECT '$(sqlstate_of "SELECT tenancy.migrate('t_state')")'"
owner_act "NULL"

# Event triggers: only superusers make them; pg_tenancy's own run only its code.
check "a tenant owner cannot create an event trigger (42501)" "42501" \
    "SELECT '$(psql -X -q -d "$TEST_DB" -U sbx_owner -v VERBOSITY=sqlstate -c "CREATE EVENT TRIGGER grab ON ddl_command_end EXECUTE FUNCTION t_state.act()" 2>&1 | grep -oE '[0-9A-Z]{5}$')'"
check "pg_tenancy's event trigger functions are its own C code with a pinned search_path" \
    "_on_ddl_command_end|c|true|{\"search_path=pg_catalog, pg_temp\"}
_on_sql_drop|c|true|{\"search_path=pg_catalog, pg_temp\"}" \
    "SELECT p.proname || '|' || l.lanname || '|' || p.prosecdef || '|' || p.proconfig::text FROM pg_proc AS p JOIN pg_language AS l ON l.oid = p.prolang
     JOIN pg_event_trigger AS e ON e.evtfoid = p.oid ORDER BY 1"
run_sql "CREATE SCHEMA t_dropped AUTHORIZATION sbx_owner; SELECT tenancy.create_tenant('t_dropped', if_not_exists => true);
         GRANT CREATE ON DATABASE \"$TEST_DB\" TO sbx_owner"
psql -X -q -v ON_ERROR_STOP=1 -d "$TEST_DB" -U sbx_owner -c "
    CREATE TEMP TABLE tenant_registry (tenant text);
    CREATE FUNCTION pg_temp.grab() RETURNS trigger LANGUAGE plpgsql AS \$\$BEGIN ALTER ROLE sbx_owner SUPERUSER; RETURN NULL; END\$\$;
    CREATE TRIGGER grab AFTER DELETE ON pg_temp.tenant_registry FOR EACH ROW EXECUTE FUNCTION pg_temp.grab();
    ALTER SCHEMA t_dropped RENAME TO t_dropped2; DROP SCHEMA t_dropped2 CASCADE;" >/dev/null
run_sql "REVOKE CREATE ON DATABASE \"$TEST_DB\" FROM sbx_owner"
check "a tenant owner renaming and dropping its tenant: pg_tenancy's event triggers keep the registry" "0" \
    "SELECT count(*) FROM tenancy.tenant_registry WHERE tenant LIKE 't_dropped%'"
check "and ran none of the owner's code as the extension's owner" "f" "SELECT rolsuper FROM pg_roles WHERE rolname = 'sbx_owner'"

# --- PostgreSQL 16+: acting as the owner needs SET on its role ---------------
if [ "$(value_of "SHOW server_version_num")" -ge 160000 ]; then
    run_sql "GRANT sbx_owner TO sbx_admin WITH SET FALSE, INHERIT TRUE;
             GRANT EXECUTE ON FUNCTION tenancy.migrate(text, bigint) TO sbx_admin;
             GRANT SELECT ON ALL TABLES IN SCHEMA tenancy TO sbx_admin"
    output=$(psql -X -q -d "$TEST_DB" -U sbx_admin -v VERBOSITY=verbose -c "SELECT tenancy.migrate('t_deferred')" 2>&1 || true)
    check_output "a member without SET on the owner's role may not migrate its tenant (PostgreSQL 16+, 42501)" \
        'ERROR:  42501: permission denied to migrate tenant "t_deferred"' "$output"
fi

finish_checks
