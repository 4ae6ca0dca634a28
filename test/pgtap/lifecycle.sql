-- The tenant lifecycle's behaviour: adoption, renames, drops, names kept
-- exactly as given, and the event triggers for DDL typed by hand.
BEGIN;
SET LOCAL client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION pg_tenancy;
SELECT plan(31);

-- Names are kept exactly as given: never case-folded.
SELECT is(tenancy.create_tenant('Acme-Corp'), 'Acme-Corp', 'create_tenant returns the name');
SELECT has_schema('Acme-Corp', 'a mixed-case name with "-" becomes that exact schema');
SELECT hasnt_schema('acme-corp', 'and not a case-folded one');
SELECT has_table('Acme-Corp', 'schema_migrations', 'each tenant gets schema_migrations');
SELECT col_is_pk('Acme-Corp', 'schema_migrations', 'version', 'version is its primary key');
SELECT col_type_is('Acme-Corp', 'schema_migrations', 'inserted_at', 'timestamp(0) without time zone',
                   'inserted_at is Ecto''s timestamp(0)');
SELECT throws_ok($$SELECT tenancy.create_tenant('Acme-Corp')$$, '42P06', NULL,
                 'creating an existing tenant again is 42P06');

-- Adoption.
CREATE SCHEMA legacy;
CREATE TABLE legacy.accounts (id int);
INSERT INTO legacy.accounts VALUES (1), (2), (3);
SELECT throws_ok($$SELECT tenancy.create_tenant('legacy')$$, '42P06', NULL,
                 'an existing schema is not adopted without if_not_exists');
SELECT hasnt_table('legacy', 'schema_migrations', 'and is left untouched');
SELECT is(tenancy.create_tenant('legacy', if_not_exists => true), 'legacy', 'if_not_exists adopts it');
SELECT has_table('legacy', 'schema_migrations', 'the adopted schema gets schema_migrations');
SELECT is((SELECT count(*) FROM legacy.accounts), 3::bigint, 'its data stays');
SELECT lives_ok($$SELECT tenancy.create_tenant('legacy', if_not_exists => true)$$,
                'adopting a registered tenant again is a no-op');
SELECT throws_ok($$SELECT tenancy.create_tenant('legacy', if_not_exists => NULL)$$, '22004', NULL,
                 'a NULL if_not_exists is refused');

-- Renames.
SELECT tenancy.create_tenant('beta');
SELECT throws_ok($$SELECT tenancy.rename_tenant('beta', 'legacy')$$, '42P06', NULL,
                 'renaming onto a taken name is 42P06');
SELECT has_schema('beta', 'the tenant keeps its name after a refused rename');
SELECT throws_ok($$SELECT tenancy.rename_tenant('nobody', 'somebody')$$, '3F000', NULL,
                 'renaming an unknown tenant is 3F000');
SELECT throws_ok($$SELECT tenancy.rename_tenant('public', 'elsewhere')$$, '3F000', NULL,
                 'public is not a tenant to rename');
SELECT is(tenancy.rename_tenant('beta', 'Beta-2'), 'Beta-2', 'rename_tenant returns the new name');
SELECT results_eq('SELECT * FROM tenancy.all_tenants()',
                  ARRAY['Acme-Corp', 'Beta-2', 'legacy'], 'the registry follows the rename');

-- Drops.
CREATE TABLE "Beta-2".orders (id int PRIMARY KEY);
INSERT INTO "Beta-2".orders VALUES (1), (2);
SELECT lives_ok($$SELECT tenancy.drop_tenant('Beta-2')$$, 'a tenant holding tables and data is dropped');
SELECT hasnt_schema('Beta-2', 'its schema is gone');
SELECT throws_ok($$SELECT tenancy.drop_tenant('Beta-2')$$, '3F000', NULL, 'dropping it again is 3F000');
SELECT throws_ok($$SELECT tenancy.drop_tenant('public')$$, '3F000', NULL, 'public is not a tenant to drop');
SELECT has_schema('public', 'public is still there');

-- DDL typed by hand.
ALTER SCHEMA "Acme-Corp" RENAME TO "acme-renamed";
SELECT results_eq('SELECT * FROM tenancy.all_tenants()', ARRAY['acme-renamed', 'legacy'],
                  'ALTER SCHEMA ... RENAME of a tenant renames it in the registry');
DROP SCHEMA legacy CASCADE;
SELECT results_eq('SELECT * FROM tenancy.all_tenants()', ARRAY['acme-renamed'],
                  'DROP SCHEMA of a tenant removes it from the registry');
CREATE SCHEMA not_a_tenant;
ALTER SCHEMA not_a_tenant RENAME TO still_not_a_tenant;
DROP SCHEMA still_not_a_tenant;
SELECT results_eq('SELECT * FROM tenancy.all_tenants()', ARRAY['acme-renamed'],
                  'other schemas do not reach the registry');

-- set_tenant
SELECT is(tenancy.set_tenant('acme-renamed'), '"acme-renamed", "public", pg_temp', 'set_tenant returns the search_path');
SELECT throws_ok($$SELECT tenancy.set_tenant('nobody')$$, '3F000', NULL, 'set_tenant of an unknown tenant is 3F000');
SELECT is(current_setting('search_path'), '"acme-renamed", "public", pg_temp', 'and leaves search_path unchanged');

SELECT * FROM finish();
ROLLBACK;
