-- Tenant migrations: run semantics, Ecto compatibility, checksums, rollback.
BEGIN;
SET LOCAL client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION pg_tenancy;
SELECT plan(59);

-- The fields of the error sql raises: {sqlstate, message, context}.
CREATE FUNCTION pg_temp.error_of(sql text) RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE state text; message text; context text;
BEGIN
    EXECUTE sql;
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT, context = PG_EXCEPTION_CONTEXT;
    RETURN ARRAY[state, message, context];
END $$;

CREATE TABLE public.users (id int PRIMARY KEY);
CREATE TABLE public.plans (id int PRIMARY KEY);

SELECT tenancy.register_migration(1, 'create_accounts',
    $$CREATE TABLE accounts (id int PRIMARY KEY, owner_id int REFERENCES users (id));
      CREATE TABLE seen_path AS SELECT current_setting('search_path') AS search_path$$,
    'DROP TABLE accounts; DROP TABLE seen_path');
SELECT tenancy.register_migration(2, 'create_invoices',
    $$CREATE TABLE invoices (id int PRIMARY KEY, account_id int REFERENCES accounts (id),
                             plan_id int REFERENCES plans (id));
      CREATE TABLE @tenant@.qualified (id int);
      CREATE TABLE "@tenant@x" (id int)$$,
    'DROP TABLE invoices; DROP TABLE qualified; DROP TABLE "@tenant@x"');

-- Run semantics.
SELECT is(tenancy.create_tenant('t1'), 't1', 'create_tenant applies the registered migrations');
SELECT is((SELECT search_path FROM t1.seen_path), '"t1", "public", pg_temp',
          'search_path is "<tenant>", public, pg_temp (pg_temp last) while a migration runs');
SELECT fk_ok('t1', 'invoices', 'account_id', 't1', 'accounts', 'id',
             'a foreign key to a tenant table points into the same tenant');
SELECT fk_ok('t1', 'accounts', 'owner_id', 'public', 'users', 'id',
             'a foreign key to a shared table points at public');
SELECT fk_ok('t1', 'invoices', 'plan_id', 'public', 'plans', 'id',
             'and so does a second one');
SELECT has_table('t1', 'qualified', '@tenant@ is replaced by the quoted tenant');
SELECT has_table('t1', '@tenant@x', '@tenant@ inside a longer identifier is left alone');
SELECT results_eq($$SELECT version FROM t1.schema_migrations ORDER BY 1$$, ARRAY[1::bigint, 2],
                  'applied versions are rows of schema_migrations');
SELECT ok((SELECT bool_and(inserted_at IS NOT NULL) FROM t1.schema_migrations),
          'with their inserted_at');

-- SET / RESET do not leak, on success or failure.
SET work_mem = '4MB';
SET check_function_bodies = on;
SELECT tenancy.register_migration(3, 'settings',
    $$SET work_mem = '64MB'; SET check_function_bodies = off; SET LOCAL lock_timeout = '1s';
      RESET search_path$$);
SELECT is(tenancy.migrate('t1'), 1, 'a migration that changes settings runs');
SELECT is(current_setting('work_mem'), '4MB', 'SET in a migration does not outlive it');
SELECT is(current_setting('check_function_bodies'), 'on', 'nor does a SET of check_function_bodies');
SELECT is(current_setting('lock_timeout'), '0', 'nor SET LOCAL');
SELECT is(current_setting('search_path'), '"$user", public', 'nor RESET search_path');
SELECT tenancy.register_migration(4, 'settings_then_failure',
    $$SET work_mem = '99MB'; SET search_path = pg_catalog; SELECT 1/0$$);
SELECT is((pg_temp.error_of($$SELECT tenancy.migrate('t1')$$))[1], '22012',
          'a failing migration raises its own SQLSTATE');
SELECT is(current_setting('work_mem'), '4MB', 'settings are restored after a failure too');
SELECT is(current_setting('search_path'), '"$user", public', 'search_path included');

-- Errors: SQLSTATE kept, CONTEXT names the tenant, version and name; the
-- tenant stays as it was.
SELECT tenancy.register_migration(4, 'half_done',
    $$CREATE TABLE half (id int); INSERT INTO half VALUES (1); INSERT INTO missing VALUES (1)$$);
SELECT is((pg_temp.error_of($$SELECT tenancy.migrate('t1')$$))[1:2],
          ARRAY['42P01', 'relation "missing" does not exist'], 'the original SQLSTATE and message');
SELECT matches((pg_temp.error_of($$SELECT tenancy.migrate('t1')$$))[3],
               'up of migration 4 "half_done" in tenant "t1"', 'CONTEXT names tenant, version and name');
SELECT hasnt_table('t1', 'half', 'the failing migration left nothing behind');
SELECT is((SELECT max(version) FROM t1.schema_migrations), 3::bigint, 'and no version row');
SELECT tenancy.register_migration(4, 'half_done', 'CREATE TABLE half (id int)');
SELECT is(tenancy.migrate('t1'), 1, 'a never-applied version can be registered again, fixed');

-- Statements no migration may hold: refused at registration, nothing registered.
SELECT throws_ok($$SELECT tenancy.register_migration(5, 'x', 'BEGIN; CREATE TABLE a (id int)')$$,
                 '2D000', 'up_sql of a migration may not contain BEGIN', 'BEGIN is refused');
SELECT throws_ok($$SELECT tenancy.register_migration(5, 'x', 'CREATE TABLE a (id int); COMMIT')$$,
                 '2D000', NULL, 'COMMIT is refused');
SELECT throws_ok($$SELECT tenancy.register_migration(5, 'x', 'SAVEPOINT s')$$, '2D000', NULL,
                 'SAVEPOINT is refused');
SELECT throws_ok($$SELECT tenancy.register_migration(5, 'x', 'ROLLBACK')$$, '2D000', NULL,
                 'ROLLBACK is refused');
SELECT throws_ok($$SELECT tenancy.register_migration(5, 'x', 'SELECT 1', 'COMMIT')$$, '2D000', NULL,
                 'transaction control in down_sql is refused');
SELECT throws_ok($$SELECT tenancy.register_migration(5, 'x', 'CREATE INDEX CONCURRENTLY i ON accounts (id)')$$,
                 '25001', 'up_sql of a migration may not contain CREATE INDEX CONCURRENTLY',
                 'CREATE INDEX CONCURRENTLY is refused');
SELECT throws_ok($$SELECT tenancy.register_migration(5, 'x', 'VACUUM accounts')$$, '25001', NULL,
                 'VACUUM is refused');
SELECT ok(NOT EXISTS (SELECT FROM tenancy.migration_registry WHERE version = 5), 'nothing was registered');
-- Slipped into the registry behind the extension's back, it is refused at run time.
INSERT INTO tenancy.migration_registry (version, name, up_sql, checksum)
VALUES (5, 'sneaky', 'CREATE TABLE sneaky (id int); COMMIT', tenancy._checksum('x'));
SELECT is((pg_temp.error_of($$SELECT tenancy.migrate('t1')$$))[1:2],
          ARRAY['2D000', 'up_sql of a migration may not contain COMMIT'],
          'a migration holding COMMIT is refused when it runs');
SELECT matches((pg_temp.error_of($$SELECT tenancy.migrate('t1')$$))[3],
               '^up of migration 5 "sneaky" in tenant "t1"', 'naming the migration and the tenant');
SELECT hasnt_table('t1', 'sneaky', 'and nothing of it was applied');
DELETE FROM tenancy.migration_registry WHERE version = 5;

-- Checksums and drift.
CREATE TEMP TABLE before AS SELECT registered_at, checksum FROM tenancy.migration_registry WHERE version = 1;
SELECT lives_ok($$SELECT tenancy.register_migration(1, 'create_accounts',
    $m$CREATE TABLE accounts (id int PRIMARY KEY, owner_id int REFERENCES users (id));
      CREATE TABLE seen_path AS SELECT current_setting('search_path') AS search_path$m$,
    'DROP TABLE accounts; DROP TABLE seen_path')$$, 'registering identical text again works');
SELECT is((SELECT registered_at FROM tenancy.migration_registry WHERE version = 1),
          (SELECT registered_at FROM before), 'and changes nothing');
SELECT is((SELECT checksum FROM before), encode(sha256(convert_to(
    $m$CREATE TABLE accounts (id int PRIMARY KEY, owner_id int REFERENCES users (id));
      CREATE TABLE seen_path AS SELECT current_setting('search_path') AS search_path$m$, 'UTF8')), 'hex'),
    'the checksum is the SHA-256 of up_sql as registered');
SELECT throws_ok($$SELECT tenancy.register_migration(1, 'create_accounts', 'CREATE TABLE accounts (id bigint)')$$,
                 '55000', NULL, 'different text for an applied version is refused');
SELECT is((SELECT checksum FROM tenancy.migration_registry WHERE version = 1), (SELECT checksum FROM before),
          'and nothing changed');
UPDATE tenancy.migration_registry SET up_sql = up_sql || ' -- edited' WHERE version = 2;
INSERT INTO t1.schema_migrations VALUES (77, now());
SELECT results_eq($$SELECT version, state FROM tenancy.migration_status('t1') ORDER BY version$$,
    $$VALUES (1::bigint, 'applied'), (2, 'changed'), (3, 'applied'), (4, 'applied'), (77, 'unregistered')$$,
    'migration_status reports changed and unregistered versions');

-- Ecto compatibility: a schema Ecto migrated gets only the versions it lacks.
CREATE SCHEMA ecto_app;
CREATE TABLE ecto_app.schema_migrations (version bigint PRIMARY KEY, inserted_at timestamp(0) without time zone);
INSERT INTO ecto_app.schema_migrations VALUES (1, '2024-01-01 00:00:00');
CREATE TABLE ecto_app.accounts (id int PRIMARY KEY, owner_id int);
SELECT is(tenancy.create_tenant('ecto_app', if_not_exists => true), 'ecto_app', 'an Ecto-migrated schema is adopted');
SELECT results_eq($$SELECT version FROM ecto_app.schema_migrations ORDER BY 1$$, ARRAY[1::bigint, 2, 3, 4],
                  'it gets only the versions it lacked');
SELECT is((SELECT inserted_at FROM ecto_app.schema_migrations WHERE version = 1), '2024-01-01 00:00:00'::timestamp,
          'Ecto''s own rows are untouched');
SELECT has_table('ecto_app', 'invoices', 'the missing migrations ran');

-- rollback
DELETE FROM t1.schema_migrations WHERE version = 77;
SELECT throws_ok($$SELECT tenancy.rollback('t1', 2)$$, '55000',
                 'cannot roll back migration 4: it has no down_sql in tenant "t1"',
                 'a rollback through a migration without down_sql is refused');
SELECT results_eq($$SELECT version FROM t1.schema_migrations ORDER BY 1$$, ARRAY[1::bigint, 2, 3, 4],
                  'and rolls nothing back');
INSERT INTO t1.schema_migrations VALUES (77, now());
SELECT throws_ok($$SELECT tenancy.rollback('t1', 4)$$, '55000',
                 'cannot roll back migration 77: it is not registered in tenant "t1"',
                 'rolling back an unregistered version is refused');
DELETE FROM t1.schema_migrations WHERE version = 77;
SELECT tenancy.create_tenant('t3');
DELETE FROM t3.schema_migrations WHERE version IN (3, 4);
SELECT is(tenancy.rollback('t3', 1), 1, 'rollback runs the down_sql of the versions above the target');
SELECT hasnt_table('t3', 'invoices', 'so version 2''s tables are gone');
SELECT has_table('t3', 'accounts', 'and version 1''s stay');
SELECT is(tenancy.rollback('t3', 0), 1, 'down to 0 undoes the rest');
SELECT is((SELECT count(*)::int FROM t3.schema_migrations), 0, 'leaving no version');
SELECT is(tenancy.rollback('t3', 0), 0, 'rolling back again finds nothing to do');
SELECT tenancy.drop_tenant('t3');

-- migrate_all inside a transaction block runs in the caller's transaction.
SELECT tenancy.create_tenant('t2');
SELECT tenancy.register_migration(6, 'fails_in_t2',
    $$DO $b$ BEGIN IF current_schema() = 't2' THEN RAISE EXCEPTION 't2 refuses' USING ERRCODE = 'P0042'; END IF; END $b$;
      CREATE TABLE six (id int)$$);
SELECT throws_ok($$CALL tenancy.migrate_all()$$, 'P0042', 't2 refuses', 'on_error stop raises the failing tenant''s error');
CALL tenancy.migrate_all(on_error => 'continue');
SELECT results_eq($$SELECT tenant, version, pending FROM tenancy.tenants ORDER BY tenant$$,
    $$VALUES ('ecto_app'::text, 6::bigint, 0), ('t1', 6, 0), ('t2', 4, 1)$$,
    'on_error continue migrates the others and skips the failing tenant');
SELECT is((SELECT last_error FROM tenancy.tenants WHERE tenant = 't2'), 'P0042: t2 refuses',
          'last_error keeps the failing tenant''s error');
SELECT is((SELECT count(*)::int FROM tenancy.tenants WHERE last_error IS NOT NULL), 1, 'and only its');

-- A schema_migrations that is not a plain table is refused, never scanned.
SELECT tenancy.create_tenant('odd');
DROP TABLE odd.schema_migrations;
CREATE VIEW odd.schema_migrations AS SELECT 1::bigint AS version, now()::timestamp AS inserted_at;
SELECT throws_ok($$SELECT * FROM tenancy._applied_migrations('odd')$$, '55000', NULL,
                 'a view named schema_migrations is refused, not scanned');
SELECT throws_ok($$SELECT tenancy.migrate('odd')$$, '55000', NULL, 'and migrate() refuses it too');
SELECT throws_ok($$SELECT * FROM tenancy._applied_migrations('public')$$, '3F000', NULL,
                 '_applied_migrations reads registered tenants only');

SELECT * FROM finish();
ROLLBACK;
