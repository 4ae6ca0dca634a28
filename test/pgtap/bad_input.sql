-- The bad-input catalogue of the README, by SQLSTATE: the inputs whose
-- exact messages pg_regress shows are checked here for their codes too, and
-- a few more. Each leaves nothing behind.
BEGIN;
SET LOCAL client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION pg_tenancy;
SELECT plan(52);

CREATE TABLE organizations (id int PRIMARY KEY, slug text);
CREATE VIEW organization_ids AS SELECT id FROM organizations;
SELECT tenancy.create_tenant('t1');
SELECT tenancy.create_tenant('t2');
SELECT tenancy.register_migration(1, 'one', 'CREATE TABLE one (id int)');
SELECT tenancy.migrate('t1');

-- Migrations.
SELECT throws_ok($$SELECT tenancy.register_migration(0, 'x', 'SELECT 1')$$, '22023', NULL, 'version 0');
SELECT throws_ok($$SELECT tenancy.register_migration(-5, 'x', 'SELECT 1')$$, '22023', NULL, 'a negative version');
SELECT throws_ok($$SELECT tenancy.register_migration(2, '', 'SELECT 1')$$, '22023', NULL, 'an empty name');
SELECT throws_ok($$SELECT tenancy.register_migration(2, 'x', '-- only a comment')$$, '22023', NULL, 'an empty up_sql');
SELECT throws_ok($$SELECT tenancy.register_migration(2, 'x', '   ')$$, '22023', NULL, 'a blank up_sql');
SELECT throws_ok($$SELECT tenancy.register_migration(2, 'x', 'CREATE TABEL t (id int)')$$, '42601', NULL, 'a syntax error');
SELECT throws_ok($$SELECT tenancy.register_migration(1, 'one', 'CREATE TABLE one (id bigint)')$$, '55000', NULL,
                 'different up_sql for an applied version');
SELECT throws_ok($$SELECT tenancy.register_migration(2, 'x', 'SELECT 1', 'BEGIN')$$, '2D000', NULL, 'BEGIN in down_sql');
SELECT throws_ok($$SELECT tenancy.register_migration(2, 'x', 'SELECT 1', 'ROLLBACK')$$, '2D000', NULL, 'ROLLBACK in down_sql');
SELECT throws_ok($$SELECT tenancy.register_migration(2, 'x', 'SELECT 1', 'SAVEPOINT s')$$, '2D000', NULL, 'SAVEPOINT in down_sql');
SELECT throws_ok($$SELECT tenancy.register_migration(2, 'x', 'DROP INDEX CONCURRENTLY i')$$, '25001', NULL, 'DROP INDEX CONCURRENTLY');
SELECT throws_ok($$SELECT tenancy.register_migration(2, 'x', 'CREATE TABLE t (a int); COPY t FROM STDIN')$$, '0A000',
                 'up_sql of a migration may not contain COPY FROM STDIN', 'COPY FROM STDIN is refused at registration');
SELECT throws_ok($$SELECT tenancy.register_migration(2, 'x', 'SELECT 1', 'COPY (SELECT 1) TO STDOUT')$$, '0A000',
                 'down_sql of a migration may not contain COPY TO STDOUT', 'COPY TO STDOUT is refused at registration');
SELECT throws_ok($$SELECT tenancy.register_migration(2, 'x', 'LISTEN channel')$$, '42501',
                 'cannot execute LISTEN in a migration', 'LISTEN is refused at registration');
SELECT throws_ok($$SELECT tenancy.register_migration(2, 'x', 'PREPARE p AS SELECT 1')$$, '42501',
                 'cannot execute PREPARE in a migration', 'PREPARE is refused at registration');
SELECT is((SELECT count(*) FROM tenancy.migration_registry WHERE version = 2), 0::bigint,
          'and nothing is registered');
-- A COPY slipped into the registry by hand is refused when it runs, before anything runs.
SELECT tenancy.create_tenant('copy_target');
INSERT INTO tenancy.migration_registry (version, name, up_sql, checksum)
    VALUES (3, 'copy', 'COPY t FROM STDIN', tenancy._checksum('COPY t FROM STDIN'));
SELECT throws_ok($$SELECT tenancy.migrate('copy_target')$$, '0A000',
                 'up_sql of a migration may not contain COPY FROM STDIN', 'COPY FROM STDIN is refused when it runs');
DELETE FROM tenancy.migration_registry WHERE version = 3;
SELECT tenancy.drop_tenant('copy_target');
SELECT throws_ok($$SELECT tenancy.register_migration(2, 'x', 'CREATE DATABASE x')$$, '25001', NULL, 'CREATE DATABASE');
SELECT throws_ok($$CALL tenancy.migrate_all(on_error => 'ignore')$$, '22023', NULL, 'on_error ''ignore''');
SELECT throws_ok($$CALL tenancy.rollback_all(0, on_error => 'maybe')$$, '22023', NULL, 'on_error ''maybe'' for rollback_all');
SELECT ok(NOT EXISTS (SELECT FROM tenancy.migration_registry WHERE version <> 1), 'no bad migration was registered');

-- Unknown tenants, public among them.
SELECT throws_ok($$SELECT tenancy.set_tenant('public')$$, '3F000', NULL, 'set_tenant(''public'')');
SELECT throws_ok($$SELECT tenancy.migrate('public')$$, '3F000', NULL, 'migrate(''public'')');
SELECT throws_ok($$SELECT tenancy.rollback('public', 0)$$, '3F000', NULL, 'rollback(''public'')');
SELECT throws_ok($$SELECT * FROM tenancy.migration_status('public')$$, '3F000', NULL, 'migration_status(''public'')');
SELECT throws_ok($$CALL tenancy.drop_tenant_in_batches('public')$$, '3F000', NULL, 'drop_tenant_in_batches(''public'')');
SELECT throws_ok($$SELECT tenancy.rename_tenant('nobody', 'somebody')$$, '3F000', NULL, 'rename_tenant of an unknown tenant');
SELECT throws_ok($$CALL tenancy.drop_tenant_in_batches('t1', 0)$$, '22023', NULL, 'batch_size 0');
SELECT throws_ok($$CALL tenancy.drop_tenant_in_batches('t1', -1)$$, '22023', NULL, 'a negative batch_size');

-- Names through rename_tenant, with the settings.
SET LOCAL tenancy.tenant_name_pattern = '^t[0-9]+$';
SELECT throws_ok($$SELECT tenancy.rename_tenant('t1', 'x1')$$, '42602', NULL, 'a name outside a narrowed pattern, through rename');
RESET tenancy.tenant_name_pattern;
SET LOCAL tenancy.reserved_names = 'admin';
SELECT throws_ok($$SELECT tenancy.rename_tenant('t1', 'admin')$$, '42939', NULL, 'a reserved name, through rename');
RESET tenancy.reserved_names;
SELECT throws_ok($$SELECT tenancy.rename_tenant('t1', 't1')$$, '42P06', NULL, 'renaming a tenant onto its own name');
SELECT throws_ok($$SELECT tenancy.rename_tenant('t1', 't2')$$, '42P06', NULL, 'renaming onto another tenant');

-- Templates.
SELECT throws_ok($$SELECT tenancy.manage_tenant('organizations', ARRAY[]::text[])$$, '22023', NULL, 'an empty template');
SELECT throws_ok($$SELECT tenancy.manage_tenant('organizations', ARRAY['org_', ':'])$$, '22023', NULL, 'an element of just '':''');
SELECT throws_ok($$SELECT tenancy.manage_tenant('organizations', ARRAY['org_'])$$, '22023', NULL, 'a template without a column');
SELECT throws_ok($$SELECT tenancy.manage_tenant('organizations', ARRAY['org_', ':ctid'])$$, '22023', NULL, 'a system column');
SELECT throws_ok($$SELECT tenancy.manage_tenant('organizations', ARRAY['org_', ':nope'])$$, '42703', NULL, 'an unknown column');
SELECT throws_ok($$SELECT tenancy.manage_tenant('organizations', ARRAY['org_', ':ID'])$$, '42703', NULL,
                 'column names are case-sensitive: '':ID'' is not id');
SELECT throws_ok($$SELECT tenancy.manage_tenant('organization_ids', ARRAY['v_', ':id'])$$, '42809', NULL, 'a view');
SELECT throws_ok($$SELECT tenancy.manage_tenant('organizations', ARRAY[':slug'], on_delete => 'sometimes')$$, '22023', NULL,
                 'on_delete ''sometimes''');
SELECT throws_ok($$SELECT tenancy.manage_tenant('organizations', ARRAY[[':slug'], [':id']])$$, '2202E', NULL,
                 'a two-dimensional template');
SELECT throws_ok($$SELECT tenancy.unmanage_tenant('organizations')$$, '55000', NULL, 'unmanaging a table that is not managed');
CREATE TEMP TABLE temporary_organizations (id int);
SELECT throws_ok($$SELECT tenancy.manage_tenant('temporary_organizations', ARRAY['tmp_', ':id'])$$, '0A000', NULL,
                 'a temporary table');
SELECT ok(NOT EXISTS (SELECT FROM tenancy.managed_tables), 'no bad template was stored');
SELECT is((SELECT count(*)::int FROM pg_trigger WHERE tgrelid = 'organizations'::regclass), 0, 'and no trigger created');

-- Managed rows.
SELECT tenancy.manage_tenant('organizations', ARRAY[':slug']);
SELECT throws_ok($$INSERT INTO organizations VALUES (1, 't1')$$, '42P06', NULL, 'a row rendering a taken name');
INSERT INTO organizations VALUES (2, 'a'), (3, 'b');
SELECT throws_ok($$UPDATE organizations SET slug = CASE slug WHEN 'a' THEN 'b' ELSE 'a' END$$, '42P06', NULL,
                 'an UPDATE swapping two rows'' names');
SELECT throws_ok($$ALTER TABLE organizations DROP COLUMN slug$$, '2BP01', NULL, 'dropping a template column');
SELECT results_eq($$SELECT * FROM tenancy.all_tenants()$$, ARRAY['a', 'b', 't1', 't2'],
                  'the failed statements changed no tenant');

-- Settings as a non-superuser.
CREATE ROLE tenancy_test_nobody;
SET LOCAL ROLE tenancy_test_nobody;
SELECT throws_ok($$SET tenancy.tenant_name_pattern = '.*'$$, '42501', NULL, 'tenancy.tenant_name_pattern');
SELECT throws_ok($$SET tenancy.tenant_migrations_path = '/tmp'$$, '42501', NULL, 'tenancy.tenant_migrations_path');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
