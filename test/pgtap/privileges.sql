-- Only all_tenants(), set_tenant() and the read-only views are PUBLIC's.
BEGIN;
SET LOCAL client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION pg_tenancy;
SELECT plan(14);

SELECT tenancy.create_tenant('shop');
CREATE ROLE tenancy_test_app;

SELECT results_eq(
    $$SELECT p.oid::regprocedure::text
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname = 'tenancy' AND has_function_privilege('tenancy_test_app', p.oid, 'EXECUTE')
      ORDER BY 1$$,
    ARRAY['tenancy._applied_migrations(text)', 'tenancy._checksum(text)',
          'tenancy._library_loaded()', 'tenancy._pool_unusable_reason(oid,oid)',
          'tenancy._shard_applied_versions(text[],text[])', 'tenancy._tenant_nodes()',
          'tenancy._tenant_states(boolean)', 'tenancy._version_states(text)',
          'tenancy.all_tenants()', 'tenancy.migration_status(text)',
          'tenancy.pending_tenants()', 'tenancy.set_tenant(text,boolean)'],
    'PUBLIC may execute only all_tenants(), set_tenant() and the read-only status functions');

SELECT ok(NOT EXISTS (
    SELECT FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname = 'tenancy' AND p.prokind <> 'a'
      AND p.proname NOT IN ('set_tenant', 'migrate_all', 'rollback_all', 'drop_tenant_in_batches',
                            'grant_tenant_access', 'revoke_tenant_access', 'refill_tenant_pool')
      AND NOT EXISTS (SELECT FROM unnest(p.proconfig) c WHERE c LIKE 'search_path=%')),
    'every function but set_tenant and the committing procedures pins its search_path');

SELECT throws_ok($$SELECT tenancy._shard_applied_versions(ARRAY['shop'], ARRAY['schema_migrations_1'])$$,
                 '0A000', NULL, '_shard_applied_versions() runs only on a Citus node');

SET LOCAL ROLE tenancy_test_app;
SELECT results_eq('SELECT * FROM tenancy.all_tenants()', ARRAY['shop'], 'PUBLIC lists the tenants');
SELECT is(tenancy.set_tenant('shop'), '"shop", "public", pg_temp', 'PUBLIC switches to a tenant');
SELECT is((SELECT count(*) FROM tenancy.tenants), 1::bigint, 'PUBLIC reads the tenants view');
SELECT throws_ok($$SELECT tenancy.create_tenant('other')$$, '42501', NULL, 'PUBLIC cannot create tenants');
SELECT throws_ok($$SELECT tenancy.rename_tenant('shop', 'other')$$, '42501', NULL, 'PUBLIC cannot rename tenants');
SELECT throws_ok($$SELECT tenancy.drop_tenant('shop')$$, '42501', NULL, 'PUBLIC cannot drop tenants');
SELECT throws_ok($$INSERT INTO tenancy.tenant_registry (tenant) VALUES ('forged')$$, '42501', NULL,
                 'PUBLIC cannot write the registry');
SELECT throws_ok($$SET tenancy.reserved_names = ''$$, '42501', NULL, 'PUBLIC cannot change the settings');
RESET ROLE;
RESET search_path;

-- A role that owns a tenant schema and drops or renames it by hand keeps the
-- registry true through the (SECURITY DEFINER) event triggers.
SELECT tenancy.create_tenant('owned');
ALTER SCHEMA owned OWNER TO tenancy_test_app;
SELECT tenancy.create_tenant('owned2');
ALTER SCHEMA owned2 OWNER TO tenancy_test_app;
GRANT CREATE ON DATABASE pg_tenancy_tap TO tenancy_test_app;
SET LOCAL ROLE tenancy_test_app;
SELECT lives_ok('ALTER SCHEMA owned RENAME TO owned_renamed', 'an owner renames its tenant schema');
SELECT lives_ok('DROP SCHEMA owned2 CASCADE', 'an owner drops its tenant schema');
RESET ROLE;
SELECT results_eq('SELECT * FROM tenancy.all_tenants()', ARRAY['owned_renamed', 'shop'],
                  'and the registry followed both');

SELECT * FROM finish();
ROLLBACK;
