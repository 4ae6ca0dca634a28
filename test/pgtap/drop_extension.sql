-- DROP EXTENSION leaves every tenant schema and its data in place.
BEGIN;
SET LOCAL client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION pg_tenancy;
SELECT plan(11);

SELECT tenancy.register_migration(1, 'create_notes', 'CREATE TABLE notes (body text)');
SELECT tenancy.create_tenant('keeper');
INSERT INTO keeper.notes VALUES ('kept');
CREATE TABLE organizations (id int PRIMARY KEY);
SELECT tenancy.manage_tenant('organizations', ARRAY['org_', ':id']);
INSERT INTO organizations VALUES (1);
INSERT INTO org_1.notes VALUES ('also kept');

SELECT throws_ok('DROP EXTENSION pg_tenancy', '2BP01', NULL,
                 'a managed table''s triggers depend on the extension');
SELECT lives_ok('DROP EXTENSION pg_tenancy CASCADE', 'CASCADE drops them with it');
SELECT hasnt_table('tenancy', 'tenant_registry', 'the registry is gone');
SELECT has_schema('keeper', 'a tenant schema stays');
SELECT has_table('keeper', 'schema_migrations', 'with its schema_migrations');
SELECT is((SELECT body FROM keeper.notes), 'kept', 'and its data');
SELECT has_schema('org_1', 'a managed table''s tenant stays');
SELECT is((SELECT body FROM org_1.notes), 'also kept', 'with its data');
SELECT has_table('public', 'organizations', 'the managed table stays');
SELECT is((SELECT count(*)::int FROM pg_trigger WHERE tgrelid = 'organizations'::regclass), 0,
          'without the extension''s triggers');
SELECT lives_ok('INSERT INTO organizations VALUES (2)', 'and takes rows as a plain table');

SELECT * FROM finish();
ROLLBACK;
