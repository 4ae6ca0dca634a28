-- NULLs everywhere: every argument that may not be NULL is refused with
-- 22004, naming the argument, and changes nothing.
BEGIN;
SET LOCAL client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION pg_tenancy;
SELECT plan(29);

SELECT tenancy.create_tenant('t1');
CREATE TABLE organizations (id int PRIMARY KEY);

SELECT throws_ok($$SELECT tenancy.create_tenant(NULL)$$, '22004', 'tenant name must not be null', 'create_tenant(NULL)');
SELECT throws_ok($$SELECT tenancy.create_tenant('t2', NULL)$$, '22004', 'if_not_exists must not be null', 'create_tenant(..., if_not_exists => NULL)');
SELECT throws_ok($$SELECT tenancy.rename_tenant(NULL, 't2')$$, '22004', 'tenant must not be null', 'rename_tenant(NULL, ...)');
SELECT throws_ok($$SELECT tenancy.rename_tenant('t1', NULL)$$, '22004', 'tenant name must not be null', 'rename_tenant(..., NULL)');
SELECT throws_ok($$SELECT tenancy.drop_tenant(NULL)$$, '22004', 'tenant must not be null', 'drop_tenant(NULL)');
SELECT throws_ok($$CALL tenancy.drop_tenant_in_batches(NULL)$$, '22004', 'tenant must not be null', 'drop_tenant_in_batches(NULL)');
SELECT throws_ok($$CALL tenancy.drop_tenant_in_batches('t1', NULL)$$, '22004', 'batch_size must not be null', 'drop_tenant_in_batches(..., NULL)');
SELECT throws_ok($$SELECT tenancy.set_tenant(NULL)$$, '22004', 'tenant must not be null', 'set_tenant(NULL)');
SELECT throws_ok($$SELECT tenancy.set_tenant('t1', NULL)$$, '22004', 'is_local must not be null', 'set_tenant(..., is_local => NULL)');
SELECT throws_ok($$SELECT tenancy.register_migration(NULL, 'x', 'SELECT 1')$$, '22004', 'version must not be null', 'register_migration(NULL, ...)');
SELECT throws_ok($$SELECT tenancy.register_migration(1, NULL, 'SELECT 1')$$, '22004', 'name must not be null', 'register_migration(..., name => NULL)');
SELECT throws_ok($$SELECT tenancy.register_migration(1, 'x', NULL)$$, '22004', 'up_sql must not be null', 'register_migration(..., up_sql => NULL)');
SELECT lives_ok($$SELECT tenancy.register_migration(1, 'x', 'SELECT 1', NULL)$$, 'down_sql may be NULL');
SELECT throws_ok($$SELECT tenancy.migrate(NULL)$$, '22004', 'tenant must not be null', 'migrate(NULL)');
SELECT lives_ok($$SELECT tenancy.migrate('t1', NULL)$$, 'migrate''s target_version may be NULL (all)');
SELECT throws_ok($$SELECT tenancy.rollback(NULL, 0)$$, '22004', 'tenant must not be null', 'rollback(NULL, ...)');
SELECT throws_ok($$SELECT tenancy.rollback('t1', NULL)$$, '22004', 'target_version must not be null', 'rollback(..., NULL)');
SELECT throws_ok($$CALL tenancy.migrate_all(NULL, NULL)$$, '22004', 'on_error must not be null', 'migrate_all(on_error => NULL)');
SELECT throws_ok($$CALL tenancy.rollback_all(NULL)$$, '22004', 'target_version must not be null', 'rollback_all(NULL)');
SELECT lives_ok($$SELECT * FROM tenancy.migration_status(NULL)$$, 'migration_status(NULL) lists every tenant');
SELECT throws_ok($$SELECT tenancy.manage_tenant(NULL, ARRAY[':id'])$$, '22004', 'tbl must not be null', 'manage_tenant(NULL, ...)');
SELECT throws_ok($$SELECT tenancy.manage_tenant('organizations', NULL)$$, '22004', 'template must not be null', 'manage_tenant(..., NULL)');
SELECT throws_ok($$SELECT tenancy.manage_tenant('organizations', ARRAY[':id', NULL])$$, '22004', 'template element 2 is null', 'a NULL template element');
SELECT throws_ok($$SELECT tenancy.manage_tenant('organizations', ARRAY[':id'], "create" => NULL)$$, '22004', 'create must not be null', 'manage_tenant("create" => NULL)');
SELECT throws_ok($$SELECT tenancy.manage_tenant('organizations', ARRAY[':id'], "update" => NULL)$$, '22004', 'update must not be null', 'manage_tenant("update" => NULL)');
SELECT throws_ok($$SELECT tenancy.manage_tenant('organizations', ARRAY[':id'], backfill => NULL)$$, '22004', 'backfill must not be null', 'manage_tenant(backfill => NULL)');
SELECT throws_ok($$SELECT tenancy.manage_tenant('organizations', ARRAY[':id'], on_delete => NULL)$$, '22004', 'on_delete must not be null', 'manage_tenant(on_delete => NULL)');
SELECT throws_ok($$SELECT tenancy.unmanage_tenant(NULL)$$, '22004', 'tbl must not be null', 'unmanage_tenant(NULL)');
SELECT results_eq($$SELECT * FROM tenancy.all_tenants()$$, ARRAY['t1'], 'nothing was created or dropped');

SELECT * FROM finish();
ROLLBACK;
